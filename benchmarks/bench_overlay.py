"""Benchmark: per-update kernel cost of the overlay chart (`RunsChart`) with 10 live runs of 100k points each, beside
one run.

    .venv/bin/python benchmarks/bench_overlay.py [--quick]

Each run already holds N points of 'loss' and 'valid_loss' (N = 1k and 100k). One update is what the chart's flusher
does at most `rate_hz` times a second while every run trains: each live run has pushed 20 new steps (two terms each)
since the last message; the update is those pushes plus one `flush()` (decimation, rows, one message). Timed in this
process (the message is built and handed to the widget's comm; no browser). Prints the median and p90 per update,
and the ratios 10 runs / 1 run and 100k / 1k, which are the O(1) claims: cost grows with the number of live runs
(what changed), not with their length.

With `--browser`, also the browser side (headless Chromium in a real JupyterLab, Playwright, as
bench_dashboard.py does for one run): the JS time to apply each update message to the Vega view, 1 vs 10 runs of 100k
points each (two terms a run), every run getting 20 new steps per update. Target: p90 within one frame (16.7 ms).

With `--replay`, the same browser work without JupyterLab and without a kernel running beside it: the kernel's update
messages are recorded here, then replayed (one every 70 ms) into the real `livechart.js` view with a stand-in model on
a bare page. Prints the JS ms per update and the page's main-thread CPU ms per update (Chromium's ThreadTime, which a
busy machine inflates less than the wall clock)."""
import argparse, functools, http.server, json, os, shutil, statistics, sys, tempfile, threading, time
from pathlib import Path
import numpy as np, pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'tests'))
from gmwidgets.runschart import RunsChart


def build(n_runs:int, n_points:int) -> RunsChart:
    "A chart with `n_runs` runs of `n_points` steps each, everything already sent once."
    chart = RunsChart(rate_hz=1e6, idle_finalize_s=None)
    rng = np.random.default_rng(0)
    for k in range(n_runs):
        steps = np.arange(1, n_points + 1)
        loss = 3 * np.exp(-steps / n_points) + 0.1 * rng.random(n_points)
        chart.add(pd.DataFrame({'step': steps, 'loss': loss, 'valid_loss': loss + 0.05}), name=f"run {k}")
    chart.flush()
    return chart


def per_update(chart:RunsChart, n_points:int, updates:int, new:int=20,
               noise:float=0.0, # uniform noise of that size on every pushed value (a real loss is noisy)
              ) -> list[float]:
    "Milliseconds of each update: `new` steps pushed to every run, then one flush."
    feeds, out, step, rng = list(chart.runs.values()), [], n_points, np.random.default_rng(1)
    for _ in range(updates):
        t = time.perf_counter()
        for _ in range(new):
            step += 1
            for f in feeds:
                e = noise * rng.random(2) if noise else (0, 0)
                f.push(step, loss=1.0 + 1 / step + e[0], valid_loss=1.1 + 1 / step + e[1])
        chart.flush()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def p90(xs): return float(np.percentile(xs, 90))


CHART_STATE = '''(el) => { const c = el.querySelector('.gmwidgets-chart'); const s = c && c.__gmwidgets;
  if (!s || !s.view) return null;
  return {rows: s.view.data('points').length, applied: s.applied, drawn: s.drawn ?? 0, timings: s.timings.slice()}; }'''

B_SETUP = '''
import numpy as np, pandas as pd, time
from gmwidgets.runschart import RunsChart
def overlay(n_runs, n):
    c = RunsChart(rate_hz=1000, idle_finalize_s=None)
    s = np.arange(1, n + 1)
    for k in range(n_runs):
        l = 3 * np.exp(-s / n) + 0.1 * np.random.default_rng(k).random(n)
        c.add(pd.DataFrame({{'step': s, 'loss': l, 'valid_loss': l + 0.05}}), name=f"run {{k}}")
    c.flush(); return c
bench = overlay({n_runs}, {n})
bench
'''
B_BATCHES = '''
step = {n}
for b in range({batches}):
    for _ in range(20):
        step += 1
        for f in bench.runs.values(): f.push(step, loss=1 + 1 / step, valid_loss=1.1 + 1 / step)
    bench.flush(); time.sleep(0.1)
'''


def page_cpu(page):
    "A function that returns the CPU seconds the page's main thread has used so far (Chromium's ThreadTime)."
    cdp = page.context.new_cdp_session(page); cdp.send('Performance.enable')
    return lambda: {m['name']: m['value'] for m in cdp.send('Performance.getMetrics')['metrics']}['ThreadTime']


def browser_results(n=100_000, batches=40) -> dict:
    "Browser-side JS ms per update message, 1 and 10 runs of `n` points."
    import harness
    from playwright.sync_api import sync_playwright
    tmp = Path(tempfile.mkdtemp(prefix='gmw-bench-'))
    server = harness.LabServer(harness.copy_tree_for_lab(tmp / 'root'), tmp=tmp / 'server').start()
    pw = sync_playwright().start(); browser = harness.launch_chromium(pw)
    out = {}
    try:
        page = browser.new_context(viewport={'width': 1400, 'height': 1000}).new_page()
        lab = harness.LabPage(page, server).open('nbs/16_runschart.ipynb')
        thread_s = page_cpu(page)
        for n_runs in (1, 10):
            i = lab.state()['ncells']
            lab.run_cell_source(B_SETUP.format(n_runs=n_runs, n=n), timeout=300)
            lab.charts(i).first.wait_for(timeout=120_000)
            state = lambda: page.evaluate(CHART_STATE, lab.output(i).element_handle())
            harness.wait_until(lambda: (state() or {}).get('rows'), timeout=120, what='the overlay drawn')
            before, drawn, cpu0 = state()['applied'], state()['drawn'], thread_s()
            lab.run_cell_source(B_BATCHES.format(n=n, batches=batches), timeout=300)
            deadline = time.monotonic() + 60
            while (st := state())['applied'] < before + batches and time.monotonic() < deadline: time.sleep(0.1)
            cpu_ms = (thread_s() - cpu0) * 1e3 / (st['applied'] - before)  # the whole page: JupyterLab's work too
            ts = sorted(st['timings'][-batches:])
            out[n_runs] = dict(median_ms=statistics.median(ts), p90_ms=ts[int(0.9 * len(ts))], rows_in_view=st['rows'],
                               cpu_ms=cpu_ms, drawn=st['drawn'] - drawn, updates=st['applied'] - before)
            lab.run_cell_source('bench.close()')
        assert not lab.external_requests, lab.external_requests
        return out
    finally:
        browser.close(); pw.stop(); server.stop(); shutil.rmtree(tmp, ignore_errors=True)


REPLAY_PAGE = '''<html><body><script id="jupyter-config-data" type="application/json">{"baseUrl": "/"}</script>
<div id="out"></div><script type="module">
import chart from "./chart.js";
const meta = await (await fetch("meta.json")).json();
const bin = async (f) => new Uint8Array(await (await fetch(f)).arrayBuffer());
const traits = {...meta.traits, data: await bin("init.bin"), streaming: true, data_name: "points", _vega_key: "replay"};
const handlers = [], el = document.getElementById("out");
const model = {get: (k) => traits[k], on: (e, cb) => e === "msg:custom" && handlers.push(cb), off() {}, send() {}};
chart.render({model, el});
window.replay = async (gap) => {  // every recorded message, `gap` ms apart; the timings of those messages
  const s = el.__gmwidgets, bufs = [];
  while (!s.view || !s.applied && !s.view.data("points").length) await new Promise((r) => setTimeout(r, 50));
  for (let k = 0; k < meta.msgs.length; k++) bufs.push(await bin(`m${k}.bin`));
  const n0 = s.timings.length;
  await window.mark();
  for (let k = 0; k < meta.msgs.length; k++) {
    for (const cb of handlers) cb(meta.msgs[k], [new DataView(bufs[k].buffer)]);
    await new Promise((r) => setTimeout(r, gap));
  }
  while (s.timings.length < n0 + meta.msgs.length) await new Promise((r) => setTimeout(r, 20));
  return {timings: s.timings.slice(n0), rows: s.view.data("points").length};
};
</script></body></html>'''


def record(n_runs:int, n:int, updates:int, root:Path, noise:float=0.0, view_js:Path|None=None):
    "Write into `root` a bare page, the view's ESM, the chart's traits and rows, and `updates` recorded messages."
    chart, sent = build(n_runs, n), []
    chart.send = lambda msg, buffers=None: sent.append((msg, bytes(buffers[0]) if buffers else b''))
    (root / 'init.bin').write_bytes(chart.display_rows().tobytes())
    traits = {k: getattr(chart, k) for k in ('spec', 'series_names', 'smooth', 'series_sep')}
    per_update(chart, n, updates, noise=noise)
    chart.close()
    (root / 'gmwidgets/static').mkdir(parents=True)
    shutil.copy(ROOT / 'gmwidgets/static/vega.js', root / 'gmwidgets/static/vega.js')  # where vegaload.js looks
    (root / 'chart.js').write_text((ROOT / 'gmwidgets/static/vegaload.js').read_text() + '\n'
                                   + Path(view_js or ROOT / 'gmwidgets/static/livechart.js').read_text())
    for k, (_, b) in enumerate(sent): (root / f'm{k}.bin').write_bytes(b)
    (root / 'meta.json').write_text(json.dumps({'traits': traits, 'msgs': [m for m, _ in sent]}))
    (root / 'index.html').write_text(REPLAY_PAGE)


def replay_results(n=100_000, updates=60, gap_ms=70, noise=0.0, view_js=None) -> dict:
    "Bare-page JS ms and main-thread CPU ms per update message, 1 and 10 runs of `n` points (see the docstring)."
    import harness
    from playwright.sync_api import sync_playwright
    pw = sync_playwright().start(); browser = harness.launch_chromium(pw)
    out = {}
    try:
        for n_runs in (1, 10):
            root = Path(tempfile.mkdtemp(prefix='gmw-replay-'))
            record(n_runs, n, updates, root, noise, view_js)
            quiet = type('Quiet', (http.server.SimpleHTTPRequestHandler,), {'log_message': lambda *a: None})
            srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(quiet, directory=str(root)))
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            try:
                page = browser.new_context(viewport={'width': 1400, 'height': 1000}).new_page()
                thread_s, marks = page_cpu(page), []
                page.expose_function('mark', lambda: marks.append(thread_s()))
                page.goto(f'http://127.0.0.1:{srv.server_address[1]}/index.html')
                page.wait_for_function('typeof window.replay === "function"')
                res = page.evaluate(f'replay({gap_ms})')
                cpu_ms = (thread_s() - marks[-1]) * 1e3 / len(res['timings'])
                ts = sorted(res['timings'])
                out[n_runs] = dict(median_ms=statistics.median(ts), p90_ms=ts[int(0.9 * len(ts))], cpu_ms=cpu_ms,
                                   rows_in_view=res['rows'], updates=len(ts))
                page.context.close()
            finally:
                srv.shutdown(); shutil.rmtree(root, ignore_errors=True)
        return out
    finally:
        browser.close(); pw.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--quick', action='store_true'); ap.add_argument('--browser', action='store_true')
    ap.add_argument('--replay', action='store_true')
    ap.add_argument('--noise', type=float, default=0.0, help='replay: noise on the pushed values (e.g. 0.05)')
    ap.add_argument('--view-js', help='replay: this livechart.js instead of the package\'s (an A/B comparison)')
    a = ap.parse_args()
    updates = 50 if a.quick else 300
    res = {}
    print(f"load average (1, 5, 15 min): {os.getloadavg()} on {os.cpu_count()} cores: figures are per update, "
          "side by side")
    print(f"{'runs':>5} {'points/run':>11} {'median ms':>10} {'p90 ms':>8} {'ms per run':>11}")
    for n_runs in (1, 10):
        for n_points in (1_000, 100_000):
            chart = build(n_runs, n_points)
            per_update(chart, n_points, 10)  # warm up
            ms = per_update(chart, n_points + 200, updates)
            res[n_runs, n_points] = ms
            med = statistics.median(ms)
            print(f"{n_runs:>5} {n_points:>11,} {med:>10.2f} {p90(ms):>8.2f} {med / n_runs:>11.2f}")
            chart.close()
    m = {k: statistics.median(v) for k, v in res.items()}
    print(f"100k / 1k points, 1 run: {m[1, 100_000] / m[1, 1_000]:.2f}x;  10 runs: {m[10, 100_000] / m[10, 1_000]:.2f}x"
          "  (O(1) in run length: ~1x)")
    print(f"10 runs / 1 run at 100k points: {m[10, 100_000] / m[1, 100_000]:.2f}x  (every run live: ~10x at most)")
    if a.browser:
        b = browser_results(batches=20 if a.quick else 40)
        print("browser (Chromium, JS per update): " + '; '.join(f"{k} run(s) of 100k: median {v['median_ms']:.1f} ms, "
              f"p90 {v['p90_ms']:.1f} ms, {v['rows_in_view']:,} rows in view, "
              f"page main-thread CPU {v['cpu_ms']:.1f} ms, "
              f"Vega ran on {v['drawn']} of {v['updates']} updates"
              for k, v in b.items()))
        print(f"10 runs / 1 run p90: {b[10]['p90_ms'] / b[1]['p90_ms']:.2f}x; target p90 <= 16.7 ms")
    if a.replay:
        r = replay_results(updates=30 if a.quick else 60, noise=a.noise, view_js=a.view_js)
        print("bare-page replay (Chromium, JS per update; main-thread CPU per update): " + '; '.join(
            f"{k} run(s): median {v['median_ms']:.1f} ms, p90 {v['p90_ms']:.1f} ms, CPU {v['cpu_ms']:.1f} ms, "
            f"{v['rows_in_view']:,} rows in view, {v['updates']} updates" for k, v in r.items()))
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == '__main__':
    main()
