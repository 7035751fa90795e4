"""In Notebook 7 (`jupyter notebook`, package `notebook`): with `%load_ext gmwidgets` a `Run` displays as its
dashboard, the chart grows while it trains in the background, its Stop button stops the run, and `%gm_runs` shows it
stopped. The Lab harness (tests/jupyter.py) is reused: only the command line and the notebook URL differ."""
import re, shutil, sys, tempfile, time
from pathlib import Path
from urllib.parse import quote
import pytest
import jupyter as harness  # tests/jupyter.py (conftest puts tests/ first on sys.path)

pytestmark = pytest.mark.browser
NOTEBOOK = 'tests/notebooks/notebook7_dashboard.ipynb'  # created empty on the server by the test


class NotebookServer(harness.LabServer):
    "A real `jupyter notebook` (Notebook 7) on a free localhost port, isolated like `LabServer`."
    def lab_url(self, path:str) -> str: return f'{self.url}/notebooks/{quote(path)}?token={self.token}'

    def command(self) -> list[str]:
        return [sys.executable, '-m', 'notebook', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--port={self.port}',
                '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}',
                f'--ServerApp.root_dir={self.root_dir}', f'--JupyterNotebookApp.user_settings_dir={self._write_settings()}',
                f'--JupyterNotebookApp.workspaces_dir={self.tmp/"workspaces"}', '--expose-app-in-browser',
                '--ServerApp.terminals_enabled=False'] + (['--allow-root'] if harness.os.geteuid() == 0 else [])


@pytest.fixture(scope='module')
def nb7_server():
    pytest.importorskip('notebook', reason='Notebook 7 is not installed: pip install notebook')
    tmp = Path(tempfile.mkdtemp(prefix='gmw-nb7-'))
    (tmp/'root'/'tests'/'notebooks').mkdir(parents=True)
    server = NotebookServer(tmp/'root', tmp=tmp/'server').start()
    yield server
    server.stop()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def nb7(request, chromium, nb7_server):
    context = chromium.new_context(viewport={'width': 1400, 'height': 1000})
    page = harness.LabPage(context.new_page(), nb7_server)
    yield page
    rep = getattr(request.node, 'rep_call', None)
    if rep is not None and rep.failed:
        name = re.sub(r'[^\w.-]+', '_', request.node.name)
        try: print(f'screenshot: {page.screenshot(f"FAILED-{name}")}')
        except Exception as e: print(f'no screenshot: {e}')
        print(f'server log tail:\n{nb7_server.log_tail(2000)}')
    context.close()
    nb7_server.shutdown_kernels()
    if page.external_requests and rep is not None and rep.passed:
        pytest.fail(f'requests to hosts other than localhost: {page.external_requests}')


SETUP = '''
import time, torch
from torch import nn
from gmwidgets.train import Run
torch.set_num_threads(1)
%load_ext gmwidgets

class Toy(nn.Module):
    def __init__(self): super().__init__(); self.w = nn.Parameter(torch.zeros(1))
    def loss(self, batch):
        time.sleep(0.02)
        return {'loss': (batch.mean() - self.w).pow(2).sum()}

class Ones:
    def n(self, split): return 64
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None): return iter(torch.ones(64, 4, 1).split(batch_size))
'''

SHOW = '''
run = Run(Toy(), Ones(), lr=0.05, batch_size=8, max_steps=100_000, name='nb7')
run   # displayed by the extension: the run's dashboard
'''

# Notebook 7.6.5 itself throws this on every page load, with or without user settings and before any of our code
# runs (its shortcuts plugin reads `plugins[id].schema` of a plugin it has not loaded): not ours, so not counted.
NOTEBOOK_OWN_ERRORS = ("pageerror: Cannot read properties of undefined (reading 'schema')",)

CHART_ROWS = '''(el) => { const c = el.querySelector('.gmwidgets-chart'); const s = c && c.__gmwidgets;
  return s && s.view ? s.view.data('points').length : -1; }'''


def wait_until(cond, timeout=20, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond(): return
        time.sleep(0.1)
    raise TimeoutError(f'{what}: not met after {timeout} s')


def kernel_print(page, code) -> str:
    return ''.join(o.get('text', '') for o in page.run_cell_source(f'print({code})')).strip()


def test_dashboard_renders_and_stops_in_notebook7(nb7):
    nb7.server.api('PUT', f'contents/{NOTEBOOK}', {'type': 'notebook', 'format': 'json', 'content': {
        'cells': [], 'nbformat': 4, 'nbformat_minor': 5,
        'metadata': {'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}}}})
    nb7.open(NOTEBOOK)
    assert nb7.page.evaluate("() => window.jupyterapp.name") == 'Jupyter Notebook'  # Notebook 7, not Lab
    nb7.run_cell_source(SETUP)
    i = nb7.state()['ncells']
    nb7.run_cell_source(SHOW)
    assert nb7.failed_cells() == []
    out = nb7.output(i)
    out.locator('.gmwidgets-dashboard').wait_for(timeout=20_000)
    out.get_by_role('button', name='Start').click()
    nb7.charts(i).first.wait_for(timeout=30_000)  # the bundled Vega renders here too (no CDN)
    assert kernel_print(nb7, 'run.state') == 'running'  # the kernel answers while the run trains
    rows = lambda: nb7.page.evaluate(CHART_ROWS, out.element_handle())
    wait_until(lambda: rows() > 5, what='points stream into the chart')
    r0 = rows()
    wait_until(lambda: rows() > r0, what='the chart keeps growing')
    out.get_by_role('button', name='Stop').click()
    out.get_by_text('stopped').wait_for(timeout=10_000)
    assert kernel_print(nb7, 'run.state') == 'stopped'
    assert out.get_by_role('button', name='Stop').is_disabled()
    j = nb7.state()['ncells']
    nb7.run_cell_source('%gm_runs')
    table = nb7.output(j).locator('.gmwidgets-runs')
    table.get_by_text('nb7').wait_for(timeout=10_000)
    assert table.get_by_text('stopped').count() == 1 and table.get_by_role('button', name='Stop').is_disabled()
    ours = [e for e in nb7.console_errors if e not in NOTEBOOK_OWN_ERRORS]
    assert ours == [], ours
    nb7.screenshot('notebook7_dashboard_stopped', out)
