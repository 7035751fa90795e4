"""In Notebook 7 (`jupyter notebook`, package `notebook`): with `%load_ext gmwidgets` a `Run` displays as its
dashboard, the chart grows while it trains in the background, its Stop button stops the run, and `%gm_runs` shows it
stopped; the `SamplerWidget` and the `LatentExplorer` render and answer their controls; a notebook saved from Notebook 7
with a finished dashboard reopens in JupyterLab showing the final chart. The Lab harness (tests/harness.py) is reused:
only the command line and the notebook URL differ."""
import json, re, shutil, sys, tempfile, time
from pathlib import Path
from urllib.parse import quote
import pytest
import harness  # tests/harness.py (conftest puts tests/ first on sys.path)
from harness import (CHART_ROWS, chart_rows, drag_slider, kernel_print, new_notebook, put_notebook, reopen_shows_chart,
                     save_with_widget_state, wait_until)
from test_browser_sampler import SETUP as SAMPLER, shown_samples  # the same widgets as the Lab tests
from test_browser_latent import SETUP as LATENT, current_text

pytestmark = pytest.mark.browser
NOTEBOOK = 'tests/notebooks/notebook7_dashboard.ipynb'  # created empty on the server by the test


class NotebookServer(harness.LabServer):
    "A real `jupyter notebook` (Notebook 7) on a free localhost port, isolated like `LabServer`."
    def lab_url(self, path:str) -> str: return f'{self.url}/notebooks/{quote(path)}?token={self.token}'

    def command(self) -> list[str]:
        # The settings go to LabApp too: the jupyterlab server extension, loaded beside Notebook 7, answers
        # /lab/api/settings, so without it Notebook 7 reads none of LAB_SETTINGS (no widget state saved, for one).
        sdir, wdir = self._write_settings(), self.tmp/'workspaces'
        return [sys.executable, '-m', 'notebook', '--no-browser', '--ServerApp.ip=127.0.0.1', f'--port={self.port}',
                '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}',
                f'--ServerApp.root_dir={self.root_dir}', f'--JupyterNotebookApp.user_settings_dir={sdir}',
                f'--JupyterNotebookApp.workspaces_dir={wdir}', f'--LabApp.user_settings_dir={sdir}',
                f'--LabApp.workspaces_dir={wdir}', '--expose-app-in-browser',
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
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter(torch.ones(64, 4, 1).split(batch_size))
'''

SHOW = '''
run = Run(Toy(), Ones(), lr=0.05, batch_size=8, max_steps=100_000, name='nb7')
run   # displayed by the extension: the run's dashboard
'''

# Notebook 7.6.5 itself throws this on every page load, with or without user settings and before any of our code
# runs (its shortcuts plugin reads `plugins[id].schema` of a plugin it has not loaded): not ours, so not counted.
NOTEBOOK_OWN_ERRORS = ("pageerror: Cannot read properties of undefined (reading 'schema')",)

def ours(page) -> list[str]:
    "The page's console errors that are not Notebook 7's own."
    return [e for e in page.console_errors if e not in NOTEBOOK_OWN_ERRORS]


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
    assert ours(nb7) == [], ours(nb7)
    nb7.screenshot('notebook7_dashboard_stopped', out)


def test_sampler_slider_changes_samples_in_notebook7(nb7):
    path = 'tests/notebooks/notebook7_sampler.ipynb'
    new_notebook(nb7.server, path)
    nb7.open(path)
    i = nb7.state()['ncells']
    nb7.run_cell_source(SAMPLER)
    out = nb7.output(i)
    out.locator('.gmw-sample').first.wait_for(timeout=20_000)
    before = shown_samples(out)
    assert len(before) == 6 and all(t.startswith('<b>') for t in before), before  # escaped here too
    drag_slider(nb7, out.locator('.widget-slider .noUi-handle').first, 400)  # the temperature slider, to the right
    nb7.page.wait_for_function('''([el, before]) => {
        const now = [...el.querySelectorAll('.gmw-sample')].map(n => n.innerText);
        return now.length === before.length && now.some((t, k) => t !== before[k]); }''',
        arg=[out.element_handle(), before], timeout=10_000, polling=50)
    res = nb7.run_cell_source('import json, time; time.sleep(3 * sampler.debounce)\n'
                              'print(json.dumps({"t": sampler.temperature.value, "samples": sampler.samples}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['t'] > 0.5, f"the drag did not move the slider: temperature {kernel['t']}"
    wait_until(lambda: shown_samples(out) == kernel['samples'], timeout=5, what="the page shows the kernel's samples")
    assert kernel['samples'] != before
    assert nb7.failed_cells() == [] and ours(nb7) == [], ours(nb7)
    nb7.screenshot('notebook7_sampler_after_drag', out)


def test_latent_explorer_slider_and_map_click_in_notebook7(nb7):
    path = 'tests/notebooks/notebook7_latent.ipynb'
    new_notebook(nb7.server, path)
    nb7.open(path)
    i = nb7.state()['ncells']
    nb7.run_cell_source(LATENT)
    out = nb7.output(i)
    out.locator('.gmw-latent-current .gmw-latent-text').wait_for(timeout=20_000)
    before = current_text(out)
    drag_slider(nb7, out.locator('.widget-slider .noUi-handle').first, 600)  # the first slider is t: to the right end
    nb7.page.wait_for_function('([el, before]) => { const n = el.querySelector(".gmw-latent-current"); return n && '
                               'n.innerText !== before; }',
                               arg=[out.element_handle(), before], timeout=10_000, polling=50)
    nb7.wait_idle()
    res = nb7.run_cell_source('import json; print(json.dumps({"t": ex.t.value, "current": ex.current}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['t'] > 0.5, f"the drag did not move the slider: t={kernel['t']}"
    wait_until(lambda: current_text(out).strip() == kernel['current'][0].strip(), timeout=5,
               what="the page shows the kernel's decoded text")

    out.locator('.gmw-latent-map svg.marks').wait_for(timeout=20_000)  # the latent map, drawn by our bundled Vega
    dots = out.locator('.gmw-latent-map g.layer_0_marks path')
    assert dots.count() == 30
    dots.nth(0).click(force=True)
    out.locator('.gmw-latent-picked').get_by_text('map point #').wait_for(timeout=10_000)
    picked = out.locator('.gmw-latent-picked').inner_text()
    idx = int(re.search(r'map point #(\d+)', picked).group(1))
    res = nb7.run_cell_source(f'print(json.dumps({{"orig": data.texts("train")[{idx}], "dec": ex.picked_output}}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['orig'] in picked and kernel['dec'][0].strip() in picked
    assert nb7.failed_cells() == [] and ours(nb7) == [], ours(nb7)
    nb7.screenshot('notebook7_latent_after_click', out)


FINISHING = '''
from gmwidgets.dashboard import TrainingDashboard
done = Run(Toy(), Ones(), lr=0.05, batch_size=8, max_steps=60, name='nb7-done')
dash = TrainingDashboard(done)
dash
'''

def test_saved_in_notebook7_reopens_in_lab_with_final_chart(nb7, lab):
    path = 'tests/notebooks/notebook7_saved.ipynb'
    new_notebook(nb7.server, path)
    nb7.open(path)
    assert nb7.state()['windowing'] == 'none'  # Notebook 7 read our settings (saving widget state is one of them)
    nb7.run_cell_source(SETUP)
    i = nb7.state()['ncells']
    nb7.run_cell_source(FINISHING)
    out = nb7.output(i)
    out.get_by_role('button', name='Start').click()
    out.get_by_text('finished').wait_for(timeout=30_000)
    wait_until(lambda: chart_rows(nb7, i) > 0, what='the finished chart is drawn')
    time.sleep(0.5)  # the last flush lands
    final_rows = chart_rows(nb7, i)
    assert final_rows == int(kernel_print(nb7, 'len(dash.chart.display_rows())'))  # all the kernel has, on the page
    saved = save_with_widget_state(nb7)
    assert ours(nb7) == [], ours(nb7)
    put_notebook(lab.server, path, saved)  # the same file, opened by another person in JupyterLab
    reopen_shows_chart(lab, path, i, final_rows)
    assert lab.state()['ncells'] == len(saved['cells']) and lab.failed_cells() == []
    assert lab.page.evaluate("() => window.jupyterapp.name") == 'JupyterLab'
    assert lab.console_errors == [], lab.console_errors
    lab.screenshot('notebook7_saved_reopened_in_lab', lab.output(i))
    lab.server.api('DELETE', f'contents/{path}')
