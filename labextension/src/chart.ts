// A run's live chart in a main-area tab: a simple SVG line chart of the run's loss terms, fed from the server's rows
// endpoint from an offset (each row arrives once). Each series keeps at most 2 x MAX points (a stride that doubles),
// so an update costs the same at any run length.
import { Widget } from '@lumino/widgets';
import { rows } from './api';

const SVG = 'http://www.w3.org/2000/svg';
const MAX = 2000;
const W = 600, H = 300;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const NOT_SERIES = new Set(['step', 'epoch', 'time', 'lr', 'samples_per_s']);

class Series {
  steps: number[] = [];
  values: number[] = [];
  private stride = 1;
  private seen = 0;
  add(step: number, v: number) {
    if (this.seen++ % this.stride === 0) {
      this.steps.push(step);
      this.values.push(v);
    }
    if (this.values.length > 2 * MAX) {
      this.steps = this.steps.filter((_, i) => i % 2 === 0);
      this.values = this.values.filter((_, i) => i % 2 === 0);
      this.stride *= 2;
    }
  }
}

export class RunChart extends Widget {
  private svg = document.createElementNS(SVG, 'svg');
  private legend = document.createElement('div');
  private status = document.createElement('div');
  private series = new Map<string, Series>();
  private offset = 0;
  private timer = 0;
  rowsSeen = 0;

  constructor(readonly runId: string, name: string) {
    super();
    this.id = `gmwidgets-chart-${runId.replace(/[^A-Za-z0-9_-]/g, '_')}`;
    this.addClass('gmw-chart');
    this.title.label = `${name} (chart)`; // Lumino renders a title as text
    this.title.closable = true;
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    this.legend.className = 'gmw-chart-legend';
    this.status.className = 'gmw-chart-status';
    this.node.append(this.legend, this.svg, this.status);
    void this.poll();
  }

  private async poll(): Promise<void> {
    if (this.isDisposed) return;
    try {
      const got = await rows(this.runId, this.offset);
      this.offset = got.offset;
      for (const row of got.rows) this.take(row);
      this.rowsSeen += got.rows.length;
      if (got.rows.length) this.draw();
      this.status.textContent = `${this.rowsSeen.toLocaleString('en-US')} rows`;
    } catch (e) {
      this.status.textContent = (e as Error).message;
    }
    this.timer = window.setTimeout(() => void this.poll(), 1000);
  }

  private take(row: Record<string, unknown>) {
    const step = Number(row.step);
    for (const [k, v] of Object.entries(row)) {
      if (NOT_SERIES.has(k) || typeof v !== 'number' || !Number.isFinite(v)) continue;
      if (!this.series.has(k)) this.series.set(k, new Series());
      this.series.get(k)!.add(step, v);
    }
  }

  private draw() {
    const all = [...this.series.values()];
    const steps = all.flatMap(s => [s.steps[0], s.steps[s.steps.length - 1]]);
    const vals = all.flatMap(s => [Math.min(...s.values), Math.max(...s.values)]);
    const [x0, x1, y0, y1] = [Math.min(...steps), Math.max(...steps), Math.min(...vals), Math.max(...vals)];
    const sx = (x: number) => ((x - x0) / (x1 - x0 || 1)) * W, sy = (y: number) => H - ((y - y0) / (y1 - y0 || 1)) * H;
    this.svg.replaceChildren();
    this.legend.replaceChildren();
    [...this.series.entries()].forEach(([name, s], i) => {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', s.values.map((v, j) => `${sx(s.steps[j]).toFixed(1)},${sy(v).toFixed(1)}`).join(' '));
      line.setAttribute('stroke', COLORS[i % COLORS.length]);
      line.setAttribute('data-series', name);
      this.svg.appendChild(line);
      const key = document.createElement('span');
      key.style.color = COLORS[i % COLORS.length];
      key.textContent = `${name} ${s.values[s.values.length - 1].toPrecision(4)}`;
      this.legend.appendChild(key);
    });
    const axis = document.createElement('span');
    axis.textContent = `steps ${x0}-${x1}, values ${y0.toPrecision(3)}-${y1.toPrecision(3)}`;
    this.legend.appendChild(axis);
  }

  dispose() {
    window.clearTimeout(this.timer);
    super.dispose();
  }
}
