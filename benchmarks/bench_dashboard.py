"""Benchmark: the training dashboard against a bare loop, livelossplot and fastprogress, measured side by side in \
one run.

    make bench                       # or: .venv/bin/python benchmarks/bench_dashboard.py [--quick]

Prints four tables (and writes them to benchmarks/results/bench_dashboard.json):
1. throughput of the same small GRU language-model loop (quickstart size, names data, batch 64, logging every step),
   executed in a real kernel through nbclient so that every widget update crosses a real comm, after a warm-up (the
   one-off cost of a kernel's first dashboard is printed separately): bare loop; gmwidgets
   `Run` alone; `Run` with `TrainingDashboard` displayed; the bare loop with `LiveLoss.log`; livelossplot
   (`PlotLosses`, send every step); fastprogress (`master_bar.update_graph` every step). Each as % of the bare loop.
2. cost of one chart update (20 new points) when 1k, 10k, 100k and 1M points are logged: kernel side (gmwidgets push +
   flush, livelossplot send, fastprogress update_graph; the peers not at 1M, where each would redraw a million points
   a step) and browser side (gmwidgets JS time per update, headless Chromium in a real JupyterLab, Playwright).
3. stop latency: `dashboard.panel.click("stop")` (a Stop click) to the training thread's exit, model step ~20 ms.
4. memory after 1M logged steps: kernel RSS growth and points on display; browser JS heap.
Targets (DESIGN.md): overhead <= 2 %, update cost at 100k <= 1.2x the cost at 1k, stop <= 0.5 s, memory bounded."""
import argparse, json, statistics, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tests'))
import harness  # tests/harness.py: the kernel and browser harness

SETUP = r'''
import gc, json, os, statistics, time, threading, torch
from IPython.display import display
torch.set_num_threads(1)
from gmwidgets.core import load_dataset
from gmwidgets.autoregressive import RNNLM
from gmwidgets.train import Run
from gmwidgets.dashboard import TrainingDashboard
from gmwidgets.livechart import LiveChart, LiveLoss
names = load_dataset('names')
BS, LR = 64, 3e-3

def fresh():
    torch.manual_seed(0)
    return RNNLM.for_data(names, emb=64, hidden=128, layers=2, dropout=0.1)

def loop(n, log=None):
    "The bare loop (what a user writes), calling `log(step, loss)` every step; returns steps/s (wall, CPU)."
    m = fresh(); opt = torch.optim.AdamW(m.parameters(), lr=LR)
    t, c = time.perf_counter(), time.process_time()
    for i, b in enumerate(names.batches('train', batch_size=BS, shuffle=True, seed=0)):
        if i == n: break
        loss = m.loss(b)['loss']
        opt.zero_grad(set_to_none=True); loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0); opt.step()
        l = loss.item()
        if log: log(i, l)
    return rates(n, t, c)

def rates(n, t, c):
    "Steps per second of wall time, and per second of this process's CPU time (all its threads) since `t`, `c`."
    return n / (time.perf_counter() - t), n / (time.process_time() - c)

def run(n, dashboard=False):
    "The same training through gmwidgets.Run (optionally with the dashboard displayed); returns steps/s (wall, CPU)."
    # torch threads are per thread: as the bare loop
    r = Run(fresh(), names, lr=LR, batch_size=BS, max_steps=n, grad_clip=1.0, num_threads=1)
    if dashboard: display(TrainingDashboard(r))
    t, c = time.perf_counter(), time.process_time(); r.start(); r.wait()
    return rates(n, t, c)

def liveloss_log():
    ll = LiveLoss()
    return lambda i, l: ll.log(step=i, loss=l)

def livelossplot_log():
    from livelossplot import PlotLosses
    p = PlotLosses()
    def log(i, l): p.update({'loss': l}); p.send()
    return log

def fastprogress_log(n):
    from fastprogress.fastprogress import master_bar, progress_bar
    mb = master_bar(range(1)); next(iter(mb)); pb = progress_bar(range(n), parent=mb); it = iter(pb); xs, ys = [], []
    def log(i, l):
        next(it, None); xs.append(i); ys.append(l); mb.update_graph([[xs, ys]])
    return log
'''

THROUGHPUT = r'''
N, NP, REPS = {n}, {n_peer}, {reps}
# warm up; then the one-off cost of a kernel's first dashboard (widgets, the chart's spec built through Altair)
loop(20); run(20)
t = time.perf_counter(); run(20); headless = time.perf_counter() - t
t = time.perf_counter(); run(20, dashboard=True); first_dashboard = time.perf_counter() - t - headless
res = {{k: [] for k in ['bare', 'Run', 'Run + TrainingDashboard', 'bare + LiveLoss']}}
variants = [('bare', lambda: loop(N)), ('Run', lambda: run(N)),
            ('Run + TrainingDashboard', lambda: run(N, dashboard=True)),
            ('bare + LiveLoss', lambda: loop(N, liveloss_log()))]
for k in range(REPS):  # interleaved, and the order rotates each repeat, so drifts in machine load fall on every variant
    for name, f in variants[k % 4:] + variants[:k % 4]: res[name].append(f())
peer_bare = loop(NP)
res['livelossplot (bare loop, same steps)'] = [peer_bare]; res['livelossplot'] = [loop(NP, livelossplot_log())]
res['fastprogress'] = [loop(NP, fastprogress_log(NP))]
out = {{k: statistics.median(w for w, c in v) for k, v in res.items()}}
out['first dashboard one-off (s)'] = first_dashboard
out['raw'] = {{k: [w for w, c in v] for k, v in res.items()}}  # each repeat's wall steps/s (rep k: one rotation)
out['raw_cpu'] = {{k: [c for w, c in v] for k, v in res.items()}}  # ... and steps per CPU second of the kernel
print('RESULT', json.dumps(out))
'''

UPDATE_COST = r'''
import numpy as np, matplotlib
rng = np.random.default_rng(0)
out = {{}}
chart = LiveChart(['loss'], rate_hz=1000, idle_finalize_s=None); display(chart)
def fill_chart(n):
    for k in range(chart.n_points, n): chart.push(k, loss=1 / (k + 1) + 0.1 * rng.random())
    chart.flush()
def chart_update():
    k0 = chart.n_points; t = time.perf_counter()
    for k in range(k0, k0 + 20): chart.push(k, loss=1 / (k + 1) + 0.1 * rng.random())
    chart.flush(); return time.perf_counter() - t
from livelossplot import PlotLosses
from fastprogress.fastprogress import master_bar
for n in {sizes}:
    fill_chart(n)
    g = [chart_update() for _ in range(30)]
    if n > 100_000:  # the peers would redraw a million points a step (minutes): gmwidgets alone at this size
        out[n] = dict(gmwidgets=statistics.median(g), livelossplot=None, fastprogress=None); continue
    p = PlotLosses()
    for k in range(n): p.update({{'loss': 1 / (k + 1)}})
    l = []
    for _ in range(3):
        t = time.perf_counter(); p.update({{'loss': 0.5}}); p.send(); l.append(time.perf_counter() - t)
    mb = master_bar(range(1)); xs = list(range(n)); ys = [1 / (k + 1) for k in xs]; f = []
    for _ in range(3):
        t = time.perf_counter(); mb.update_graph([[xs, ys]]); f.append(time.perf_counter() - t)
    out[n] = dict(gmwidgets=statistics.median(g), livelossplot=statistics.median(l), fastprogress=statistics.median(f))
print('RESULT', json.dumps(out))
'''

STOP = r'''
class Slow(torch.nn.Module):
    def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.ones(1))
    def loss(self, b): time.sleep(0.02); return {{'loss': (self.w * b.float().mean()).pow(2)}}
lat = []
for _ in range({reps}):
    r = Run(Slow(), names, batch_size=8, max_steps=10**6); d = TrainingDashboard(r); display(d); r.start()
    while r.step_count < 10: time.sleep(0.01)
    t = time.perf_counter(); d.panel.click("stop"); r._thread.join(); lat.append(time.perf_counter() - t)
print('RESULT', json.dumps(dict(median=statistics.median(lat), max=max(lat), reps=len(lat))))
'''


def kernel_result(code:str, timeout=1800) -> dict:
    "Execute SETUP + `code` in a fresh kernel (nbclient) and return the JSON the code printed after 'RESULT'."
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(code)])
    NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(ROOT)}}).execute()
    text = ''.join(o.get('text', '') for o in nb.cells[1].outputs if o.output_type == 'stream')
    return json.loads(text.split('RESULT', 1)[1].strip().splitlines()[0])


# -------------------------------------------------------------------- browser side
CHART_STATE = '''(el) => { const c = el.querySelector('.gmwidgets-chart'); const s = c && c.__gmwidgets;
  if (!s || !s.view) return null;
  return {rows: s.view.data('points').length, applied: s.applied, timings: s.timings.slice()}; }'''

B_SETUP = '''
import numpy as np, time, os
from gmwidgets.livechart import LiveChart
rng = np.random.default_rng(0)
bench = LiveChart(['loss'], max_points=2000, rate_hz=1000, idle_finalize_s=None)
bench
'''
B_FILL = '''
for k in range(bench.n_points, {n}): bench.push(k, loss=1 / (k + 1) + 0.1 * rng.random())
bench.flush()
'''
B_BATCHES = '''
for b in range({batches}):
    k0 = bench.n_points
    for k in range(k0, k0 + 20): bench.push(k, loss=1 / (k + 1) + 0.1 * rng.random())
    bench.flush(); time.sleep(0.08)
'''
B_RSS = '''
import resource; print(int(open('/proc/self/status').read().split('VmRSS:')[1].split()[0]))
'''
B_MILLION = '''
t = time.perf_counter()
for k in range(bench.n_points, {n}):
    bench.push(k, loss=1 / (k + 1) + 0.1 * rng.random(), lr=3e-3)
    if k % 1000 == 0: bench.push(k, valid_loss=1 / (k + 1))
bench.flush(); bench.finalize()
print(time.perf_counter() - t, len(bench.display_rows()))
# wait until the final picture is drawn: it does not overlap what follows
while bench._picture_thread is not None: time.sleep(0.05)
'''


def browser_results(sizes, batches=30, million=1_000_000) -> dict:
    "Browser-side cost per 20-point update at each logged size, and memory after `million` logged steps."
    import shutil, tempfile
    from playwright.sync_api import sync_playwright
    tmp = Path(tempfile.mkdtemp(prefix='gmw-bench-'))
    server = harness.LabServer(harness.copy_tree_for_lab(tmp / 'root'), tmp=tmp / 'server').start()
    pw = sync_playwright().start(); browser = harness.launch_chromium(pw)
    try:
        page = browser.new_context(viewport={'width': 1400, 'height': 1000}).new_page()
        lab = harness.LabPage(page, server).open('nbs/12_livechart.ipynb')
        cdp = page.context.new_cdp_session(page)
        def heap_mb():
            page.evaluate('() => new Promise(r => setTimeout(r, 300))')
            cdp.send('HeapProfiler.collectGarbage')
            return {m['name']: m['value']
                    for m in cdp.send('Performance.getMetrics')['metrics']}['JSHeapUsedSize'] / 2**20
        cdp.send('Performance.enable')
        def new_chart():  # a fresh one-series chart below the others; returns its cell's index
            i = lab.state()['ncells']
            lab.run_cell_source(B_SETUP); lab.charts(i).first.wait_for(timeout=60_000)
            return i
        state = lambda i: page.evaluate(CHART_STATE, lab.output(i).element_handle())
        def timed(i):  # `batches` updates of 20 new points each, as the page applied them
            before = state(i)['applied']
            lab.run_cell_source(B_BATCHES.format(batches=batches), timeout=300)
            deadline = time.monotonic() + 60
            while (st := state(i))['applied'] < before + batches and time.monotonic() < deadline: time.sleep(0.1)
            ts = sorted(st['timings'][-batches:])
            return dict(median_ms=statistics.median(ts), p90_ms=ts[int(0.9 * len(ts))], rows=st['rows'])
        i, out = new_chart(), {}
        for n in sizes:
            lab.run_cell_source(B_FILL.format(n=n), timeout=300)
            out[n] = timed(i)
        rss0 = int(lab.run_cell_source(B_RSS)[0]['text']); heap0 = heap_mb(); n0 = max(sizes)
        text = lab.run_cell_source(B_MILLION.format(n=million), timeout=600)[0]['text'].split()
        rss1 = int(lab.run_cell_source(B_RSS)[0]['text']); time.sleep(2); heap1 = heap_mb()
        out['memory'] = dict(logged_from=n0, logged_to=million, kernel_rss_growth_mb=(rss1 - rss0) / 1024,
                             push_seconds=float(text[0]), rows_on_display=int(text[1]), rows_in_view=state(i)['rows'],
                             browser_heap_mb_before=heap0, browser_heap_mb_after=heap1,
                             update=timed(i))  # the update cost of that chart (three series on show)
        j = new_chart()  # the update cost at `million` points of one series, as at the sizes above
        lab.run_cell_source(B_FILL.format(n=million), timeout=600)
        out[million] = timed(j)
        assert not lab.external_requests, lab.external_requests
        return out
    finally:
        browser.close(); pw.stop(); server.stop(); shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true', help='fewer steps and repeats (a smoke run)')
    ap.add_argument('--parts', default='throughput,update,stop,browser', help='comma-separated subset to run')
    ap.add_argument('--reps', type=int, default=None, help='throughput repeats of each variant (default 12; --quick 1)')
    a = ap.parse_args()
    parts = a.parts.split(',')
    n, n_peer, reps = (60, 10, 1) if a.quick else (200, 40, 12)
    reps = a.reps or reps
    sizes = [1_000, 10_000] if a.quick else [1_000, 10_000, 100_000]
    million = 50_000 if a.quick else 1_000_000  # the browser part logs this many steps for its memory row
    res = {}
    if 'throughput' in parts:
        res['throughput_steps_per_s'] = kernel_result(THROUGHPUT.format(n=n, n_peer=n_peer, reps=reps))
    if 'update' in parts: res['update_cost_kernel_s'] = kernel_result(UPDATE_COST.format(sizes=sizes + [million]))
    if 'stop' in parts: res['stop_latency_s'] = kernel_result(STOP.format(reps=3 if a.quick else 7))
    if 'browser' in parts: res['browser'] = browser_results(sizes, million=million)
    report(res, sizes + [million])
    out = ROOT / 'benchmarks' / 'results'; out.mkdir(exist_ok=True)
    (out / 'bench_dashboard.json').write_text(json.dumps(res, indent=1))


def report(res, sizes):
    if 'throughput_steps_per_s' in res: report_throughput(res['throughput_steps_per_s'])
    if 'update_cost_kernel_s' in res and 'browser' in res: report_updates(res, sizes)
    if 'stop_latency_s' in res:
        st = res['stop_latency_s']
        print(f"\n3. Stop latency (click -> loop exit, step ~20 ms): median {1e3 * st['median']:.0f} ms, "
              f"max {1e3 * st['max']:.0f} ms over {st['reps']}")
    if 'browser' in res:
        m = res['browser']['memory']
        print(f"\n4. Memory, {m['logged_from']:,} -> {m['logged_to']:,} logged steps (3 series): "
              f"kernel RSS +{m['kernel_rss_growth_mb']:.0f} MB (all points kept), "
              f"{m['rows_on_display']} rows on display "
              f"({m['rows_in_view']} in the Vega view); browser JS heap {m['browser_heap_mb_before']:.1f} -> "
              f"{m['browser_heap_mb_after']:.1f} MB; pushing took {m['push_seconds']:.1f} s")
        if 'update' in m: print(f"   one update (20 points) of that chart: {m['update']['median_ms']:.1f} ms median, "
                                f"p90 {m['update']['p90_ms']:.0f} ms ({m['update']['rows']} rows in its view)")


def report_throughput(tp):
    import os
    bare = tp['bare']
    print(f"(load average after the run: {os.getloadavg()[0]:.1f})")
    print('\n1. Throughput (same GRU loop, logging every step, real kernel via nbclient; median of repeats)')
    print(f"{'variant':<40}{'steps/s':>10}{'% of bare':>12}")
    raw, raw_cpu = tp.pop('raw', None), tp.pop('raw_cpu', None)
    for k, v in tp.items():
        if k.startswith('first dashboard'):
            print(f"(a kernel's first dashboard costs once {v:.2f} s more: widgets and the chart spec built through "
                  "Altair)")
            continue
        ref = tp['livelossplot (bare loop, same steps)'] if k in ('livelossplot', 'fastprogress') else bare
        print(f"{k:<40}{v:>10.1f}{100 * v / ref:>11.1f}%")
    if raw and len(raw['bare']) > 1:  # paired: each repeat's variant over the same repeat's bare loop (drift cancels)
        print(f"\nPaired ratios (variant / bare of the same repeat, {len(raw['bare'])} repeats): median, quartiles, "
              "and the bare loop's spread (max / min - 1) across repeats")
        for k in ('Run', 'Run + TrainingDashboard', 'bare + LiveLoss'):
            r = sorted(100 * v / b for v, b in zip(raw[k], raw['bare']))
            q = statistics.quantiles(r, n=4) if len(r) > 2 else [r[0], 0, r[-1]]
            print(f"{k:<40}{statistics.median(r):>10.1f}%  (quartiles {q[0]:.1f} - {q[2]:.1f} %)")
        print(f"bare loop spread across repeats: {100 * (max(raw['bare']) / min(raw['bare']) - 1):.1f} %")
        tp['raw'] = raw
    if raw_cpu:  # steps per second of the kernel's CPU time (every thread: training, chart sender, comms)
        print("\nCPU cost: steps per CPU second of the kernel process (all threads), % of the bare loop's; median of "
              "repeats, then paired (each repeat's over the same repeat's bare) with quartiles")
        print(f"{'variant':<40}{'steps/CPU s':>12}{'% of bare':>11}{'paired':>9}  quartiles")
        for k, v in raw_cpu.items():
            ref = raw_cpu['livelossplot (bare loop, same steps)' if k in ('livelossplot', 'fastprogress') else 'bare']
            r = sorted(100 * a / b for a, b in zip(v, ref))
            q = statistics.quantiles(r, n=4) if len(r) > 2 else [r[0], 0, r[-1]]
            print(f"{k:<40}{statistics.median(v):>12.1f}{100 * statistics.median(v) / statistics.median(ref):>10.1f}%"
                  f"{statistics.median(r):>8.1f}%  {q[0]:.1f} - {q[2]:.1f} %")
        print(f"bare loop spread (CPU) across repeats: {100 * (max(raw_cpu['bare']) / min(raw_cpu['bare']) - 1):.1f} %")
        tp['raw_cpu'] = raw_cpu


def report_updates(res, sizes):
    print('\n2. One chart update (20 points) vs points logged')
    uc, br = res['update_cost_kernel_s'], res['browser']
    print(f"{'logged':>8}{'gmw kernel ms':>15}{'gmw browser ms (p90)':>24}{'livelossplot ms':>17}"
          f"{'fastprogress ms':>17}")
    ms = lambda v: '-' if v is None else f"{1e3 * v:.0f}"
    for s in sizes:
        u, b = uc[str(s)], br[s]
        print(f"{s:>8}{1e3 * u['gmwidgets']:>15.2f}{b['median_ms']:>14.1f} ({b['p90_ms']:.0f})"
              f"{ms(u['livelossplot']):>17}{ms(u['fastprogress']):>17}")
    sizes = sizes[:-1]  # the ratios below compare the sizes every tool was timed at
    lo, hi = str(sizes[0]), str(sizes[-1])
    print(f"ratio {sizes[-1]:,} / {sizes[0]:,} points: "
          f"gmwidgets kernel {uc[hi]['gmwidgets'] / uc[lo]['gmwidgets']:.2f}x, "
          f"browser {br[sizes[-1]]['median_ms'] / br[sizes[0]]['median_ms']:.2f}x; "
          f"livelossplot {uc[hi]['livelossplot'] / uc[lo]['livelossplot']:.1f}x; "
          f"fastprogress {uc[hi]['fastprogress'] / uc[lo]['fastprogress']:.1f}x")

if __name__ == '__main__':
    main()
