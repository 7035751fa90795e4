// gmwidgets' JupyterLab extension: the Runs panel (left sidebar), a status bar item while a run trains, and commands.
// Everything it shows comes from the server side (gmwidgets.runsapi), polled at most once a second.
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { LabIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';
import { control, progress } from './api';
import { RunChart } from './chart';
import { RunsModel } from './model';
import { RunsPanel } from './panel';

const ICON = new LabIcon({
  name: 'gmwidgets:runs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><polyline class="jp-icon3" fill="none" ' +
    'stroke="#616161" stroke-width="2" points="2,20 7,12 11,15 16,6 22,9"/></svg>'
});

const CMD = { open: 'gmwidgets:open-runs', stopAll: 'gmwidgets:stop-all', chart: 'gmwidgets:open-chart' };

/** The status bar item: the first training run's progress ("+ n" more), hidden while nothing trains. */
class RunsStatus extends Widget {
  constructor(model: RunsModel, onClick: () => void) {
    super();
    this.addClass('gmw-status');
    this.node.title = 'Training runs: click to open the Runs panel';
    this.node.onclick = onClick;
    model.changed.connect(() => {
      const [first, ...rest] = model.training;
      this.node.textContent = first
        ? [first.name, progress(first)].filter(s => s).join(' · ') + (rest.length ? ` (+${rest.length} more)` : '')
        : '';
      this.node.style.display = first ? '' : 'none';
    });
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'gmwidgets:runs',
  description: 'Every training run of the server in one panel, progress in the status bar, and commands.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, IStatusBar],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    statusBar: IStatusBar | null
  ) => {
    const model = new RunsModel();
    const charts = new Map<string, MainAreaWidget<RunChart>>();
    const openChart = (id: string) => void app.commands.execute(CMD.chart, { id });
    const panel = new RunsPanel(model, openChart);
    panel.title.icon = ICON;
    app.shell.add(panel, 'left', { rank: 900 });
    restorer?.add(panel, 'gmwidgets-runs');

    app.commands.addCommand(CMD.open, {
      label: 'Open the Runs panel',
      execute: () => app.shell.activateById(panel.id)
    });
    app.commands.addCommand(CMD.stopAll, {
      label: 'Stop all runs',
      execute: () => control('*', 'stop')
    });
    app.commands.addCommand(CMD.chart, {
      label: "Open a run's chart",
      execute: args => {
        const id = (args.id as string) || (model.training[0] || model.runs[0])?.id;
        if (!id) return;
        let tab = charts.get(id);
        if (!tab || tab.isDisposed) {
          tab = new MainAreaWidget({ content: new RunChart(id, model.find(id)?.name || id) });
          tab.title.label = tab.content.title.label;
          tab.title.icon = ICON;
          charts.set(id, tab);
          app.shell.add(tab, 'main');
          // Notebook 7's notebook page keeps its one main-area widget: there the chart opens in the right area
          if (!tab.isAttached) app.shell.add(tab, 'right', { rank: 900 });
        }
        app.shell.activateById(tab.id);
      }
    });
    for (const command of Object.values(CMD)) palette?.addItem({ command, category: 'gmwidgets' });

    statusBar?.registerStatusItem('gmwidgets:runs-status', {
      item: new RunsStatus(model, () => app.shell.activateById(panel.id)),
      align: 'left',
      rank: 1000
    });
  }
};

export default plugin;
