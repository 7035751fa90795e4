// The server side is gmwidgets.runsapi: GET runs, GET rows?id&offset, GET chart?id&view&log&reset, POST control. ServerConnection adds the token.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** One run as the server lists it (a kernel run's status file, or a history file under the runs directory). */
export interface IRun {
  id: string; // 'k:<pid>-<hex>' (kernel run) or 'f:<path>' (history file)
  kind: 'kernel' | 'file';
  name: string;
  notebook?: string;
  file?: string;
  state: string; // running, paused, stopped, finished, failed, idle, gone, error
  step?: number;
  total?: number | null;
  loss?: number | null;
  loss_name?: string | null;
  eta?: number | null;
  spark?: number[];
  error?: string | null;
}

const settings = ServerConnection.makeSettings();

async function call(path: string, init: RequestInit = {}): Promise<any> {
  const url = URLExt.join(settings.baseUrl, 'gmwidgets/api', path);
  const response = await ServerConnection.makeRequest(url, init, settings);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.message || `${response.status} ${response.statusText}`);
  return body;
}

export async function listRuns(): Promise<IRun[]> {
  return (await call('runs')).runs;
}

export async function rows(id: string, offset: number): Promise<{ rows: any[]; offset: number }> {
  return call(`rows?id=${encodeURIComponent(id)}&offset=${offset}`);
}

/** A chart tab's update (gmwidgets.runsapi `ChartFeed.poll`): the spec when it changed, and a LiveChart rows message. */
export interface IChartUpdate {
  spec?: Record<string, unknown>;
  series_names: string[];
  msg: Record<string, unknown> | null;
  rows: string; // base64 of float32 rows (series id, step, value, ema, tail)
  n_rows: number;
  vega_key: string;
}

export async function chartUpdate(id: string, view: string, log: boolean, reset: boolean): Promise<IChartUpdate> {
  const q = `id=${encodeURIComponent(id)}&view=${encodeURIComponent(view)}&log=${log ? 1 : 0}&reset=${reset ? 1 : 0}`;
  return call(`chart?${q}`);
}

export async function control(id: string, action: 'stop' | 'pause' | 'resume'): Promise<string[]> {
  return (await call('control', { method: 'POST', body: JSON.stringify({ id, action }) })).asked;
}

/** "1,200/5,000 · loss 2.010 · ETA 3 min": the progress words the panel and the status bar share. */
export function progress(run: IRun): string {
  const parts: string[] = [];
  if (run.step !== undefined) {
    parts.push(`step ${run.step.toLocaleString('en-US')}` + (run.total ? `/${run.total.toLocaleString('en-US')}` : ''));
  }
  if (run.loss !== null && run.loss !== undefined) parts.push(`${run.loss_name || 'loss'} ${run.loss.toPrecision(4)}`);
  if (run.eta !== null && run.eta !== undefined) parts.push(`ETA ${duration(run.eta)}`);
  return parts.join(' · ');
}

function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** SVG polyline points of `values` scaled into a `w` x `h` box (y grows downwards). */
export function polyline(values: number[], w: number, h: number): string {
  const finite = values.filter(v => Number.isFinite(v));
  if (finite.length < 2) return '';
  const lo = Math.min(...finite), hi = Math.max(...finite), span = hi - lo || 1;
  const dx = w / (values.length - 1);
  return values
    .map((v, i) => (Number.isFinite(v) ? `${(i * dx).toFixed(1)},${(h - ((v - lo) / span) * h).toFixed(1)}` : ''))
    .filter(p => p)
    .join(' ');
}
