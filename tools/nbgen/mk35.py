"Writes nbs/35_runsapi.ipynb (one-off generator; the notebook is the source from then on)."
import nbformat as nbf
M, C = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
cells = [
C("#| default_exp runsapi"),
M("""# runsapi

> The server side of the Runs panel: token-authenticated endpoints that list the runs, return a run's rows from an offset, and pass Stop/Pause to kernel runs.

Two kinds of runs reach the panel, both through files, so the server never waits on a kernel."""),
M("""- **kernel runs**: every `Run` of every kernel writes `<id>.json` (status) and `<id>.jsonl` (rows) under
  `status_dir()` (`gmwidgets.runspanel`); Stop and Pause write `<id>.control`.
- **file runs**: history files (`HistoryWriter`, `follow`: one JSON object a line) under the runs directory
  (`--RunsPanel.runs_dir`, default `runs` under the server's root), e.g. from a script in a terminal.

The server reads only files under those two folders: a requested file is refused when its path is absolute, has a
`..`, or resolves (through symlinks) outside the runs directory. Every endpoint needs the server's token."""),
C("""#| export
from __future__ import annotations
import json, os, re, time
from pathlib import Path
from fastcore.basics import patch
from traitlets import Unicode, Integer
from traitlets.config import Configurable
from gmwidgets.runspanel import ACTIONS, Spark, status_dir"""),
C("""from fastcore.test import test_eq, test_fail
import tempfile"""),
M("""## Only files under the runs directory

`inside(root, rel)` is the one gate for a path that comes from a request."""),
C("""#| export
def inside(root:Path, # the runs directory
           rel:str,   # a path from a request, relative to `root`
          ) -> Path:
    "`root/rel` resolved, or a `ValueError` when `rel` is absolute, has `..` or resolves outside `root`."
    if not isinstance(rel, str) or not rel: raise ValueError(f"path={rel!r}: need a path relative to the runs directory")
    p = Path(rel)
    if p.is_absolute() or '..' in p.parts:
        raise ValueError(f"path={rel!r}: need a path under the runs directory, without '..'")
    real, top = (root/p).resolve(), root.resolve()
    if not real.is_relative_to(top): raise ValueError(f"path={rel!r}: resolves outside the runs directory")
    return real"""),
C("""root = Path(tempfile.mkdtemp())
(root/'a').mkdir(); (root/'a'/'h.jsonl').write_text('{"step": 1, "loss": 2.0}\\n')
outside = Path(tempfile.mkdtemp())/'secret.jsonl'; outside.write_text('{}\\n')
(root/'link.jsonl').symlink_to(outside)
test_eq(inside(root, 'a/h.jsonl'), (root/'a'/'h.jsonl').resolve())
for bad in ['../x.jsonl', str(outside), 'a/../../x', 'link.jsonl', '']:
    test_fail(lambda: inside(root, bad), contains='path=')"""),
M("""## Reading rows from an offset

`read_rows` returns the complete lines after byte `offset` (a line still being written waits for its newline) and the
offset to ask from next time, so the chart tab gets each row once. A line that is not a JSON object is an error."""),
C("""#| export
def read_rows(path:Path, offset:int=0, # byte offset: where the last call stopped
              limit:int=5000,           # at most this many rows a call
             ) -> tuple[list[dict], int]:
    "The rows of the JSON-lines file `path` after byte `offset`, and the next offset."
    with open(path, 'rb') as f:
        f.seek(offset)
        data = f.read(1 << 22)
    rows, pos = [], offset
    for line in data.splitlines(keepends=True)[:limit]:
        if not line.endswith(b'\\n'): break
        row = json.loads(line) if line.strip() else {}
        if not isinstance(row, dict): raise ValueError(f"{path.name}, byte {pos}: a row must be a JSON object")
        if row: rows.append(row)
        pos += len(line)
    return rows, pos"""),
C("""rows, off = read_rows(root/'a'/'h.jsonl')
test_eq((rows, off), ([{'step': 1, 'loss': 2.0}], 25))
with open(root/'a'/'h.jsonl', 'a') as f: f.write('{"step": 2, "loss": 1.0}\\n{"step": 3')  # the last line is torn
test_eq(read_rows(root/'a'/'h.jsonl', off), ([{'step': 2, 'loss': 1.0}], 50))
(root/'bad.jsonl').write_text('[1, 2]\\n')
test_fail(lambda: read_rows(root/'bad.jsonl'), contains='JSON object')"""),
M("""## A history file as a run

`FileRun` follows one history file incrementally (it reads only what was appended since the last listing) and keeps its
latest step and loss and a sparkline. A file that cannot be read or parsed becomes an error row."""),
C("""#| export
ACTIVE_S = 15.0  # a history file written to in the last this many seconds is 'running', else 'idle'

class FileRun:
    "The summary of one history file, updated from where it was last read."
    def __init__(self, root:Path, rel:str):
        self.root, self.rel, self.offset, self.size = root, rel, 0, -1
        self.step, self.loss, self.loss_name, self.spark, self.error = 0, None, None, Spark(), None

    def update(self) -> dict:
        "Read what was appended; the panel's row."
        try:
            p = inside(self.root, self.rel)
            st = p.stat()
            if st.st_size < self.offset: self.__init__(self.root, self.rel)  # truncated: read it again
            if st.st_size != self.size: self._read(p); self.size = st.st_size
            state = 'error' if self.error else 'running' if time.time() - st.st_mtime < ACTIVE_S else 'idle'
        except (OSError, ValueError, UnicodeDecodeError) as e: self.error, state = f"{type(e).__name__}: {e}", 'error'
        return dict(id='f:' + self.rel, kind='file', name=Path(self.rel).stem, file=self.rel, state=state,
                    step=self.step, total=None, loss=self.loss, loss_name=self.loss_name, eta=None,
                    spark=list(self.spark.points), error=self.error)"""),
C("""#| export
@patch
def _read(self:FileRun, p:Path):
    "Take in the rows after `offset`."
    while True:
        rows, self.offset = read_rows(p, self.offset)
        for r in rows:
            name = 'loss' if 'loss' in r else next((k for k in r if k not in ('step', 'epoch', 'time')), None)
            loss = r.get(name) if name else None
            if isinstance(r.get('step'), (int, float)): self.step = r['step']
            if isinstance(loss, (int, float)) and not isinstance(loss, bool):
                self.loss, self.loss_name = loss, name; self.spark.add(float(loss))
        if not rows: return"""),
C("""fr = FileRun(root, 'a/h.jsonl')
row = fr.update()
test_eq((row['name'], row['step'], row['loss'], row['spark'], row['state']), ('h', 2, 1.0, [2.0, 1.0], 'running'))
test_eq(FileRun(root, 'bad.jsonl').update()['state'], 'error')
test_eq(FileRun(root, 'link.jsonl').update()['error'], "ValueError: path='link.jsonl': resolves outside the runs directory")"""),
M("""## Kernel runs

A kernel run's status file says what the run last reported. A run whose process is gone while it was running or paused
shows as `gone` (its kernel died or was restarted)."""),
C("""#| export
KERNEL_ID = re.compile(r'^[0-9]+-[0-9a-f]{8}$')  # `<pid>-<8 hex digits>`, as `RunReporter` names its files

def _alive(pid) -> bool:
    "Whether process `pid` exists."
    try: os.kill(int(pid), 0)
    except PermissionError: return True
    except (OSError, ValueError, TypeError, OverflowError): return False
    return True

def kernel_run(path:Path) -> dict:
    "The panel's row for the status file `path` (an error row when it cannot be read)."
    try:
        st = json.loads(path.read_text(encoding='utf-8'))
        if not isinstance(st, dict): raise ValueError('not a JSON object')
    except (OSError, ValueError, UnicodeDecodeError) as e:
        return dict(id='k:' + path.stem, kind='kernel', name=path.name, state='error', error=f"{type(e).__name__}: {e}")
    if st.get('state') in ('running', 'paused') and not _alive(st.get('pid')): st['state'] = 'gone'
    return {**st, 'id': 'k:' + path.stem, 'kind': 'kernel', 'error': None}"""),
C("""sd = Path(tempfile.mkdtemp())
(sd/'1-0000000a.json').write_text(json.dumps(dict(name='a', state='running', pid=os.getpid(), step=3)))
(sd/'2-0000000a.json').write_text(json.dumps(dict(name='b', state='running', pid=2**22 + 7, step=3)))
(sd/'3-0000000a.json').write_text('{"name": ')
test_eq([kernel_run(sd/f'{i}-0000000a.json')['state'] for i in (1, 2, 3)], ['running', 'gone', 'error'])"""),
M("""## The runs panel's model

`RunsPanel` is a configurable (so `--RunsPanel.runs_dir=...` works on the command line or in
`jupyter_server_config.py`) that lists both kinds of runs, gives a run's rows file, and writes control files."""),
C("""#| export
class RunsPanel(Configurable):
    "The runs the Runs panel shows: kernel runs from their status files, file runs from the runs directory."
    runs_dir = Unicode('runs', config=True, help="History files (*.jsonl) under this folder are listed as runs; "
                       "relative to the server's root directory.")
    status_dir = Unicode('', config=True, help="Where kernels write their runs' status; default: gmwidgets.runspanel.status_dir().")
    max_files = Integer(200, config=True, help="List at most this many history files (the most recently written).")

    def __init__(self, root_dir='.', **kw):
        super().__init__(**kw)
        self.runs_root = Path(root_dir)/os.path.expanduser(self.runs_dir)
        self.status_root = Path(self.status_dir) if self.status_dir else status_dir()
        self._files = {}  # rel path -> FileRun"""),
C("""#| export
@patch
def history_files(self:RunsPanel) -> list[str]:
    "The history files under the runs directory, relative to it, most recently written first."
    if not self.runs_root.is_dir(): return []
    found = []
    for p in self.runs_root.rglob('*.jsonl'):
        try: found.append((p.stat().st_mtime, p.relative_to(self.runs_root).as_posix()))
        except OSError: pass  # a dangling symlink
    return [rel for _, rel in sorted(found, reverse=True)[:self.max_files]]

@patch
def runs(self:RunsPanel) -> list[dict]:
    "Every run's row: kernel runs first (newest first), then file runs."
    kernel = sorted(self.status_root.glob('*.json'), key=lambda p: -p.stat().st_mtime) if self.status_root.is_dir() else []
    rels = self.history_files()
    self._files = {rel: self._files.get(rel) or FileRun(self.runs_root, rel) for rel in rels}
    return [kernel_run(p) for p in kernel] + [self._files[rel].update() for rel in rels]"""),
C("""panel = RunsPanel(root_dir=root.parent, runs_dir=root.name, status_dir=str(sd))
test_eq(sorted(panel.history_files()), ['a/h.jsonl', 'bad.jsonl', 'link.jsonl'])
test_eq(sorted((r['id'], r['state']) for r in panel.runs()),
        [('f:a/h.jsonl', 'running'), ('f:bad.jsonl', 'error'), ('f:link.jsonl', 'error'),
         ('k:1-0000000a', 'running'), ('k:2-0000000a', 'gone'), ('k:3-0000000a', 'error')])"""),
M("""A run id from a request names a file: `k:<pid>-<hex>` a kernel run's rows, `f:<path>` a history file (through
`inside`). `control` writes a kernel run's control file; anything else is a `ValueError`."""),
C("""#| export
@patch
def rows_file(self:RunsPanel, run_id:str) -> Path:
    "The rows file of the run `run_id`."
    kind, _, rest = str(run_id).partition(':')
    if kind == 'f': return inside(self.runs_root, rest)
    if kind == 'k' and KERNEL_ID.match(rest): return self.status_root/f"{rest}.jsonl"
    raise ValueError(f"id={run_id!r}: need 'k:<pid>-<hex>' or 'f:<path under the runs directory>'")

@patch
def control(self:RunsPanel, run_id:str, action:str) -> list[str]:
    "Ask the kernel run `run_id` (or every running or paused one, for '*') to `action`; the ids asked."
    if action not in ACTIONS: raise ValueError(f"action={action!r}: need one of {ACTIONS}")
    if run_id == '*': ids = [r['id'] for r in self.runs() if r['kind'] == 'kernel' and r.get('state') in ('running', 'paused')]
    elif str(run_id).startswith('k:') and KERNEL_ID.match(run_id[2:]): ids = [run_id]
    else: raise ValueError(f"id={run_id!r}: only kernel runs ('k:<pid>-<hex>') can be stopped or paused")
    for i in ids:
        tmp = self.status_root/f"{i[2:]}.control.tmp"
        tmp.write_text(json.dumps({'action': action, 'at': time.time()}), encoding='utf-8')
        os.replace(tmp, self.status_root/f"{i[2:]}.control")
    return ids"""),
C("""test_eq(panel.rows_file('f:a/h.jsonl'), (root/'a'/'h.jsonl').resolve())
test_fail(lambda: panel.rows_file('f:../x'), contains="'..'")
test_fail(lambda: panel.rows_file('k:../../etc/passwd'), contains='id=')
test_eq(panel.control('*', 'stop'), ['k:1-0000000a'])
test_eq(json.loads((sd/'1-0000000a.control').read_text())['action'], 'stop')
test_fail(lambda: panel.control('f:a/h.jsonl', 'stop'), contains='only kernel runs')
test_fail(lambda: panel.control('k:1-0000000a', 'explode'), contains='action=')"""),
M("""## The endpoints

Under `<base_url>gmwidgets/api/`: `GET runs`, `GET rows?id=...&offset=...`, `POST control` with
`{"id": ..., "action": "stop" | "pause" | "resume"}` (`"id": "*"` for all). All are `APIHandler`s behind
`@web.authenticated`: without the token they answer 403. A bad id or action is a 400, a path outside the runs
directory a 403, a missing file a 404."""),
C("""#| export
from tornado import web
from jupyter_server.base.handlers import APIHandler

class _RunsHandler(APIHandler):
    def initialize(self, panel:RunsPanel): self.panel = panel

    def _fail(self, e:Exception):
        "A `ValueError` or `OSError` as an HTTP error that says what was wrong."
        code = 404 if isinstance(e, FileNotFoundError) else 403 if 'outside' in str(e) or "'..'" in str(e) else 400
        raise web.HTTPError(code, str(e))

class RunsHandler(_RunsHandler):
    @web.authenticated
    def get(self): self.finish(json.dumps({'runs': self.panel.runs(), 'now': time.time()}))

class RowsHandler(_RunsHandler):
    @web.authenticated
    def get(self):
        try:
            offset = int(self.get_argument('offset', '0'))
            if offset < 0: raise ValueError(f"offset={offset}: need offset >= 0")
            rows, offset = read_rows(self.panel.rows_file(self.get_argument('id')), offset)
        except (ValueError, OSError) as e: self._fail(e)
        self.finish(json.dumps({'rows': rows, 'offset': offset}))

class ControlHandler(_RunsHandler):
    @web.authenticated
    def post(self):
        body = self.get_json_body() or {}
        try: ids = self.panel.control(body.get('id'), body.get('action'))
        except (ValueError, OSError) as e: self._fail(e)
        self.finish(json.dumps({'asked': ids}))"""),
M("""The server extension: its own config file (`jupyter-config/jupyter_server_config.d/gmwidgets_runs.json`, installed
by the wheel) enables it."""),
C("""#| export
API = 'gmwidgets/api/'  # under the server's base URL

def _jupyter_server_extension_points() -> list[dict]:
    return [{'module': 'gmwidgets.runsapi'}]

def _load_jupyter_server_extension(serverapp):
    "Add the Runs panel's endpoints."
    from jupyter_server.utils import url_path_join
    panel = RunsPanel(root_dir=serverapp.root_dir, config=serverapp.config)
    base = url_path_join(serverapp.web_app.settings['base_url'], API)
    serverapp.web_app.add_handlers('.*$', [(base + 'runs', RunsHandler, {'panel': panel}),
                                           (base + 'rows', RowsHandler, {'panel': panel}),
                                           (base + 'control', ControlHandler, {'panel': panel})])
    serverapp.log.info(f'gmwidgets: runs from {panel.runs_root} and {panel.status_root} at {base}')"""),
]
nb = nbf.v4.new_notebook(cells=cells, metadata={'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}})
nbf.write(nb, 'nbs/35_runsapi.ipynb')
