"""Benchmark: the size of a saved notebook after 2,000 logged steps, gmwidgets beside livelossplot and fastprogress, and
the kernel-side cost of gmwidgets' final picture update.

    make bench                       # or: .venv/bin/python benchmarks/bench_saved_size.py

Each notebook logs the same 2,000 steps of a synthetic loss curve (and a validation loss every 100 steps), runs in a
real kernel through nbclient and is saved with its widget state, as a front end saves it:
- gmwidgets: `LiveLoss.log` every step, then `finalize()` (the chart's data and its static SVG picture);
- livelossplot: `PlotLosses.update` every step, `send()` every 100 steps (each send redraws a matplotlib PNG; sending
  every step would take minutes and end with the same single PNG in the file);
- fastprogress: `master_bar.update_graph` every 100 steps (same reason).
Then, for gmwidgets, the final picture update: wall time until the update is sent, and the kernel process's CPU time
spent on it (the SVG is drawn in the render process, from a background thread, never on the training thread).
`pip install livelossplot fastprogress` (the `bench` extra) is needed for the peers."""
import json, sys, tempfile
from pathlib import Path
import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / 'tests'))
import harness  # tests/harness.py: the kernel harness

N = 2000
CURVE = f'''
import math, time
def loss(i): return 2.5 * math.exp(-i / 500) + 0.3 + 0.05 * math.sin(i / 3)
steps = range({N})
'''
NOTEBOOKS = {
    'gmwidgets': [CURVE, '''
from gmwidgets.livechart import LiveLoss
dash = LiveLoss(idle_finalize_s=None)
for i in steps:
    if i % 100 == 0: dash.log(step=i, loss=loss(i), valid_loss=loss(i) + 0.1)
    else: dash.log(step=i, loss=loss(i))
dash.finalize(); dash.chart.wait_picture(120)
''', '''
import json
chart = dash.chart
t0, c0 = time.perf_counter(), time.process_time()
chart.refresh_picture(); call_s = time.perf_counter() - t0  # what the caller (a training thread) waits
chart.wait_picture(120)
print(json.dumps({'wall_s': time.perf_counter() - t0, 'kernel_cpu_s': time.process_time() - c0, 'call_s': call_s,
                  'points': len(chart.display_rows())}))
'''],
    'livelossplot': [CURVE, '''
from livelossplot import PlotLosses
plot = PlotLosses()
for i in steps:
    logs = {'loss': loss(i)}
    if i % 100 == 0: logs['val_loss'] = loss(i) + 0.1
    plot.update(logs, current_step=i)
    if i % 100 == 99: plot.send()
'''],
    'fastprogress': [CURVE, '''
from fastprogress.fastprogress import master_bar, progress_bar
mb = master_bar(range(1))
xs, ys, vx, vy = [], [], [], []
for _ in mb:
    for i in progress_bar(steps, parent=mb):
        xs.append(i); ys.append(loss(i))
        if i % 100 == 0: vx.append(i); vy.append(loss(i) + 0.1)
        if i % 100 == 99: mb.update_graph([[xs, ys], [vx, vy]])
'''],
}

def run(name:str, cells:list[str], d:Path) -> tuple[int, list]:
    "Execute `cells` in a fresh kernel, save with widget state: (file size in bytes, outputs of the last cell)."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    src = d / f'{name}.ipynb'
    nbformat.write(nb, str(src))
    done = harness.execute_notebook(src, timeout=600, store_widget_state=True)
    out = d / f'{name}-saved.ipynb'
    nbformat.write(done, str(out))
    return out.stat().st_size, done.cells[-1].outputs

def main():
    sizes, cost = {}, None
    with tempfile.TemporaryDirectory() as tmp:
        for name, cells in NOTEBOOKS.items():
            try: sizes[name], outs = run(name, cells, Path(tmp))
            except Exception as e: print(f'{name}: not measured ({type(e).__name__}: {e})'.splitlines()[0]); continue
            if name == 'gmwidgets':
                cost = json.loads(''.join(o.get('text', '') for o in outs if o.get('name') == 'stdout'))
    print(f'Saved notebook after {N:,} logged steps (nbclient, widget state stored):')
    base = sizes.get('gmwidgets')
    for name, size in sizes.items():
        ratio = f'  ({size / base:.2f}x gmwidgets)' if base and name != 'gmwidgets' else ''
        print(f'  {name:13s} {size / 1000:8.1f} KB{ratio}')
    if cost:
        print(f"Final picture update ({cost['points']} display points): {cost['wall_s'] * 1000:.0f} ms until sent, "
              f"{cost['kernel_cpu_s'] * 1000:.0f} ms of kernel CPU (drawn in the render process, off the training "
              f"thread); the caller waits {cost['call_s'] * 1000:.2f} ms")
    out = ROOT / 'benchmarks' / 'results'; out.mkdir(exist_ok=True)
    (out / 'bench_saved_size.json').write_text(json.dumps({'steps': N, 'bytes': sizes, 'picture_update': cost},
                                                          indent=1))

if __name__ == '__main__':
    main()
