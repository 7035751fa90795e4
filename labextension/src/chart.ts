// A run's live chart in a main-area tab: the LiveChart widget's own view. The page loads the view from the server's
// static path (gmwidgets.serverext: `livechart.js`, with the Vega loader `vegaload.js` as the widget's ESM has it,
// and the bundled Vega: no CDN) and renders it with a small model adapter (get/set/on/off/send, what an anywidget
// view uses). The server's chart endpoint (gmwidgets.runsapi `ChartFeed`) plays the kernel's part: each poll reads
// only the rows appended since the last one, and answers with the LiveChart's spec and rows messages (the same panels
// per term and the same decimation). "log y" and "smooth" are the dashboard's two toggles.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import { chartUpdate } from './api';

type Handler = (...args: any[]) => void;
type Render = (view: { model: ViewModel; el: HTMLElement }) => Promise<(() => void) | void>;

/** What the LiveChart view reads of its model, with the defaults of a streaming LiveChart that has no rows yet. */
export class ViewModel {
  private values: Record<string, any> = {
    spec: {}, series_names: [], data: new Uint8Array(0), data_name: 'points', series_sep: '', streaming: true,
    smooth: null, log_scale: false, status: '', js_error: '', _vega_key: '', _picture_id: ''
  };
  private handlers = new Map<string, Set<Handler>>();
  onHello: () => void = () => undefined;

  get(key: string): any {
    return this.values[key];
  }
  set(key: string, value: any): void {
    this.values[key] = value;
    this.emit(`change:${key}`, value);
  }
  save_changes(): void {
    /* no kernel: nothing to sync */
  }
  on(event: string, f: Handler): void {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)!.add(f);
  }
  off(event: string, f: Handler): void {
    this.handlers.get(event)?.delete(f);
  }
  /** The view's messages to its kernel: 'hello' (send the whole display) is the only one a feed answers. */
  send(msg: any): void {
    if (msg?.type === 'hello') this.onHello();
  }
  emit(event: string, ...args: any[]): void {
    for (const f of [...(this.handlers.get(event) ?? [])]) f(...args);
  }
}

let VIEW: Promise<Render> | null = null;

/** The LiveChart view's `render`, loaded once a page from the server's static path. */
function loadView(): Promise<Render> {
  VIEW ??= (async () => {
    const base = URLExt.join(ServerConnection.makeSettings().baseUrl, 'gmwidgets/static/');
    const text = async (name: string) => {
      const r = await fetch(base + name);
      if (!r.ok) throw new Error(`${base}${name}: ${r.status} ${r.statusText}`);
      return r.text();
    };
    const view = await text('livechart.js');
    // A view that imports its loader itself is a module as it is; else the loader goes before it (as `chart_esm`).
    if (/^\s*import\s/m.test(view)) return (await import(/* webpackIgnore: true */ base + 'livechart.js')).default.render;
    const url = URL.createObjectURL(new Blob([(await text('vegaload.js')) + '\n' + view], { type: 'text/javascript' }));
    try {
      return (await import(/* webpackIgnore: true */ url)).default.render;
    } finally {
      URL.revokeObjectURL(url);
    }
  })();
  VIEW.catch(() => (VIEW = null)); // a later tab may retry
  return VIEW;
}

function bytes(b64: string): Uint8Array {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

let TABS = 0;

export class RunChart extends Widget {
  readonly model = new ViewModel();
  private view = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}-${TABS++}`;
  private status = document.createElement('div');
  private target = document.createElement('div');
  private reset = true;
  private timer = 0;
  private busy = false; // a request is on its way
  private again = false; // pull again as soon as it is back (a toggle changed)
  private cleanup: (() => void) | void = undefined;
  rowsSeen = 0;

  constructor(readonly runId: string, name: string, private period = 1000) {
    super();
    this.id = `gmwidgets-chart-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.addClass('gmw-chart');
    this.node.dataset.run = runId;
    this.title.label = `${name} (chart)`; // Lumino renders a title as text
    this.title.closable = true;
    this.status.className = 'gmw-chart-status';
    this.node.append(this.toolbar(), this.status, this.target);
    this.model.onHello = () => (this.reset = true);
    void this.start();
  }

  private toolbar(): HTMLElement {
    const bar = document.createElement('div');
    bar.className = 'gmw-chart-toolbar';
    const toggle = (label: string, cls: string, on: (checked: boolean) => void) => {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.className = cls;
      box.onchange = () => on(box.checked);
      const l = document.createElement('label');
      l.append(box, ` ${label}`);
      bar.appendChild(l);
    };
    toggle('log y', 'gmw-chart-log', checked => {
      this.model.set('log_scale', checked); // the feed sends the spec again, with log-scaled y axes
      this.poll(0);
    });
    toggle('smooth', 'gmw-chart-smooth', checked => this.model.set('smooth', checked ? 0.9 : null));
    return bar;
  }

  private async start(): Promise<void> {
    try {
      const render = await loadView();
      if (this.isDisposed) return;
      this.cleanup = await render({ model: this.model, el: this.target });
    } catch (e) {
      this.status.textContent = `The chart view could not be loaded: ${(e as Error).message}`;
      return;
    }
    await this.pull();
  }

  /** The next pull after `delay` ms; one request at a time, so the view applies the messages in their order. */
  private poll(delay = this.period): void {
    window.clearTimeout(this.timer);
    if (this.busy) this.again = true;
    else if (!this.isDisposed) this.timer = window.setTimeout(() => void this.pull(), delay);
  }

  private async pull(): Promise<void> {
    if (this.isDisposed) return;
    this.busy = true;
    try {
      const reset = this.reset; // a 'hello' from the view while this request is out asks for the next one
      this.reset = false;
      const up = await chartUpdate(this.runId, this.view, this.model.get('log_scale'), reset);
      if (this.model.get('_vega_key') !== up.vega_key) this.model.set('_vega_key', up.vega_key);
      this.model.set('series_names', up.series_names);
      if (up.spec) this.model.set('spec', up.spec);
      if (up.msg) this.model.emit('msg:custom', up.msg, [bytes(up.rows)]);
      this.rowsSeen = up.n_rows;
      this.status.textContent = `${up.n_rows.toLocaleString('en-US')} rows`;
    } catch (e) {
      this.reset = true; // a lost answer: start again from the whole display
      this.status.textContent = (e as Error).message;
    }
    const soon = this.again;
    this.busy = this.again = false;
    this.poll(soon ? 0 : this.period);
  }

  dispose(): void {
    window.clearTimeout(this.timer);
    try {
      this.cleanup?.();
    } finally {
      super.dispose();
    }
  }
}
