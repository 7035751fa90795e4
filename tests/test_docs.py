"""The offline docs build (tools/docs.py): notebooks executed in a kernel become self-contained pages whose widget
outputs are drawn from the saved widget state, charts as inline SVG. The first tests need no kernel; the rest build
the quickstart (trains for ~30 s) and a small synthetic notebook once per module."""
import re, sys
import nbformat, pytest
from jupyter import NBS, REPO

sys.path.insert(0, str(REPO/'tools'))
import docs  # noqa: E402

USER_TEXT = '<b>x</b>'  # logged as a term name and shown in a Label: must reach the page escaped
ESCAPED = '&lt;b&gt;x&lt;/b&gt;'
N_POINTS = 20  # points logged into the synthetic LiveLoss

SYNTHETIC = [
    ('markdown', '# Synthetic\n\n> A chart, a finished loss chart, a dashboard and a latent map.'),
    ('code', 'import altair as alt, pandas as pd, ipywidgets as W\n'
             'from gmwidgets.livechart import VegaChart, LiveLoss, LiveChart\n'
             'from gmwidgets.latent import LatentMap, latent_map_chart\n'
             "VegaChart(alt.Chart(pd.DataFrame({'x': [1, 2, 3], 'y': [3, 1, 2]})).mark_line().encode(x='x', y='y'))"),
    ('code', f"dash = LiveLoss(['loss', {USER_TEXT!r}])\n"
             f"for i in range({N_POINTS}): dash.log(loss=1 / (i + 1), **{{{USER_TEXT!r}: i / 10}})\n"
             'dash.finalize()'),
    ('code', "chart = LiveChart(['loss'])\n"
             'for i in range(5): chart.push(i, loss=5 - i)\n'
             'chart.finalize()\n'
             f"tabs = W.Tab([W.Label({USER_TEXT!r}), W.HTML('<i>ok</i>')], titles=['one', 'two'])\n"
             "W.VBox([W.HBox([W.Button(description='Stop'), W.FloatSlider(value=0.8, description='temperature'),\n"
             "                W.Dropdown(options=['a', 'b'], value='b', description='pick')]),\n"
             "        W.IntProgress(value=3, max=10), W.HTML('secret', layout=W.Layout(display='none')), chart, tabs])"),
    ('code', "m = LatentMap(latent_map_chart(pd.DataFrame({'x': [0., 1, 2], 'y': [1., 0, 2], 'index': [0, 1, 2],\n"
             "                                             'label': ['a', 'b', 'c']})))\n"
             "m.marks = [{'x': 1.0, 'y': 1.0, 'what': 'A', 'index': 0}]\nm"),
    ('code', "#| browser\nraise RuntimeError('a browser cell must not run in the docs build')"),
    ('code', "#| eval: false\nraise RuntimeError('an eval: false cell must not run')"),
]

def synthetic_notebook(path):
    "Write the synthetic notebook to `path`."
    new = {'markdown': nbformat.v4.new_markdown_cell, 'code': nbformat.v4.new_code_cell}
    nb = nbformat.v4.new_notebook(cells=[new[k](s) for k, s in SYNTHETIC])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)
    return path

def figures(page:str) -> dict[str, str]:
    "model id -> SVG of each drawn chart on `page`."
    return dict(re.findall(r'<figure class="gmw-chart" data-model="([^"]+)">(<svg.*?</svg>)</figure>', page, re.S))

def line_vertices(svg:str) -> list[int]:
    "Vertices of each path in the line marks of `svg`."
    groups = re.findall(r'<g class="mark-line role-mark[^"]*"[^>]*>(.*?)</g>', svg, re.S)
    return [d.count('L') + 1 for g in groups for d in re.findall(r'\bd="(M[^"]*)"', g)]

def state_charts(nb) -> dict[str, dict]:
    "model id -> state of every gmwidgets chart model (non-empty spec) in the saved widget state."
    return {k: m['state'] for k, m in docs.widget_states(nb).items() if docs.is_chart(m['state']) and m['state']['spec']}

# ---------------------------------------------------------------- no kernel

def test_cell_directives():
    "nbdev's `#|` lines are read up to the first line of code; eval: false and the skip flags skip a cell."
    test = nbformat.v4.new_code_cell
    assert docs.cell_directives('#| eval: false\n#|slow\nx = 1\n#| hide') == {'eval': 'false', 'slow': ''}
    assert [docs.is_skipped(test(s)) for s in ['#| eval: false\n1', '#| browser\n1', '#| slow\n1', '1']] == [True, True, False, False]
    assert docs.is_skipped(test('#| slow\n1'), skip_flags=('slow',))

def test_buffers_and_live_rows():
    "A LiveChart's `data` buffer is decoded at its path and becomes one record per display row."
    import base64, numpy as np
    rows = np.array([[0, 1, 2.5, 2.5, 0], [1, 1, 7, 7, 0], [9, 1, 1, 1, 0]], np.float32)  # series 9 does not exist
    saved = {'state': {'series_names': ['a', 'b']}, 'buffers': [{'path': ['data'], 'encoding': 'base64',
                                                                  'data': base64.b64encode(rows.tobytes()).decode()}]}
    state = docs.with_buffers(saved['state'], saved['buffers'])
    assert docs.live_rows(state) == [{'series': 'a', 'step': 1.0, 'value': 2.5, 'ema': 2.5},
                                     {'series': 'b', 'step': 1.0, 'value': 7.0, 'ema': 7.0}]

def test_unique_ids():
    "Ids and their references are prefixed; other text is left alone."
    svg = '<clipPath id="clip1"><rect/></clipPath><g clip-path="url(#clip1)"><use href="#clip1"/>clip1</g>'
    assert docs.unique_ids(svg, 'k') == ('<clipPath id="k-clip1"><rect/></clipPath><g clip-path="url(#k-clip1)">'
                                         '<use href="#k-clip1"/>clip1</g>')

def test_widgets_without_kernel():
    "Static forms: a Label escaped, a hidden widget left out, a missing model named, external scripts stripped."
    states = {'l': {'model_name': 'LabelModel', 'state': {'value': USER_TEXT, 'layout': 'IPY_MODEL_lay'}},
              'h': {'model_name': 'HTMLModel', 'state': {'value': 'secret', 'layout': 'IPY_MODEL_hid'}},
              'lay': {'model_name': 'LayoutModel', 'state': {}}, 'hid': {'model_name': 'LayoutModel', 'state': {'display': 'none'}},
              'b': {'model_name': 'VBoxModel', 'state': {'_model_name': 'VBoxModel',
                                                         'children': ['IPY_MODEL_l', 'IPY_MODEL_h', 'IPY_MODEL_gone']}}}
    out = docs.render_widget('b', states)
    assert ESCAPED in out and USER_TEXT not in out and 'secret' not in out and 'gmw-missing' in out
    assert docs.strip_external('<script src="https://cdn.x/r.js"></script><p>k</p><link href="//a/b.css">') == '<p>k</p>'

def test_page_problems_finds_undrawn_charts():
    "`page_problems` reports a displayed chart that has no SVG, and a page that loads a CDN script."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('c', outputs=[nbformat.v4.new_output(
        'display_data', data={docs.WIDGET_VIEW: {'model_id': 'c', 'version_major': 2}})])])
    nb.metadata['widgets'] = {docs.WIDGET_STATE: {'state': {'c': {'model_name': 'AnyModel', 'state': {
        'spec': {'mark': 'point', 'data': {'values': [{'x': 1}]}, 'encoding': {'x': {'field': 'x', 'type': 'quantitative'}}},
        '_vega_key': 'v'}}}}}
    assert docs.page_problems(nb, docs.build_page(nb)) == []
    bad = '<html><script src="https://cdn.jsdelivr.net/npm/vega"></script></html>'
    assert docs.page_problems(nb, bad) == ['loads from the network: \'<script src="https://\'', '0 chart SVGs for 1 displayed chart models']

# ---------------------------------------------------------------- built in a kernel

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Execute the quickstart and the synthetic notebook, build their pages; (executed notebooks, pages, out folder)."
    tmp = tmp_path_factory.mktemp('docs')
    paths = [NBS/'quickstart.ipynb', synthetic_notebook(tmp/'synthetic.ipynb')]
    nbs = {p.stem: docs.execute(p, timeout=300) for p in paths}
    out = tmp/'_docs'
    files = docs.build_docs(paths, out, executed={p: nbs[p.stem] for p in paths}, log=lambda m: None)
    return nbs, {k: f.read_text() for k, f in files.items()}, out

@pytest.mark.kernel
def test_every_page_exists(site):
    "A page per notebook and an index that links to each; every page links to every other from its sidebar."
    nbs, pages, out = site
    assert sorted(p.name for p in out.iterdir()) == ['index.html', 'quickstart.html', 'synthetic.html']
    for page in [*pages.values(), (out/'index.html').read_text()]:
        assert 'href="quickstart.html"' in page and 'href="synthetic.html"' in page
    assert '<title>Quickstart</title>' in pages['quickstart']

@pytest.mark.kernel
def test_every_chart_is_drawn(site):
    "Each chart model in the saved state has an inline SVG with marks on its page, and no page has a problem."
    nbs, pages, _ = site
    assert {k: len(state_charts(nb)) for k, nb in nbs.items()} == {'quickstart': 2, 'synthetic': 4}
    for k, nb in nbs.items():
        figs = figures(pages[k])
        assert set(figs) == set(state_charts(nb)), k
        assert all(re.search(r'class="mark-\w+ role-mark', svg) for svg in figs.values()), k
        assert docs.page_problems(nb, pages[k]) == []

@pytest.mark.kernel
def test_finished_loss_charts_have_their_points(site):
    "The finished LiveLoss chart draws every logged point; the quickstart's dashboard draws its 300 training steps."
    nbs, pages, _ = site
    live = {k: s for k, s in state_charts(nbs['synthetic']).items() if s.get('series_names') == ['loss', USER_TEXT]}
    assert len(live) == 1
    svg = figures(pages['synthetic'])[next(iter(live))]
    assert line_vertices(svg).count(N_POINTS) >= 2  # a value line in each panel (plus their EMA lines)
    dash = [k for k, s in state_charts(nbs['quickstart']).items() if 'series_names' in s]
    assert len(dash) == 1 and max(line_vertices(figures(pages['quickstart'])[dash[0]])) >= 300
    assert '<b>finished</b>' in pages['quickstart'] and '<progress value="300" max="300">' in pages['quickstart']

@pytest.mark.kernel
def test_pages_load_nothing(site):
    "No script, stylesheet or image comes from another host; the pages need no script at all."
    _, pages, out = site
    for page in [*pages.values(), (out/'index.html').read_text()]:
        assert not re.search(r'<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*["\']?(https?:)?//', page, re.I)
        assert '<script' not in page

@pytest.mark.kernel
def test_user_text_is_escaped_and_controls_are_static(site):
    "A term name and a Label value with markup appear escaped; controls become static descriptions."
    _, pages, _ = site
    page = pages['synthetic']
    assert USER_TEXT not in page
    assert f'<span class="gmw-label">{ESCAPED}</span>' in page  # the Label
    assert re.search(rf'<code>step 19 .*{re.escape(ESCAPED)} 1\.9</code>', page)  # LiveLoss's line of values
    assert ESCAPED in ''.join(figures(page).values())  # the legend / tooltips of the loss chart
    for s in ['<button disabled>Stop</button>', 'temperature = 0.8', '<progress value="3" max="10">', '<option>b</option>', '<i>ok</i>']:
        assert s in page
    assert '>secret<' not in page  # display: none (the word is only in the cell's source)
    assert 'must not run' in page and 'class="gmw-error"' not in page  # skipped cells: their source, no error
