// gmwidgets chart view (LiveChart and VegaChart): embeds a Vega-Lite spec with the bundled Vega (no CDN)
// and, for a LiveChart, streams rows into its named dataset with Vega changesets. `loadVega`, `hidePicture`,
// `showError` and `unpackSpec` come from vegaload.js, loaded before this file.

const COLS = 5; // a row: series id, step, value, ema, tail (1 while the point is provisional)
const IDLE_MS = 250; // a series whose changes wait (see `deferred`) is applied after this long without an update

function bytesOf(buf) {
  // DataView, typed array or ArrayBuffer -> its bytes
  if (!buf) return new Uint8Array(0);
  return ArrayBuffer.isView(buf) ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : new Uint8Array(buf);
}

function floats(buf) {
  // DataView, typed array or ArrayBuffer -> Float32Array (copied: the offset may not be 4-aligned)
  return new Float32Array(bytesOf(buf).slice().buffer);
}

// The `data` trait: the final display rows, gzipped by the kernel column by column and byte by byte (`pack_rows`):
// put back in rows of COLS float32 here.
async function dataRows(buf) {
  const bytes = bytesOf(buf);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return floats(buf); // not gzip: raw rows
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const planes = new Uint8Array(await new Response(stream).arrayBuffer()); // (COLS, 4, k)
  const k = planes.length / (4 * COLS), out = new Uint8Array(planes.length); // (k, COLS, 4)
  for (let c = 0; c < COLS; c++) for (let j = 0; j < 4; j++) {
    const from = (c * 4 + j) * k;
    for (let r = 0; r < k; r++) out[(r * COLS + c) * 4 + j] = planes[from + r];
  }
  return new Float32Array(out.buffer);
}

// The fields every row of series `name` carries: `series`, and where the chart has a `series_sep` (RunsChart's
// "run\u241fterm" names) also `run` and `term`, split once per series here rather than by a Vega transform per row.
function seriesFields(state, name) {
  let f = state.fields.get(name);
  if (!f) {
    f = { series: name };
    const i = state.sep ? name.indexOf(state.sep) : -1;
    if (i >= 0) Object.assign(f, { run: name.slice(0, i), term: name.slice(i + state.sep.length) });
    state.fields.set(name, f);
  }
  return f;
}

// Sticky axis domains (a live RunsChart): its spec names, per panel, the params that hold the x and y domains and
// the terms the panel shows (`usermeta.gmwidgets.sticky`). A changed domain makes Vega encode every item again, so
// the page keeps each domain with headroom and widens it only when a point falls outside: x to 1.25 times the step
// span, y by 10 % of the span each side (of log10 of the values on a log scale, where values <= 0 are skipped).
function stickyPanels(spec) {
  const panels = spec?.usermeta?.gmwidgets?.sticky; // panel i draws with Vega-Lite's scales concat_i_x, concat_i_y
  return panels ? panels.map((p, i) => ({ ...p, terms: new Set(p.terms), xd: null, yd: null,
                                           sx: `concat_${i}_x`, sy: `concat_${i}_y` })) : null;
}

function widened(lo, hi, pad, log) {
  // [lo, hi] padded by `pad` of its span (a unit span where it has none), in log10 space on a log scale
  const f = log ? Math.log10 : (v) => v, g = log ? (v) => 10 ** v : (v) => v;
  const a = f(lo), b = f(hi), m = pad * ((b - a) || Math.abs(a) || 1);
  return [g(a - m), g(b + m)];
}

// Grow the domains over the rows `ins` (after a reset when every row is replaced); set the params that changed.
// Returns whether one changed.
function growDomains(state, ins, reset) {
  let changed = false;
  for (const p of state.sticky ?? []) {
    if (reset) p.xd = p.yd = null;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const t of ins) {
      if (!p.terms.has(t.term)) continue;
      if (t.step < x0) x0 = t.step;
      if (t.step > x1) x1 = t.step;
      for (const v of [t.value, t.ema]) if (Number.isFinite(v) && !(p.log && v <= 0)) {
        if (v < y0) y0 = v;
        if (v > y1) y1 = v;
      }
    }
    if (x0 <= x1 && (!p.xd || x0 < p.xd[0] || x1 > p.xd[1])) {
      const lo = Math.min(x0, p.xd?.[0] ?? x0), hi = Math.max(x1, p.xd?.[1] ?? x1);
      p.xd = [lo, lo + 1.25 * ((hi - lo) || 1)];
      state.view.signal(p.x, p.xd); changed = true;
    }
    if (y0 <= y1 && (!p.yd || y0 < p.yd[0] || y1 > p.yd[1])) {
      p.yd = widened(Math.min(y0, p.yd?.[0] ?? y0), Math.max(y1, p.yd?.[1] ?? y1), 0.1, p.log);
      state.view.signal(p.y, p.yd); changed = true;
    }
  }
  return changed;
}

// Where rows of `term` fall on the canvas, in device pixels, in every panel that shows the term: a string, or null
// where a panel's scales are unknown.
function pixels(state, term, rows) {
  const dpr = globalThis.devicePixelRatio || 1, px = (f, v) => Math.round(f(v) * dpr), out = [];
  for (const p of state.sticky) if (p.terms.has(term)) {
    const x = state.view.scale(p.sx), y = state.view.scale(p.sy);
    if (!x || !y) return null;
    for (const t of rows) out.push(px(x, t.step), px(y, t.value), px(y, t.ema));
  }
  return out.join();
}

// Deferred series (a live RunsChart, whose axis domains stay put): each update changes every live series, and a
// changed series costs Vega its facet's collect, join, encode and bounds, then a redraw. Where the rows after a
// series' last final point (its new final rows and its new tail) fall on the same pixels as the tail on show, the
// picture would not change: the series waits (`state.pending`), its rows merged with the next update's, until they
// move a pixel, a domain changes, or no update has come for `state.idleMs` (then every waiting series is applied,
// so the last picture has every row).
function deferred(state, name, p) {
  if (!state.sticky) return false;
  const term = seriesFields(state, name).term;
  const now = pixels(state, term, state.shown.get(name) ?? []);
  return now !== null && now === pixels(state, term, [...p.final, ...p.tail]);
}

// Put the waiting rows of series `name` into the changeset `cs`.
function applyPending(state, cs, name) {
  const p = state.pending.get(name);
  if (!p) return;
  state.pending.delete(name);
  if (state.shown.has(name)) cs.remove(state.shown.get(name));
  cs.insert(p.final).insert(p.tail);
  state.shown.set(name, p.tail);
}

// Apply every waiting series now (one changeset, one run).
function flushPending(state) {
  if (!state.pending.size) return null;
  const cs = state.view.changeset();
  for (const name of [...state.pending.keys()]) applyPending(state, cs, name);
  return state.view.change(state.dataName, cs).runAsync();
}

// Apply one update: `msg.all` replaces everything, `msg.replace` the listed series, `msg.tails` the provisional rows
// of the listed series (new final rows come with them); one changeset, one run, none where every change waits.
function applyRows(state, names, msg, rows) {
  const view = state.view, cs = view.changeset(), got = new Map(), ins = new Array(rows.length / COLS);
  for (let i = 0, j = 0; i < rows.length; i += COLS, j++) {
    const name = names[rows[i]];
    const t = { ...seriesFields(state, name), step: rows[i + 1], value: rows[i + 2], ema: rows[i + 3] };
    if (!got.has(name)) got.set(name, { final: [], tail: [] });
    got.get(name)[rows[i + 4] ? "tail" : "final"].push(t);
    ins[j] = t;
  }
  const moved = growDomains(state, ins, msg.all); // a domain changed: every item is encoded again anyway
  const whole = new Set(msg.all ? got.keys() : (msg.replace ?? []).map((i) => names[i]));
  if (msg.all) { cs.remove(() => true); state.shown.clear(); state.pending.clear(); }
  else if (whole.size) cs.remove((d) => whole.has(d.series));
  for (const name of whole) {
    state.pending.delete(name);
    state.pending.set(name, got.get(name) ?? { final: [], tail: [] });
    state.shown.delete(name); // removed above with the rest of the series
  }
  for (const name of (msg.tails ?? []).map((i) => names[i])) {
    if (whole.has(name)) continue;
    const g = got.get(name) ?? { final: [], tail: [] }, p = state.pending.get(name);
    state.pending.set(name, p ? { final: p.final.concat(g.final), tail: g.tail } : g);
  }
  let changed = moved;
  for (const [name, p] of [...state.pending]) {
    if (!moved && !whole.has(name) && deferred(state, name, p)) continue;
    applyPending(state, cs, name); changed = true;
  }
  clearTimeout(state.idleTimer);
  if (state.pending.size) state.idleTimer = setTimeout(() => state.flushPending?.(), state.idleMs);
  state.deferred += state.pending.size;
  if (!changed && !msg.all) return Promise.resolve(view);
  // resize (a layout of the whole view): axis labels may need more room. With sticky domains only when one changed.
  const resize = moved || !state.sticky;
  view.change(state.dataName, cs); state.drawn += 1;
  return (resize ? view.resize() : view).runAsync();
}

// A LiveChart's status line (e.g. a follower's I/O errors) as plain text above the chart; hidden while empty.
function statusLine(model) {
  const line = document.createElement("div");
  line.className = "gmwidgets-status";
  line.style.cssText = "color:#b00;font-size:12px;margin:2px 0";
  const show = () => {
    line.textContent = model.get("status") ?? "";
    line.style.display = line.textContent ? "" : "none";
  };
  show(); model.on("change:status", show);
  return line;
}

async function render({ model, el }) {
  hidePicture(model);
  el.classList.add("gmwidgets-chart");
  el.appendChild(statusLine(model));
  const target = document.createElement("div");
  el.appendChild(target);
  const streaming = model.get("streaming");
  const state = { view: null, finalize: null, timings: [], applied: 0, closed: false,
                  dataName: model.get("data_name"), sep: model.get("series_sep") ?? "", fields: new Map(),
                  shown: new Map(), pending: new Map(), idleMs: IDLE_MS, idleTimer: null, deferred: 0,
                  drawn: 0 }; // drawn: updates that ran Vega
  el.__gmwidgets = state; // read by tests and benchmarks
  let queue = Promise.resolve();
  const enqueue = (job) => (queue = queue.then(() => state.closed ? null : job()).catch((e) => showError(el, model, e)));
  state.flushPending = () => enqueue(() => flushPending(state));

  async function embed() {
    const spec = await unpackSpec(model.get("spec"));
    if (!spec || !Object.keys(spec).length) { target.textContent = streaming ? "waiting for data…" : ""; return; }
    target.textContent = "";
    const { vegaEmbed } = await loadVega(model);
    if (state.view && streaming) await flushPending(state);
    const kept = state.view && streaming ? state.view.data(state.dataName) : null; // re-embed keeps the rows
    state.finalize?.();
    const opts = { actions: { export: true, source: false, compiled: false, editor: false }, renderer: "canvas" };
    const res = await vegaEmbed(target, structuredClone(spec), opts);
    Object.assign(state, { view: res.view, finalize: res.finalize, sticky: stickyPanels(spec) });
    if (!streaming) return;
    state.view.signal("smooth_on", model.get("smooth") != null);
    if (kept) {
      growDomains(state, kept, true);
      return state.view.change(state.dataName, state.view.changeset().insert(kept)).runAsync();
    }
    await applyRows(state, model.get("series_names"), { all: true }, await dataRows(model.get("data")));
    // Points sent before this view existed never reached it: ask the kernel for the whole display.
    try { model.send({ type: "hello" }); } catch (e) { /* no kernel: the data trait is all there is */ }
  }

  async function onMessage(msg, buffers) {
    if (msg?.type !== "rows" || !state.view) return;
    const t0 = performance.now();
    await applyRows(state, model.get("series_names"), msg, floats(buffers?.[0]));
    state.timings.push(performance.now() - t0);
    if (state.timings.length > 1000) state.timings.splice(0, 500);
    state.applied += 1;
  }

  async function onSmooth() {
    await flushPending(state);
    state.view.signal("smooth_on", model.get("smooth") != null);
    await state.view.runAsync();
  }

  model.on("msg:custom", (msg, buffers) => enqueue(() => onMessage(msg, buffers)));
  model.on("change:spec", () => enqueue(embed));
  if (streaming) model.on("change:smooth", () => enqueue(onSmooth));
  enqueue(embed);
  return () => { state.closed = true; clearTimeout(state.idleTimer); state.finalize?.(); };
}

export default { render };
