"""Kernel tier: the quickstart, run to the end and saved with its widget state, is small (the Vega runtime is not in
it), and its HTML export shows a drawn picture of every chart with the final number of points."""
import base64, json, re, subprocess, sys
from collections import Counter
import nbformat, pytest
from harness import NBS, REPO, execute_notebook
from gmwidgets.livechart import data_rows
from gmwidgets.vegachart import path_vertices
sys.path.insert(0, str(REPO/'docs'))
from gmw_docs import saved_executed  # the executed notebooks the kernel tier keeps for the docs build

pytestmark = pytest.mark.kernel
# The issue asks for <= 100 KB; measured here 97.7 KB (98.8-100.05 KB while language models logged their loss twice;
# session 4 before: 114 KB; session 3: 179 KB; before it 272 KB; main at the start: 1,249 KB, of which 918 KB was the
# Vega runtime). Each widget's ESM is a 2 KB loader (the view code
# comes from the server), the dashboard's controls are one anywidget, the final rows are packed before gzip, large
# specs travel gzipped (`pack_spec`), the sampler's controls share their styles and layouts, and pictures draw lines in
# relative whole pixels. What is left, as saved (`python tools/nbsize.py` on the saved file): the two SVG pictures
# (~29 KB: axes, grid and labels are most of it), the three charts' specs (~8 KB gzipped, the sines chart's CSV most of
# it), the dashboard chart's packed rows (~8 KB base64), three loaders (~7 KB), the sampler's ipywidgets (~17 KB, six
# layouts of ~1.1 KB each) and the JSON indentation. This bound catches any of the savings or the runtime coming back.
MAX_BYTES = 100_000
STATE = 'application/vnd.jupyter.widget-state+json'


@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    """The quickstart executed (slow cells included) with nbclient and saved with its widget state: (path, notebook).
    The copy the kernel tier saved for the docs (`_build/executed/`) is reused when it is current: run once, not
    twice."""
    d = tmp_path_factory.mktemp('saved')
    nb = saved_executed(NBS/'quickstart.ipynb')
    if nb is None: nb = execute_notebook(NBS/'quickstart.ipynb', timeout=600, cwd=d, store_widget_state=True)
    path = d/'quickstart.ipynb'
    nbformat.write(nb, str(path))
    return path, nb


def chart_states(nb) -> dict[str, dict]:
    "Model id -> state of every gmwidgets chart in the saved widget state (binary traits decoded)."
    out = {}
    for mid, m in nb.metadata['widgets'][STATE]['state'].items():
        st = dict(m['state'])
        if '_vega_key' not in st: continue
        for b in m.get('buffers', []): st[b['path'][0]] = base64.b64decode(b['data'])
        out[mid] = st
    return out


def test_saved_quickstart_is_small(saved):
    path, nb = saved
    size = path.stat().st_size
    charts = chart_states(nb)
    assert len(charts) >= 2, 'the sines chart and the dashboard chart are in the widget state'
    text = path.read_text()
    assert 'bundled by vl-convert' not in text  # the Vega runtime's header: it is not copied into the notebook
    states = nb.metadata['widgets'][STATE]['state']
    parts = sorted(((len(json.dumps(m)), m['model_name']) for m in states.values()), reverse=True)[:4]
    outs = sorted(len(json.dumps(c.get('outputs', []))) for c in nb.cells)[-4:]
    assert size <= MAX_BYTES, (f'saved quickstart: {size:,} bytes (largest models {parts}, outputs {outs}): expected '
                               f'<= {MAX_BYTES:,}')


def line_vertices(svg:str) -> int:
    "Vertices drawn by the line marks of a Vega SVG (each path: a move, then a line to each further point)."
    paths = re.findall(r'<g class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    return sum(path_vertices(d) for p in paths for d in re.findall(r'\bd="([^"]*)"', p))


def test_html_export_draws_every_chart_with_its_final_points(saved, tmp_path):
    path, nb = saved
    subprocess.run([sys.executable, '-m', 'nbconvert', '--to', 'html', '--output-dir', str(tmp_path), str(path)],
                   check=True, capture_output=True, timeout=300)
    page = (tmp_path/'quickstart.html').read_text()
    svgs = [base64.b64decode(b).decode() for b in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]
    by_id = Counter(m.group(1) for s in svgs if (m := re.search(r'<svg id="(gmwidgets-picture-\w+)"', s)))
    charts = chart_states(nb)
    assert sorted(by_id) == sorted(st['_picture_id'] for st in charts.values())  # every displayed chart, drawn
    assert set(by_id.values()) == {1}  # once each
    live = [st for st in charts.values() if st.get('streaming')]
    assert len(live) == 1  # the dashboard's chart
    rows = data_rows(live[0]['data'])  # the final display: (series id, step, ...)
    assert len(rows) >= 300 and rows[:, 1].max() == 300  # steps 1..300, the last one there
    svg = next(s for s in svgs if live[0]['_picture_id'] in s)
    assert 'no data' not in svg and line_vertices(svg) == len(rows)  # the picture shows the final points
