// The Runs panel: one row per run, updated in place (a row keeps its buttons between polls). User text goes in
// with textContent only.
import { Widget } from '@lumino/widgets';
import { IRun, control, polyline, progress } from './api';
import { RunsModel } from './model';

const SVG = 'http://www.w3.org/2000/svg';

type Tag = keyof HTMLElementTagNameMap;

function el<K extends Tag>(tag: K, cls: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  parent?.appendChild(e);
  return e;
}

class RunRow {
  readonly node = el('div', 'gmw-run');
  private name = el('span', 'gmw-run-name');
  private state = el('span', 'gmw-run-state');
  private source = el('div', 'gmw-run-source');
  private progress = el('div', 'gmw-run-progress');
  private error = el('div', 'gmw-run-error');
  private spark = document.createElementNS(SVG, 'svg');
  private line = document.createElementNS(SVG, 'polyline');
  private pause = el('button', 'gmw-run-pause jp-mod-styled');
  private stop = el('button', 'gmw-run-stop jp-mod-styled');
  private chart = el('button', 'gmw-run-chart jp-mod-styled');
  run!: IRun;

  constructor(openChart: (id: string) => void) {
    const head = el('div', 'gmw-run-head', this.node);
    head.append(this.name, this.state);
    this.node.append(this.source, this.progress, this.error);
    this.spark.setAttribute('class', 'gmw-spark');
    this.spark.setAttribute('viewBox', '0 0 200 30');
    this.spark.setAttribute('preserveAspectRatio', 'none');
    this.spark.appendChild(this.line);
    this.node.appendChild(this.spark);
    const buttons = el('div', 'gmw-run-buttons', this.node);
    buttons.append(this.pause, this.stop, this.chart);
    this.stop.textContent = 'Stop';
    this.chart.textContent = 'Chart';
    this.stop.onclick = () => void this.ask('stop');
    this.pause.onclick = () => void this.ask(this.run.state === 'paused' ? 'resume' : 'pause');
    this.chart.onclick = () => openChart(this.run.id);
  }

  private async ask(action: 'stop' | 'pause' | 'resume') {
    try {
      await control(this.run.id, action);
    } catch (e) {
      this.error.textContent = `${action}: ${(e as Error).message}`;
    }
  }

  update(run: IRun) {
    this.run = run;
    this.node.dataset.id = run.id;
    this.node.dataset.state = run.state;
    this.name.textContent = run.name;
    this.state.textContent = run.state;
    this.state.className = `gmw-run-state gmw-state-${run.state}`;
    this.source.textContent = run.kind === 'kernel' ? run.notebook || '(kernel)' : run.file || '';
    this.progress.textContent = progress(run);
    this.error.textContent = run.error || '';
    this.line.setAttribute('points', polyline(run.spark || [], 200, 30));
    const live = run.kind === 'kernel' && (run.state === 'running' || run.state === 'paused');
    this.stop.style.display = this.pause.style.display = live ? '' : 'none';
    this.pause.textContent = run.state === 'paused' ? 'Resume' : 'Pause';
    this.chart.style.display = run.state === 'error' ? 'none' : '';
  }
}

export class RunsPanel extends Widget {
  private list = el('div', 'gmw-runs-list');
  private note = el('div', 'gmw-runs-note');
  private rows = new Map<string, RunRow>();

  constructor(private model: RunsModel, private openChart: (id: string) => void) {
    super();
    this.id = 'gmwidgets-runs';
    this.addClass('gmw-runs');
    this.title.caption = 'Runs (gmwidgets)';
    const head = el('div', 'gmw-runs-head', this.node);
    head.textContent = 'Runs';
    this.node.append(this.note, this.list);
    model.changed.connect(this.render, this);
    this.render();
  }

  private render() {
    const seen = new Set<string>();
    this.model.runs.forEach((run, i) => {
      seen.add(run.id);
      let row = this.rows.get(run.id);
      if (!row) {
        row = new RunRow(this.openChart);
        this.rows.set(run.id, row);
      }
      row.update(run);
      const here = this.list.children[i];
      // the server's order, moving only what moved
      if (here !== row.node) this.list.insertBefore(row.node, here || null);
    });
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) {
        row.node.remove();
        this.rows.delete(id);
      }
    }
    this.note.textContent = this.model.error || (this.model.runs.length ? '' : 'No runs yet.');
  }
}
