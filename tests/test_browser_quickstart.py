"""Browser tier: open a notebook in a real JupyterLab (headless Chromium), run all cells, and check what a
person would see: a rendered Vega chart, no failed cell, no browser console error, no request off this machine."""
import pytest
from harness import NBS, LAB_SETTINGS, is_local

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

def run_and_check(lab, path:str, timeout:float=120):
    "Open `path`, run all cells but `#| slow` ones, wait until idle; assert no failed cell, a chart, a clean console."
    lab.open(path).run_all(skip_flags=('slow',)).wait_idle(timeout)
    assert lab.failed_cells() == []
    lab.charts().first.wait_for(state='visible', timeout=20_000)
    assert lab.charts().first.bounding_box()['width'] > 100
    assert lab.console_errors == []
    assert lab.external_requests == []

@pytest.mark.skipif(not (NBS/'quickstart.ipynb').exists(), reason='nbs/quickstart.ipynb does not exist yet')
def test_quickstart(lab):
    "nbs/quickstart.ipynb runs in Lab (but its `#| slow` cells, as in nbdev-test) and shows its charts offline."
    run_and_check(lab, 'nbs/quickstart.ipynb')
    charts = lab.chart_cells()
    assert len(charts) >= 2, f'charts only in cells {charts}: expected the data chart and the dashboard'
    for i in charts: lab.screenshot(f'quickstart_cell{i}', lab.output(i))
    lab.screenshot('quickstart')

def test_harness_demo(lab):
    "The harness on its demo notebook: chart, slider drives the HTML label, extra cells, external requests seen."
    with pytest.raises(FileNotFoundError, match='nope.ipynb'): lab.open('nbs/nope.ipynb')
    run_and_check(lab, 'tests/notebooks/harness_demo.ipynb', timeout=60)
    lab.screenshot('harness_demo')
    assert lab.state()['windowing'] == 'none'  # every cell is in the DOM
    assert lab.state()['ncells'] == 5  # run_all added no cell
    assert lab.cell(4).locator('.jp-InputArea-prompt').inner_text().strip() == '[ ]:'  # the `#| slow` cell did not run
    handle = lab.output(1).locator('.noUi-handle')
    handle.focus()
    handle.press('ArrowRight')
    lab.output(1).get_by_text('n = 4').wait_for(timeout=10_000)
    assert lab.run_cell_source('print(slider.value * 10)') == [{'name': 'stdout', 'output_type': 'stream',
                                                                'text': '40\n'}]
    assert lab.run_cell_source('1/0')[0]['ename'] == 'ZeroDivisionError'
    assert lab.failed_cells()[-1][1] == 'ZeroDivisionError'
    lab.run_cell_source("from IPython.display import HTML; HTML('<img src=\"http://cdn.example.com/x.png\">')")
    lab.page.wait_for_timeout(500)
    assert set(lab.external_requests) == {'http://cdn.example.com/x.png'}
    lab.external_requests.clear()

def test_lab_settings_applied(lab_server):
    "The server runs with our user settings: every cell in the DOM, no news, no update check, no autosave."
    for plugin_id, values in LAB_SETTINGS.items():
        settings = lab_server.lab_settings(plugin_id)
        assert {k: settings.get(k) for k in values} == values, plugin_id

def test_is_local():
    "Only this machine counts as local."
    assert is_local('http://127.0.0.1:8888/lab') and is_local('ws://localhost:1/api/kernels')
    assert is_local('data:image/png;base64,AA')
    assert not is_local('https://cdn.jsdelivr.net/npm/vega@5') and not is_local('http://127.0.0.2.example.com/')
