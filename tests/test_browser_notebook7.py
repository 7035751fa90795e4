"""In Notebook 7 (`jupyter notebook`, package `notebook`): with `%load_ext gmwidgets` a `Run` displays as its
dashboard, the chart grows while it trains in the background, its Stop button stops the run, and `%gm_runs` shows it
stopped. The Lab harness (tests/jupyter.py) is reused: only the command line and the notebook URL differ."""
import shutil, sys, tempfile, time
from pathlib import Path
from urllib.parse import quote
import pytest
import jupyter as harness  # tests/jupyter.py (conftest puts tests/ first on sys.path)
from jupyter import CHART_ROWS, kernel_print, new_notebook, wait_until

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
    "A page on the Notebook 7 server (same teardown as the `lab` fixture)."
    yield from harness.page_fixture(request, chromium, nb7_server)

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







def test_dashboard_renders_and_stops_in_notebook7(nb7):
    new_notebook(nb7.server, NOTEBOOK)
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
