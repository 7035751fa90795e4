"""Harness for the kernel and browser test tiers.

Kernel tier: `execute_notebook` runs a notebook end to end in a real kernel with nbclient.
Browser tier: `LabServer` runs a real, isolated `jupyter lab` on a free localhost port, and `LabPage`
drives it from headless Chromium through Playwright (open a notebook, run it, wait, read outputs,
find elements inside a cell's output, screenshot). Facts this follows: /work/shared/DESIGN.md,
"Facts for the browser tier".

A browser test takes the `lab` fixture (tests/conftest.py) and reads like this:

    def test_stop(lab):
        lab.open('nbs/quickstart.ipynb').run_all().wait_idle()   # paths relative to the repo root
        assert lab.failed_cells() == [] and lab.console_errors == []
        lab.output(5).get_by_role('button', name='Stop').click()  # elements inside cell 5's output
        lab.output(5).get_by_text('stopped').wait_for()
        outs = lab.run_cell_source('print(1 + 1)')  # append a cell, run it:
                                                     # [{'output_type': 'stream', 'text': '2\\n', ...}]
        lab.screenshot('after_stop', lab.output(5))             # tests/artifacts/after_stop.png

Cell indices count markdown cells too; `lab.state()['ncells']` is the index the next appended cell gets."""
from __future__ import annotations
import json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, warnings
import urllib.error, urllib.request
from pathlib import Path
from urllib.parse import quote, urlsplit
from toys import until  # the one polling loop of the tests

REPO = Path(__file__).resolve().parents[1]
NBS = REPO/'nbs'
ARTIFACTS = REPO/'tests'/'artifacts'
CHROMIUM = '/usr/bin/chromium'
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
LOCAL_HOSTS = {'127.0.0.1', 'localhost', '::1', '[::1]'}

# Headless Chromium with nothing phoning home; any other host fails to resolve at once (and is still
# seen by the request listener, so the test fails instead of waiting on a CDN).
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
                 '--disable-quic', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage',
                 '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1']

# JupyterLab user settings, by plugin id: all cells in the DOM, no news/update checks, no autosave.
LAB_SETTINGS = {
    '@jupyterlab/notebook-extension:tracker': {'windowingMode': 'none'},
    '@jupyterlab/apputils-extension:notification': {'fetchNews': 'false', 'checkForUpdates': False},
    '@jupyterlab/docmanager-extension:plugin': {'autosave': False},
    '@jupyterlab/extensionmanager-extension:plugin': {'enabled': False},
    # Save widget state into the notebook, as a user who shares notebooks would: a reopened notebook shows final charts.
    '@jupyter-widgets/jupyterlab-manager:plugin': {'saveState': True},
}
# Server side of the same: no news feed, no update check (jupyter_server_config.json in JUPYTER_CONFIG_DIR).
SERVER_CONFIG = {'LabApp': {'news_url': None,
                            'check_for_updates_class': 'jupyterlab.handlers.announcements.NeverCheckForUpdate'}}

# ---------------------------------------------------------------- kernel tier

def read_notebook(path:Path|str, # an .ipynb file
                 ):
    "The notebook at `path` as an nbformat node (cells without ids are accepted quietly)."
    import nbformat
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # our notebooks are nbdev-cleaned: no cell ids
        return nbformat.read(str(path), as_version=4)

def execute_notebook(path:Path|str, # an .ipynb file
                     timeout:int=120, # seconds allowed per cell
                     kernel_name:str='python3', # kernelspec name (the venv's python3)
                     cwd:Path|str|None=None, # working directory of the kernel; default: the notebook's folder
                     store_widget_state:bool=True, # save the widget state into the notebook, as a front end would
                    ):
    """Execute the notebook at `path` in a fresh kernel and return it with its outputs and widget state (raises on a
    cell error)."""
    from nbclient import NotebookClient
    nb = read_notebook(path)
    cwd = Path(cwd or Path(path).parent)
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, resources={'metadata': {'path': str(cwd)}},
                   store_widget_state=store_widget_state).execute()
    return nb

def error_outputs(nb) -> list[tuple[int, str, str]]:
    "`(cell index, ename, evalue)` for every error output in `nb`."
    return [(i, o.get('ename', ''), o.get('evalue', '')) for i, c in enumerate(nb.cells)
            for o in c.get('outputs', []) if o.get('output_type') == 'error']

def output_mimetypes(nb) -> set[str]:
    "Every mimetype shown by a display or execute_result output in `nb`."
    return {m for c in nb.cells for o in c.get('outputs', []) for m in o.get('data', {})}

# ---------------------------------------------------------------- the server

def free_port() -> int:
    "A TCP port on 127.0.0.1 that nothing listens on now."
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def copy_tree_for_lab(dest:Path, # an empty temp folder that becomes the server's root_dir
                      dirs=(NBS, REPO/'tests'/'notebooks'), # repo folders to copy, keeping their repo-relative paths
                     ) -> Path:
    "Copy `dirs` under `dest` with their paths relative to the repo, so `nbs/x.ipynb` opens as `nbs/x.ipynb`."
    skip = shutil.ignore_patterns('.ipynb_checkpoints', '__pycache__', '_proc', '.last_checked')
    for d in map(Path, dirs):
        if d.exists(): shutil.copytree(d, dest/d.relative_to(REPO), ignore=skip)
    return dest

class LabServer:
    "A real `jupyter lab` on a free localhost port, isolated in temp dirs; `start()`, then `stop()`."
    def __init__(self, root_dir:Path|str, # what the server serves (tests open paths relative to it)
                 tmp:Path|str|None=None, # config, runtime, settings and the log; default: a temp dir removed by stop()
                 startup_timeout:float=60, # seconds to wait for /api/status
                ):
        self.root_dir, self.startup_timeout = Path(root_dir), startup_timeout
        self._own_tmp = tmp is None
        self.tmp = Path(tmp or tempfile.mkdtemp(prefix='gmw-lab-'))
        self.port, self.token, self.proc = free_port(), secrets.token_hex(16), None
        self.log_path = self.tmp/'server.log'

    @property
    def url(self) -> str: return f'http://127.0.0.1:{self.port}'

    def lab_url(self, path:str) -> str:
        """URL that opens the notebook at `path` (relative to root_dir) in Lab, alone: `reset` drops the workspace, so
        tabs
        that an earlier test left open (and their widget outputs) are not restored into this page."""
        return f'{self.url}/lab/tree/{quote(path)}?reset&token={self.token}'

    def _write_settings(self) -> Path:
        "Write LAB_SETTINGS as user settings files; return the settings dir."
        sdir = self.tmp/'settings'
        for pid, vals in LAB_SETTINGS.items():
            pkg, plugin = pid.split(':')
            f = sdir/pkg/f'{plugin}.jupyterlab-settings'
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(vals))
        return sdir

    def _env(self) -> dict:
        "Environment for the server: its own config, runtime, data and IPython dirs."
        env = dict(os.environ)
        for var, sub in [('JUPYTER_CONFIG_DIR', 'config'), ('JUPYTER_RUNTIME_DIR', 'runtime'),
                         ('JUPYTER_DATA_DIR', 'data'), ('IPYTHONDIR', 'ipython')]:
            (self.tmp/sub).mkdir(parents=True, exist_ok=True)
            env[var] = str(self.tmp/sub)
        (self.tmp/'config'/'jupyter_server_config.json').write_text(json.dumps(SERVER_CONFIG))
        env.pop('JUPYTER_PATH', None)
        return env

    def command(self) -> list[str]:
        "The `jupyter lab` command line (the venv's python, so kernels use the venv too)."
        return [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--port={self.port}',
                '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}',
                f'--ServerApp.root_dir={self.root_dir}', f'--LabApp.user_settings_dir={self._write_settings()}',
                f'--LabApp.workspaces_dir={self.tmp/"workspaces"}', '--expose-app-in-browser',
                '--ServerApp.terminals_enabled=False'] + (['--allow-root'] if os.geteuid() == 0 else [])

    def start(self) -> LabServer:
        "Launch the server and wait until `/api/status` answers."
        env, cmd = self._env(), self.command()
        self._log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f'jupyter lab exited with code {self.proc.returncode}; log:\n{self.log_tail()}')
            try:
                self.api('GET', 'status')
                return self
            except (urllib.error.URLError, ConnectionError, TimeoutError): time.sleep(0.25)
        self.stop()
        raise TimeoutError(f'jupyter lab on port {self.port}: no /api/status after {self.startup_timeout} s; '
                           f'log:\n{self.log_tail()}')

    def api(self, method:str, # GET, POST, DELETE, ...
            path:str, # under /api/, e.g. 'sessions'
            body=None, # JSON-able request body
            timeout:float=5,
            prefix:str='/api/', # '/lab/api/' for Lab's own endpoints
           ):
        "Call the server's REST API with the token; the decoded JSON answer (None when empty)."
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f'{self.url}{prefix}{path}', data=data, method=method,
                                     headers={'Authorization': f'token {self.token}',
                                              'Content-Type': 'application/json'})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            text = r.read()
        return json.loads(text) if text.strip() else None

    def lab_settings(self, plugin_id:str, # e.g. '@jupyterlab/notebook-extension:tracker'
                    ) -> dict:
        "The user settings Lab read for `plugin_id` (empty when they fail the plugin's schema)."
        return self.api('GET', f'settings/{plugin_id}', prefix='/lab/api/')['settings']

    def exists(self, path:str) -> bool:
        "Whether the server has a file at `path` (relative to root_dir)."
        try: return self.api('GET', f'contents/{quote(path)}?content=0') is not None
        except urllib.error.HTTPError as e:
            if e.code == 404: return False
            raise

    def shutdown_kernels(self):
        "Delete every session and kernel (between tests)."
        for s in self.api('GET', 'sessions'): self.api('DELETE', f'sessions/{s["id"]}')
        for k in self.api('GET', 'kernels'): self.api('DELETE', f'kernels/{k["id"]}')

    def log_tail(self, n:int=4000) -> str:
        "The last `n` characters of the server log."
        return self.log_path.read_text(errors='replace')[-n:] if self.log_path.exists() else ''

    def stop(self, timeout:float=10):
        "POST /api/shutdown, then end the server's process group by its id if it is still there."
        if self.proc is None: return
        if self.proc.poll() is None:
            try: self.api('POST', 'shutdown')
            except (OSError, urllib.error.URLError): pass  # not answering: the signals below end it
            try: self.proc.wait(timeout)
            except subprocess.TimeoutExpired: pass
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the server and the kernels it started share its group
            try: os.killpg(self.proc.pid, sig)
            except ProcessLookupError: break
            time.sleep(0.5)
        self.proc.wait()
        self._log.close()
        self.proc = None
        if self._own_tmp: shutil.rmtree(self.tmp, ignore_errors=True)

# ---------------------------------------------------------------- the browser

def launch_chromium(playwright, # the object `sync_playwright().start()` returns
                    headless:bool=True):
    "Debian's chromium through Playwright, with CHROMIUM_ARGS."
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, args=CHROMIUM_ARGS)

def is_local(url:str) -> bool:
    "Whether `url` stays on this machine (localhost, or a data:/blob: URL)."
    parts = urlsplit(url)
    return parts.scheme in ('data', 'blob', 'about', 'chrome-error') or parts.hostname in LOCAL_HOSTS

def has_flag(source:str, # a cell's source
             flags, # nbdev test flags, e.g. ('slow',)
            ) -> bool:
    "Whether `source` has an nbdev directive line `#| <flag>` for one of `flags`."
    return any(re.fullmatch(r'#\s*\|\s*(\w+)\s*', l.strip()) and l.split('|', 1)[1].strip() in flags
               for l in source.splitlines())

# JS: the NotebookPanel whose document is at `path` (a function of the path), via window.jupyterapp.
_PANEL = """(path) => { if (!window.jupyterapp?.shell) return null;  // Lab still loading
  for (const w of window.jupyterapp.shell.widgets('main'))
    if (w.context && w.context.path === path && w.content && w.content.model) return w;
  return null; }"""

def _js(body:str) -> str:
    "A page function of `arg` (a dict with `path`) that has `panel` and `nb` (the Notebook) in scope."
    return f"""(arg) => {{ const panel = ({_PANEL})(arg.path); if (!panel) return null;
  const nb = panel.content; {body} }}"""

_STATE = _js("""const prompts = nb.widgets.map(c => c.node.querySelector('.jp-InputArea-prompt')?.textContent || '');
  const kernel = panel.sessionContext.session?.kernel;
  return {ready: panel.context.isReady && !!kernel, kernel: kernel ? kernel.status : null,
          running: prompts.flatMap((p, i) => p.includes('*') ? [i] : []), ncells: nb.widgets.length,
          pending: window.__gmwPending || 0, command_errors: window.__gmwErrors || [],
          windowing: nb.notebookConfig.windowingMode};""")

_RUN = _js("""window.__gmwPending = (window.__gmwPending || 0) + 1;
  window.jupyterapp.shell.activateById(panel.id);
  if (arg.source != null) {
    nb.model.sharedModel.insertCell(nb.model.cells.length, {cell_type: 'code', source: arg.source});
    nb.activeCellIndex = nb.model.cells.length - 1; nb.deselectAll();
  }
  if (arg.only != null) {  // select just these cells (Run Selected Cells runs them in order)
    nb.activeCellIndex = arg.only[0]; nb.deselectAll();
    for (const i of arg.only) nb.select(nb.widgets[i]);
  }
  window.jupyterapp.commands.execute(arg.command)
    .catch(e => { (window.__gmwErrors = window.__gmwErrors || []).push(String(e)); })
    .finally(() => { window.__gmwPending -= 1; });
  return nb.model.cells.length - 1;""")

_OUTPUTS = _js("const c = nb.widgets[arg.i]; return c && c.model.outputs ? c.model.outputs.toJSON() : [];")
_SOURCES = _js("return nb.widgets.map(c => [c.model.type, c.model.sharedModel.getSource()]);")
_ALL_OUTPUTS = _js("return nb.widgets.map(c => c.model.outputs ? c.model.outputs.toJSON() : []);")

class LabPage:
    "One browser page on a LabServer: open a notebook, run it, wait until idle, read outputs, find elements."
    def __init__(self, page, # a Playwright sync Page
                 server:LabServer, # the server it talks to
                 artifacts:Path=ARTIFACTS, # where screenshots go
                ):
        self.page, self.server, self.artifacts = page, server, Path(artifacts)
        self.path, self.panel_id, self.console_errors, self.external_requests = None, None, [], []
        page.on('console', self._on_console)
        page.on('pageerror', lambda e: self.console_errors.append(f'pageerror: {e}'))
        page.on('crash', lambda _: self.console_errors.append('the page crashed'))
        page.on('websocket', lambda ws: self._on_url(ws.url))
        page.context.on('request', lambda r: self._on_url(r.url))

    def _on_console(self, msg):
        if msg.type == 'error': self.console_errors.append(f'console.error: {msg.text} ({msg.location.get("url", "")})')

    def _on_url(self, url:str):
        if not is_local(url): self.external_requests.append(url)

    # -- opening and running
    def open(self, path:str, # notebook path relative to the server's root_dir, e.g. 'nbs/quickstart.ipynb'
             timeout:float=60, # seconds for Lab to load and the kernel to be idle
            ) -> LabPage:
        "Load Lab on the notebook at `path` (left sidebar collapsed) and wait until its kernel is idle."
        if not self.server.exists(path):
            raise FileNotFoundError(f'{path!r} is not under the server root {self.server.root_dir}')
        self.path = path
        self.page.goto(self.server.lab_url(path))
        self.page.wait_for_function(_js("return panel.context.isReady && panel.sessionContext.session?.kernel?.status "
                                        "=== 'idle';"),
                                    arg={'path': path}, timeout=timeout*1000, polling=200)
        self.panel_id = self.page.evaluate(_js('window.jupyterapp.shell.collapseLeft(); return panel.id;'),
                                           {'path': path})
        return self

    def _run(self, command:str, source:str|None=None, only:list[int]|None=None) -> int:
        return self.page.evaluate(_RUN, {'path': self.path, 'command': command, 'source': source, 'only': only})

    def run_all(self, skip_flags:tuple[str, ...]=(), # skip code cells with these nbdev flags, e.g. ('slow',)
               ) -> LabPage:
        "Run > Run All Cells, or every code cell without a `#| <flag>` line (returns at once; follow with `wait_idle`)."
        if not skip_flags: self._run('notebook:run-all-cells')
        else:
            only = [i for i, (kind, src) in enumerate(self.sources()) if kind == 'code' and not has_flag(src,
                                                                                                         skip_flags)]
            if only: self._run('notebook:run-cell', only=only)
        return self

    def run_cells(self, cells:list[int], # cell indices, run in this order (markdown cells count, and render)
                 ) -> LabPage:
        "Run just these cells, as Run Selected Cells does (returns at once; follow with `wait_idle`)."
        self._run('notebook:run-cell', only=list(cells))
        return self

    def run_cell_source(self, code:str, # Python source of a new cell appended at the end
                        timeout:float=60, # seconds to wait for it
                       ) -> list[dict]:
        "Append a code cell with `code`, run it, wait until idle and return its outputs (nbformat dicts)."
        i = self._run('notebook:run-cell', code)
        self.wait_idle(timeout)
        return self.cell_outputs(i)

    def state(self) -> dict:
        "Kernel status, indices of cells showing `[*]`, number of cells, commands pending or failed, windowing mode."
        st = self.page.evaluate(_STATE, {'path': self.path})
        if st is None: raise LookupError(f'no open notebook at {self.path!r}: call open(path) first')
        return st

    def wait_idle(self, timeout:float=60, # seconds
                  settle:float=0.3, # the idle state must hold this long
                 ) -> LabPage:
        "Wait until our commands finished, no cell shows `[*]` and the kernel is idle (held for `settle` s)."
        deadline, since = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            st = self.state()
            if st['command_errors']: raise RuntimeError(f'{self.path}: a Lab command failed: {st["command_errors"]}')
            if st['kernel'] == 'idle' and not st['running'] and not st['pending']:
                since = since or time.monotonic()
                if time.monotonic() - since >= settle: return self
            else: since = None
            time.sleep(0.1)
        raise TimeoutError(f'{self.path}: not idle after {timeout} s (kernel {st["kernel"]!r}, cells running '
                           f'{st["running"]}, '
                           f'{st["pending"]} commands pending)')

    # -- reading
    def cell_outputs(self, i:int, # cell index (0-based, markdown cells count)
                    ) -> list[dict]:
        "The outputs of cell `i` as nbformat dicts, read from Lab's model."
        return self.page.evaluate(_OUTPUTS, {'path': self.path, 'i': i})

    def sources(self) -> list[tuple[str, str]]:
        "`(cell type, source)` of every cell."
        return [tuple(c) for c in self.page.evaluate(_SOURCES, {'path': self.path})]

    def all_outputs(self) -> list[list[dict]]:
        "The outputs of every cell (empty lists for markdown cells)."
        return self.page.evaluate(_ALL_OUTPUTS, {'path': self.path})

    def failed_cells(self) -> list[tuple[int, str, str]]:
        "`(cell index, ename, evalue)` for every error output in the notebook."
        return [(i, o.get('ename', ''), o.get('evalue', '')) for i, outs in enumerate(self.all_outputs())
                for o in outs if o.get('output_type') == 'error']

    # -- finding elements (Playwright locators; chain .locator(), .get_by_role(), .get_by_text() on them)
    @property
    def notebook(self):
        "Locator of the open notebook panel."
        if self.panel_id is None: raise LookupError('no notebook open: call open(path) first')
        return self.page.locator(f'[id="{self.panel_id}"]')

    def cell(self, i:int):
        "Locator of cell `i`."
        return self.notebook.locator('.jp-Notebook-cell').nth(i)

    def output(self, i:int):
        "Locator of the output area of cell `i`: look for a widget's elements inside it."
        return self.cell(i).locator('.jp-OutputArea')

    def charts(self, i:int|None=None):
        "Locator of rendered Vega views (`svg.marks` or `canvas.marks`), in cell `i` or anywhere in the notebook."
        return (self.notebook if i is None else self.output(i)).locator('svg.marks, canvas.marks')

    def chart_cells(self) -> list[int]:
        "Indices of the cells whose output shows a rendered Vega view."
        return [i for i in range(self.state()['ncells']) if self.charts(i).count()]

    def screenshot(self, name:str, # file name without extension
                   locator=None, # an element to shoot instead of the whole page
                  ) -> Path:
        "Save a PNG into the artifacts folder and return its path."
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts/f'{name}.png'
        (locator or self.page).screenshot(path=str(path))
        return path


# ---------------------------------------------------------------- shared by the widget scenarios

# JS: rows on display in the first gmwidgets chart inside element `el` (-1 before its Vega view exists).
CHART_ROWS = """(el) => { const c = el.querySelector('.gmwidgets-chart'); const s = c && c.__gmwidgets;
  return s && s.view ? s.view.data('points').length : -1; }"""

def wait_until(cond, timeout:float=20, what:str='condition'):
    "Poll `cond()` every 0.1 s until it is true; TimeoutError naming `what` after `timeout` s."
    until(cond, timeout, what, every=0.1)

def kernel_print(page:LabPage, code:str) -> str:
    "Run `print(code)` in a new cell of `page` and return what it printed."
    return ''.join(o.get('text', '') for o in page.run_cell_source(f'print({code})')).strip()

def new_notebook(server:LabServer, path:str):
    "Create an empty python3 notebook at `path` on `server` (through the contents API)."
    server.api('PUT', f'contents/{path}', {'type': 'notebook', 'format': 'json', 'content': {
        'cells': [], 'nbformat': 4, 'nbformat_minor': 5,
        'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}}}})

def page_fixture(request, chromium, server:LabServer):
    """Body of a page fixture (`yield from page_fixture(...)`): a `LabPage` in a fresh browser context; on failure a
    screenshot goes to tests/artifacts/FAILED-<test>.png; a passing test fails if the page asked any other host for
    anything."""
    import re, pytest
    context = chromium.new_context(viewport={'width': 1400, 'height': 1000})
    page = LabPage(context.new_page(), server)
    yield page
    rep = getattr(request.node, 'rep_call', None)
    if rep is not None and rep.failed:
        name = re.sub(r'[^\w.-]+', '_', request.node.name)
        try: print(f'screenshot: {page.screenshot(f"FAILED-{name}")}')
        except Exception as e: print(f'no screenshot: {e}')
        print(f'server log tail:\n{server.log_tail(2000)}')
    context.close()
    server.shutdown_kernels()
    if page.external_requests and rep is not None and rep.passed:
        pytest.fail(f'requests to hosts other than localhost: {page.external_requests}')

def chart_rows(page:LabPage, i:int) -> int:
    "Rows on display in the first gmwidgets chart of cell `i` of `page` (-1 before its Vega view exists)."
    return page.page.evaluate(CHART_ROWS, page.output(i).element_handle())

def save_with_widget_state(page:LabPage, timeout:float=20) -> dict:
    """Save the open notebook (File > Save, in Lab or Notebook 7) and wait until the file on the server holds our widget
    state; return the saved notebook (nbformat JSON)."""
    page.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lambda: page.server.api('GET', f'contents/{quote(page.path)}')['content']
    wait_until(lambda: 'gmwidgets' in str(saved().get('metadata', {}).get('widgets', '')), timeout,
               what=f'{page.path}: widget state saved in the notebook')
    return saved()

def put_notebook(server:LabServer, path:str, content:dict):
    "Write the notebook `content` (nbformat JSON) at `path` on `server` (through the contents API)."
    server.api('PUT', f'contents/{quote(path)}', {'type': 'notebook', 'format': 'json', 'content': content})

def reopen_shows_chart(page:LabPage, path:str, i:int, rows:int, timeout:float=30):
    """Open `path` in `page` afresh (no cell run) and wait until cell `i` draws the saved chart with `rows` rows: the
    chart comes from the widget state saved in the notebook, not from a kernel."""
    page.open(path)
    page.charts(i).first.wait_for(timeout=timeout*1000)
    wait_until(lambda: chart_rows(page, i) == rows, timeout, what=f'{path}: the saved chart in cell {i} shows {rows} '
                                                                  'rows')

def drag_slider(page:LabPage, handle, # a slider handle's locator: `out.locator('.widget-slider .noUi-handle').first`
                dx:float, # pixels to drag to the right (negative: left)
               ):
    "Drag a slider's handle by `dx` pixels with the mouse, as a person would (press, move in steps, release)."
    box = handle.bounding_box()
    x, y = box['x'] + box['width'] / 2, box['y'] + box['height'] / 2
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x + dx, y, steps=8)
    page.page.mouse.up()
