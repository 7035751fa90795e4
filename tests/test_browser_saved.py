"""Browser tier: a notebook executed by nbclient and saved with its widget state (the chart holds no Vega runtime)
reopens in JupyterLab and in Notebook 7 without running a cell, and the interactive chart shows all its rows: the
views load the Vega runtime from the Jupyter server (gmwidgets.serverext), and no request leaves the machine."""
import nbformat, pytest
from harness import chart_rows, execute_notebook, new_notebook, put_notebook, reopen_shows_chart
from test_browser_notebook7 import nb7, nb7_server, ours  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser
PATH = 'tests/notebooks/saved_by_nbclient.ipynb'
CELLS = ['''
import math
from gmwidgets.livechart import LiveChart
chart = LiveChart(['loss', 'valid_loss'], idle_finalize_s=None)
chart
''', '''
for i in range(3000):
    chart.push(i, loss=2 * math.exp(-i / 700) + 0.1 * math.sin(i))
    if i % 100 == 0: chart.push(i, valid_loss=2 * math.exp(-i / 700) + 0.2)
chart.finalize(); chart.wait_picture(60)
print(len(chart.display_rows()))
''']


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    "(notebook JSON with widget state and trusted cells, rows of the final display)."
    d = tmp_path_factory.mktemp('nbclient')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, str(d/'a.ipynb'))
    done = execute_notebook(d/'a.ipynb', timeout=120, store_widget_state=True)
    rows = int(done.cells[1].outputs[0]['text'])
    assert 'bundled by vl-convert' not in nbformat.writes(done)  # the runtime is not in the file
    for c in done.cells: c.metadata['trusted'] = True  # as if its owner trusted it: the server signs it on upload
    return nbformat.from_dict(done), rows


@pytest.mark.parametrize('front', ['lab', 'nb7'])
def test_reopened_without_running_shows_all_rows(saved, front, request):
    page = request.getfixturevalue(front)
    nb, rows = saved
    asked = []
    page.page.context.on('request', lambda r: asked.append(r.url))
    put_notebook(page.server, PATH, nb)
    reopen_shows_chart(page, PATH, 0, rows)  # cell 0 holds the chart; no cell is run
    assert chart_rows(page, 0) == rows and rows > 1000
    assert any('/gmwidgets/static/vega.js?v=' in u for u in asked)  # the runtime came from the server
    assert any('/gmwidgets/static/livechart.js?v=' in u for u in asked)  # so did the view code (not in the file)
    assert page.output(0).locator('img').first.is_hidden()  # the saved picture gives way to the live view
    assert page.failed_cells() == [] and ours(page) == [], ours(page)  # Notebook 7's own error aside


def test_without_a_server_the_kernel_sends_the_runtime_and_the_picture_hides(lab):
    "A page with no Jupyter server config (an editor's notebook view) gets the view code and Vega from the kernel."
    path = 'tests/notebooks/no_server.ipynb'
    new_notebook(lab.server, path)
    asked = []
    lab.page.context.on('request', lambda r: asked.append(r.url))
    lab.open(path)
    lab.page.evaluate("() => { document.getElementById('jupyter-config-data').remove(); delete "
                      "globalThis.__gmwidgetsVega; delete globalThis.__gmwidgetsViews; }")
    i = lab.state()['ncells']
    lab.run_cell_source('from gmwidgets.livechart import VegaChart\n'
                        "VegaChart({'mark': 'bar', 'data': {'values': [{'x': 'a', 'y': 1}, {'x': 'b', 'y': 3}]},\n"
                        "           'encoding': {'x': {'field': 'x', 'type': 'nominal'}, 'y': {'field': 'y', 'type': "
                        "'quantitative'}}})")
    lab.charts(i).first.wait_for(timeout=30_000)  # drawn with the runtime the kernel sent
    # nothing from the server extension's static path (the Runs panel's own assets live under /lab/extensions/)
    assert not any('/gmwidgets/static/' in u and '/extensions/gmwidgets/' not in u for u in asked), asked
    outs = lab.cell_outputs(i)
    assert [sorted(o['data']) for o in outs] == [['application/vnd.jupyter.widget-view+json', 'text/plain'],
                                                 ['image/svg+xml', 'text/plain']]  # the widget, then its picture
    img = lab.output(i).locator('img')
    assert img.count() == 1 and img.first.is_hidden()  # live view shown
    assert lab.failed_cells() == [] and lab.console_errors == [], lab.console_errors
