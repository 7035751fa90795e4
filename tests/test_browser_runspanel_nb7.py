"""The Runs panel in Notebook 7 (which shares JupyterLab's extension system): in a notebook's page the panel opens
in the left area, lists the notebook's training run, opens its chart (the LiveChart's view, in the right area), and
its Stop button stops it (Notebook 7 has no status bar)."""
import pytest
from harness import new_notebook
from test_browser_notebook7 import nb7, nb7_server  # noqa: F401 (fixtures)
from test_browser_runspanel import TRAIN, chart_grows, panel_rows, row, wait_rows

pytestmark = pytest.mark.browser


def test_runs_panel_in_notebook7(nb7, nb7_server):  # noqa: F811
    new_notebook(nb7_server, 'runs_nb7.ipynb')
    nb7.open('runs_nb7.ipynb')
    nb7.run_cell_source(TRAIN.format(name='seven'))
    nb7.page.evaluate("window.jupyterapp.commands.execute('gmwidgets:open-runs')")
    rows = wait_rows(nb7, lambda r: r.get('seven', {}).get('state') == 'running', 'the run in the panel')
    assert rows['seven']['source'] == 'runs_nb7.ipynb'
    # the notebook keeps the main area: the chart opens on the right
    row(nb7, 'seven').locator('.gmw-run-chart').click()
    assert 'loss' in chart_grows(nb7, rows['seven']['id'])['series']
    row(nb7, 'seven').locator('.gmw-run-stop').click()
    wait_rows(nb7, lambda r: r['seven']['state'] == 'stopped', 'the run stopped')
    assert nb7.run_cell_source('print(run.state)')[0]['text'].strip() == 'stopped'
    assert 'seven' in panel_rows(nb7)
    nb7_server.shutdown_kernels()
