"Writes nbs/34_runspanel.ipynb (one-off generator; the notebook is the source from then on)."
import nbformat as nbf
M, C = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
C("#| default_exp runspanel"),
M("""# runspanel

> The kernel side of the Runs panel: every `Run` in a kernel reports its progress to a small status file, and obeys a control file that the server writes for Stop and Pause.

The JupyterLab extension in `labextension/` shows every run of the server in one panel. It never talks to a kernel:
a kernel that is busy (or stuck in a foreground loop) would make the panel wait. Instead each `Run` writes a small
JSON status file (name, notebook, state, step/total, latest loss, sparkline points) at most once a second, and its rows
to a JSON-lines file, under `status_dir()`; the server (`gmwidgets.runsapi`) reads those files. Stop and Pause go the
other way: the server writes `<id>.control`, which the run checks with one `stat` per step (and a watcher thread checks
four times a second, so a paused run can be resumed).

Layers: this module is in the extension layer. The run layer does not import it: `Run` calls the hooks in
`gmwidgets.run_hooks` when it starts, and `import gmwidgets` imports this module, which adds `report` there. It imports
only the standard library (and `jupyter_core`), so `import gmwidgets` stays light."""),
C("""#| export
from __future__ import annotations
import json, math, os, threading, time, uuid, weakref
from pathlib import Path
from fastcore.basics import patch"""),
C("""from fastcore.test import test_eq, test_fail
import tempfile"""),
M("""## Where the files go

Kernels and the server share Jupyter's runtime directory (`JUPYTER_RUNTIME_DIR`, per user), so the status files go to
`<runtime dir>/gmwidgets-runs/` unless `GMWIDGETS_STATUS_DIR` says otherwise."""),
C("""#| export
STATUS_ENV = 'GMWIDGETS_STATUS_DIR'  # overrides where kernels write status files (and where the server reads them)

def status_dir() -> Path:
    "The folder of the kernel runs' status, rows and control files."
    if os.environ.get(STATUS_ENV): return Path(os.environ[STATUS_ENV])
    from jupyter_core.paths import jupyter_runtime_dir
    return Path(jupyter_runtime_dir())/'gmwidgets-runs'"""),
C("""d = tempfile.mkdtemp()
os.environ[STATUS_ENV] = d
test_eq(status_dir(), Path(d))"""),
M("""## A sparkline of the whole run in at most 128 points

The panel draws a loss sparkline for each run. `Spark` keeps every `stride`-th value; when it holds more than `n`
points it drops every other one and doubles the stride, so it covers the whole run at O(1) memory."""),
C("""#| export
class Spark:
    "The values of a series at a stride that doubles whenever more than `n` are kept."
    def __init__(self, n:int=128): self.n, self.stride, self.points, self._seen = n, 1, [], 0

    def add(self, v:float):
        "Keep `v` if it falls on the stride."
        if self._seen % self.stride == 0: self.points.append(v)
        self._seen += 1
        if len(self.points) > self.n: self.points, self.stride = self.points[::2], self.stride * 2"""),
C("""s = Spark(4)
for v in range(10): s.add(float(v))
test_eq((s.points, s.stride), ([0.0, 4.0, 8.0], 4))"""),
M("""## The reporter

`RunReporter` is an ordinary `Run` callback. `on_step` only records numbers and stats the control file; the files are
written by `flush`, which the watcher thread calls at most once a second, and on every change of state."""),
C("""#| export
def _finite(v) -> float|None:
    "`v` as a float, None when it is not a finite number."
    try: v = float(v)
    except (TypeError, ValueError): return None
    return v if math.isfinite(v) else None

class RunReporter:
    "A `Run` callback that reports the run to the Runs panel through files in `folder`."
    def __init__(self, run,             # the `Run` to report
                 folder=None,          # default: `status_dir()`
                 every:float=1.0,      # seconds between two status writes while the run trains
                ):
        self.folder, self.every = Path(folder or status_dir()), every
        self.id = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"  # unique, also across kernels and module copies
        self.run, self.name = weakref.ref(run), str(run.name)
        self.notebook = os.environ.get('JPY_SESSION_NAME', '')
        self.loss, self.loss_name, self.step, self.spark = None, None, 0, Spark()
        self._rows, self._lock, self._dirty, self._written = [], threading.Lock(), True, 0.0
        self._ran, self._since, self._control_seen = 0.0, None, None

    def path(self, ext:str) -> Path: return self.folder/f"{self.id}.{ext}"
    def __repr__(self): return f"RunReporter({self.name!r}, id={self.id!r})\""""),
C("""class Toy:  # stands in for a `Run`: the reporter uses its public API only
    name, state, step_count, total_steps = 'toy<b>', 'running', 0, 10
    def __init__(self): self.calls = []
    def stop(self): self.calls.append('stop')
    def pause(self): self.calls.append('pause')
    def resume(self): self.calls.append('resume')
toy = Toy()
r = RunReporter(toy, every=0)
test_eq((r.name, r.path('json').parent), ('toy<b>', Path(d)))
r"""),
M("""`status` is what the panel shows. The ETA counts running time only (pauses excluded)."""),
C("""#| export
@patch
def elapsed(self:RunReporter) -> float:
    "Seconds the run has spent running."
    return self._ran + (time.monotonic() - self._since if self._since is not None else 0.0)

@patch
def status(self:RunReporter) -> dict:
    "The run's status as the server lists it."
    run = self.run()
    state = run.state if run is not None else 'gone'
    total = getattr(run, 'total_steps', None) if run is not None else None
    t = self.elapsed()
    eta = t / self.step * (total - self.step) if total and self.step and state == 'running' else None
    return dict(id=self.id, kind='kernel', name=self.name, notebook=self.notebook, pid=os.getpid(), state=state,
                step=self.step, total=total, loss=self.loss, loss_name=self.loss_name, elapsed=t, eta=eta,
                spark=list(self.spark.points), updated=time.time())"""),
C("""test_eq({k: v for k, v in r.status().items() if k in ('name', 'state', 'step', 'total', 'eta')},
        dict(name='toy<b>', state='running', step=0, total=10, eta=None))"""),
M("""## Obeying the control file

The server writes `{"action": "stop"}` (or `pause`, `resume`) to `<id>.control`. `obey` stats the file (cheap enough
for every step) and acts only on a file it has not seen yet."""),
C("""#| export
ACTIONS = ('stop', 'pause', 'resume')

@patch
def obey(self:RunReporter):
    "Apply a new action from the control file, if there is one."
    try: seen = self.path('control').stat().st_mtime_ns
    except OSError: return
    if seen == self._control_seen: return
    self._control_seen = seen
    try: action = json.loads(self.path('control').read_text(encoding='utf-8')).get('action')
    except (OSError, ValueError, AttributeError): return
    run = self.run()
    if run is None or action not in ACTIONS: return
    try: getattr(run, action)()
    except RuntimeError: pass  # e.g. resume() of a run that is not paused: nothing to do"""),
C("""r.path('control').write_text('{"action": "pause"}')
r.obey(); r.obey()
test_eq(toy.calls, ['pause'])"""),
M("""The callbacks. `on_step` keeps the latest `loss` (or the first term when there is none), appends the row for the
chart, and checks the control file."""),
C("""#| export
@patch
def on_step(self:RunReporter, run, step:int, terms:dict):
    name = 'loss' if 'loss' in terms else next(iter(terms), None)
    loss = _finite(terms.get(name)) if name else None
    with self._lock:
        self.step, self.loss, self.loss_name, self._dirty = step, loss, name, True
        if loss is not None: self.spark.add(loss)
        self._rows.append({'step': step, **{k: _finite(v) for k, v in terms.items()}})
    self.obey()

@patch
def on_eval(self:RunReporter, run, step:int, terms:dict):
    with self._lock: self._rows.append({'step': step, **{f"valid_{k}": _finite(v) for k, v in terms.items()}})

@patch
def on_state(self:RunReporter, run, state:str):
    now = time.monotonic()
    if self._since is not None: self._ran += now - self._since
    self._since = now if state == 'running' else None
    self._dirty = True
    self.flush(force=True)

@patch
def on_end(self:RunReporter, run):
    self.flush(force=True)
    _watched.discard(self)"""),
M("""`flush` appends the new rows to `<id>.jsonl` and replaces `<id>.json` (written to a temporary name first, so the
server never reads half a file). A run with nothing new writes nothing."""),
C("""#| export
@patch
def flush(self:RunReporter, force:bool=False):
    "Write the rows and the status if anything changed and `every` seconds have passed (or `force`)."
    if not self._dirty or (not force and time.monotonic() - self._written < self.every): return
    with self._lock: rows, self._rows, self._dirty = self._rows, [], False
    self.folder.mkdir(parents=True, exist_ok=True)
    if rows:
        with open(self.path('jsonl'), 'a', encoding='utf-8') as f: f.write(''.join(json.dumps(r) + '\\n' for r in rows))
    tmp = self.path('json.tmp')
    tmp.write_text(json.dumps(self.status()), encoding='utf-8')
    os.replace(tmp, self.path('json'))
    self._written = time.monotonic()"""),
C("""r.on_state(toy, 'running')
for i in range(1, 4): r.on_step(toy, i, {'loss': 3.0 - i, 'kl': float('nan')})
r.flush(force=True)
st = json.loads(r.path('json').read_text())
test_eq((st['step'], st['loss'], st['spark'], st['state']), (3, 0.0, [2.0, 1.0, 0.0], 'running'))
test_eq([json.loads(l) for l in r.path('jsonl').read_text().splitlines()][-1], {'step': 3, 'loss': 0.0, 'kl': None})"""),
M("""## The watcher and the hook

One daemon thread per process flushes every reporter at most once a second and checks their control files four times
a second (a paused run makes no steps, so `on_step` cannot see a resume). `report(run)` is the hook that `Run` calls
when it starts."""),
C("""#| export
_watched = weakref.WeakSet()
_watcher = None

def _watch(period:float=0.25):
    "The watcher thread's loop."
    while True:
        for r in list(_watched):
            try: r.obey(); r.flush()
            except Exception: pass  # a full disk must not end the watcher: the panel just sees an old status
        time.sleep(period)

def report(run):
    "Report `run` to the Runs panel: add a `RunReporter` to its callbacks (once) and watch it."
    global _watcher
    if any(isinstance(cb, RunReporter) for cb in run.callbacks): return
    r = RunReporter(run)
    run.add_callback(r)
    r.on_state(run, run.state)
    _watched.add(r)
    if _watcher is None or not _watcher.is_alive():
        _watcher = threading.Thread(target=_watch, name='gmwidgets-runs-watcher', daemon=True)
        _watcher.start()
    return r"""),
M("""Registered at import: `import gmwidgets` imports this module, so every run of every kernel reports."""),
C("""#| export
import gmwidgets  # one reporter hook: the latest `report` (this cell run again in a notebook replaces it)
gmwidgets.run_hooks[:] = [h for h in gmwidgets.run_hooks if getattr(h, '__name__', '') != 'report'] + [report]"""),
M("""A real run: it appears in the status folder, and a `stop` in its control file ends it within a step."""),
C("""from gmwidgets.train import Run
import torch
class Slow(torch.nn.Module):
    def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.ones(1))
    def loss(self, batch): time.sleep(0.02); return {'loss': (self.w ** 2).sum()}
run = Run(Slow(), [torch.zeros(2, 3)] * 5, epochs=1000, batch_size=2, name='slow')
run.start()
rep = next(cb for cb in run.callbacks if isinstance(cb, RunReporter))
while run.step_count < 3: time.sleep(0.01)
rep.path('control').write_text('{"action": "stop"}')
run.wait(10)
test_eq(run.state, 'stopped')
st = json.loads(rep.path('json').read_text())
test_eq((st['name'], st['state'], st['step'] == run.step_count), ('slow', 'stopped', True))"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}})
nbf.write(nb, 'nbs/34_runspanel.ipynb')
