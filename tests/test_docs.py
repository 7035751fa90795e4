"""The documentation site (Sphinx + myst-nb + furo, `make docs`; our plug-in is docs/gmw_docs.py).
The first tests check the plug-in without a kernel. The site tests build the whole site once with warnings as errors
(reusing the executed notebooks the kernel tier saved in _build/executed/; conftest runs this file last for that),
then open it in Chromium from a local static server: every chart drawn, search, no console error, nothing from
another host."""
import base64, functools, http.server, importlib, re, subprocess, sys, threading, time
from urllib.parse import quote
import nbformat, numpy as np, pytest
from harness import REPO, WIDGET_MIME, free_port, is_local

sys.path.insert(0, str(REPO/'docs'))
import gmw_docs  # noqa: E402
from gmwidgets.livechart import pack_rows  # noqa: E402

pytestmark = pytest.mark.timeout(1800)  # a docs build after a failed kernel tier executes the missing notebooks itself
SITE = REPO/'_build'/'html'
SRC = REPO/'_build'/'docs'/'src'
PAGES = ['index', *gmw_docs.EXECUTED_PAGES]
STATE = 'application/vnd.jupyter.widget-state+json'

# ---------------------------------------------------------------- the plug-in, no kernel

def notebook_with_widgets(states:dict, *shown:dict):
    "A notebook whose one code cell displays `shown` (MIME bundles), with `states` as its saved widget state."
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('x', outputs=[
        nbformat.v4.new_output('display_data', data=d) for d in shown])])
    nb.metadata['widgets'] = {STATE: {'state': {k: {'model_name': n, 'state': s} for k, (n, s) in states.items()}}}
    return nb

SPEC = {'mark': 'point', 'data': {'values': [{'x': 1}, {'x': 2}]},
        'encoding': {'x': {'field': 'x', 'type': 'quantitative'}}}
def view(mid): return {WIDGET_MIME: {'model_id': mid, 'version_major': 2}, 'text/plain': 'Widget(...)'}

def test_charts_in_a_widget_tree_become_svg():
    "Two charts in a box: an SVG each (the second as a display after the first); a hidden chart is left out."
    states = {'a': ('AnyModel', {'spec': SPEC, '_vega_key': 'v'}), 'b': ('AnyModel', {'spec': SPEC, '_vega_key': 'v'}),
              'h': ('AnyModel', {'spec': SPEC, '_vega_key': 'v', 'layout': 'IPY_MODEL_hid'}),
              'hid': ('LayoutModel', {'display': 'none'}),
              'box': ('VBoxModel', {'children': ['IPY_MODEL_a', 'IPY_MODEL_h', 'IPY_MODEL_b']})}
    nb = notebook_with_widgets(states, view('box'))
    assert gmw_docs.add_chart_images(nb) == 2
    outs = nb.cells[0].outputs
    assert len(outs) == 2 and all('role-mark' in o.data['image/svg+xml'] for o in outs)

def test_outputs_with_an_image_are_left_alone():
    "A widget output that already carries an image (as charts do once they ship their own) is not drawn again."
    nb = notebook_with_widgets({'a': ('AnyModel', {'spec': SPEC, '_vega_key': 'v'})},
                               {**view('a'), 'image/png': 'iVBORw0KGgo='})
    assert gmw_docs.add_chart_images(nb) == 0
    assert set(nb.cells[0].outputs[0].data) == {WIDGET_MIME, 'text/plain', 'image/png'}

def test_live_chart_rows_and_widget_text():
    "A LiveChart's packed float32 rows (buffer) are its data; HTML widgets keep their markup, labels are escaped."
    rows = np.array([[0, 1, 2.5, 2.5, 0], [1, 1, 7, 7, 0], [9, 1, 1, 1, 0]], np.float32)  # series 9 does not exist
    saved = {'model_name': 'AnyModel', 'state': {'series_names': ['a', 'b']}, 'buffers': [
        {'path': ['data'], 'encoding': 'base64', 'data': base64.b64encode(pack_rows(rows)).decode()}]}
    nb = nbformat.v4.new_notebook()
    nb.metadata['widgets'] = {STATE: {'state': {'c': saved}}}
    assert gmw_docs.live_rows(gmw_docs.widget_states(nb)['c']) == [
        {'series': 'a', 'step': 1.0, 'value': 2.5, 'ema': 2.5}, {'series': 'b', 'step': 1.0, 'value': 7.0, 'ema': 7.0}]
    states = {'l': ('LabelModel', {'value': '<b>x</b>'}), 'h': ('HTMLModel', {'value': '<i>ok</i>'}),
              'box': ('HBoxModel', {'children': ['IPY_MODEL_l', 'IPY_MODEL_h']})}
    nb = notebook_with_widgets(states, view('box'))
    gmw_docs.add_chart_images(nb)
    assert nb.cells[0].outputs[0].data['text/html'] == ('<div class="gmw-widget-label">&lt;b&gt;x&lt;/b&gt;</div>'
                                                        '<div class="gmw-widget-html"><i>ok</i></div>')

def test_page_notebook_follows_nbdev_directives():
    "`#| hide` removes a cell, `#| echo: false` its source; the `#|` lines go; widget views and state go."
    nb = notebook_with_widgets({}, view('a'))
    nb.cells += [nbformat.v4.new_code_cell(s) for s in ['#| hide\nsecret = 1', '#| echo: false\n#| slow\n2']]
    nb = gmw_docs.page_notebook(nb)
    assert [c.metadata.get('tags', []) for c in nb.cells] == [[], ['remove-cell'], ['remove-input']]
    assert nb.cells[2].source == '2' and 'widgets' not in nb.metadata and WIDGET_MIME not in nb.cells[0].outputs[0].data

def test_executed_copies_are_reused_while_current(tmp_path):
    "An executed copy is reused for the notebook it was run from, not after the notebook's cells change."
    src = tmp_path/'nbs'/'t.ipynb'
    src.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')]), src)
    ran = nbformat.read(src, as_version=4)
    ran.cells[0].outputs = [nbformat.v4.new_output('execute_result', data={'text/plain': '1'}, execution_count=1)]
    gmw_docs.save_executed(ran, src, tmp_path/'executed')
    assert gmw_docs.saved_executed(src, tmp_path/'executed').cells[0].outputs[0].data == {'text/plain': '1'}
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('2')]), src)
    assert gmw_docs.saved_executed(src, tmp_path/'executed') is None

@pytest.mark.kernel
def test_execute_leaves_browser_cells_and_keeps_widget_state(tmp_path):
    "A notebook the docs build runs itself: `#| browser`, `#| eval: false` cells do not run; the widget state is kept."
    path = tmp_path/'w.ipynb'
    cells = ['import ipywidgets as W\nW.IntSlider(3)', "#| browser\nraise RuntimeError('not in the docs')",
             "#| eval: false\nraise RuntimeError('not run')"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata['kernelspec'] = {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}
    nbformat.write(nb, path)
    ran = gmw_docs.execute(path, timeout=120)
    assert WIDGET_MIME in ran.cells[0].outputs[0].data and ran.cells[1].outputs == ran.cells[2].outputs == []
    states = gmw_docs.widget_states(ran)
    assert [s['value'] for s in states.values() if s['_name'] == 'IntSliderModel'] == [3]

def f_documented(x:int, # how many
                 name:str='a', # what to call it
                ) -> list: # the result
    "A function documented with docments."
    return [name] * x

def test_docments_become_params_and_code_becomes_rest():
    "Parameter comments become `:param:` lines, the return comment `:returns:`; Markdown code becomes reST code."
    lines = ['A function documented with docments.']
    gmw_docs.add_docments(None, 'function', 'f_documented', f_documented, {}, lines)
    assert lines[2:] == [':param x: how many', ':param name: what to call it', ':returns: the result']
    assert gmw_docs.markdown_code('ids: `<pad>`=0 and ``x``') == 'ids: \\ ``<pad>``\\ =0 and ``x``'

def test_prose_names():
    "Prose names link by their short form; a name two entries share links to neither."
    E = lambda d, i, t='class': type('E', (), {'docname': d, 'node_id': i, 'objtype': t})
    objs = {'gmwidgets.train': E('api/train', 'm', 'module'), 'gmwidgets.train.Run': E('api/train', 'R'),
            'gmwidgets.train.Run.stop': E('api/train', 'Rs', 'method'), 'gmwidgets.a.stop': E('api/a', 's', 'function'),
            'gmwidgets.b.stop': E('api/b', 's', 'function')}
    names = gmw_docs.short_names(objs)
    assert names == {'Run': ('api/train', 'R'), 'Run.stop': ('api/train', 'Rs')}
    assert [gmw_docs.prose_name(t, {'train'}) for t in ['run.start()', 'gmwidgets.train.Run.stop()', 'train.Run']] == [
        'run.start', 'Run.stop', 'Run']

def test_every_module_has_an_api_page():
    "Every module of the package with an `__all__` is exported from a notebook, so it gets an API page."
    mods = {p.stem for p in (REPO/'gmwidgets').glob('[a-z]*.py') if '__all__' in p.read_text()}
    assert mods and mods == set(gmw_docs.module_notebooks())

# ---------------------------------------------------------------- the built site

@pytest.fixture(scope='module')
def site():
    "Build the site with warnings as errors (as `make docs` does); the build's seconds."
    SRC.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html', '-c', str(REPO/'docs'),
           '-d', str(SRC.parent/'doctrees'), str(SRC), str(SITE)]  # what `make docs` runs
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, f'the docs build failed or warned:\n{r.stderr[-6000:]}'
    return time.perf_counter() - t0

def public_names(module:str) -> list[str]:
    return list(importlib.import_module(f'gmwidgets.{module}').__all__)

@pytest.mark.kernel
def test_every_page_and_api_entry(site):
    "A page per documentation notebook and module notebook; every public name of every module has its API entry."
    print(f'site built in {site:.0f} s: {len(list(SITE.rglob("*.html")))} pages, '
          f'{sum(f.stat().st_size for f in SITE.rglob("*") if f.is_file()) / 2**20:.1f} MiB')
    for p in PAGES: assert (SITE/f'{p}.html').exists(), p
    for mod, nb in gmw_docs.module_notebooks().items():
        page = (SITE/'api'/f'{mod}.html').read_text()
        missing = [n for n in public_names(mod) if f'id="gmwidgets.{mod}.{n}"' not in page]
        assert missing == [], f'gmwidgets.{mod}: no API entry for {missing}'
        assert f'href="../{nb.stem}.html"' in page and (SITE/f'{nb.stem}.html').exists()
    run = (SITE/'api'/'train.html').read_text()
    stop = run[run.index('id="gmwidgets.train.Run.stop"'):][:3000]
    assert 'Parameters' in stop or 'Return' in stop or 'sig-param' in stop  # a signature, documented parameters
    assert 'class="gmw-api-link' in (SITE/'quickstart.html').read_text()  # prose links to the API

@pytest.mark.kernel
def test_pages_load_nothing_from_another_host(site):
    "No script, style sheet, font, image or frame comes from another host; no widget manager, no MathJax."
    for f in SITE.rglob('*.html'):
        page = f.read_text()
        assert not re.search(r'<(script|link|img|iframe|source)\b[^>]*\b(src|href)\s*=\s*["\']?(https?:)?//', page,
                             re.I), f
        assert 'require.js' not in page and 'mathjax' not in page.lower() and 'html-manager' not in page, f
    for f in SITE.rglob('*.css'): assert not re.search(r'url\(\s*["\']?(https?:)?//', f.read_text()), f

@pytest.fixture(scope='module')
def served(site):
    "The built site on a local static server (127.0.0.1): its base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', free_port()), functools.partial(Quiet, directory=str(SITE)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()

@pytest.fixture
def browser_page(chromium):
    "A fresh page that records console errors and every request to another host; both must stay empty."
    context = chromium.new_context(viewport={'width': 1300, 'height': 900})
    page, errors, external = context.new_page(), [], []
    page.on('console', lambda m: m.type == 'error' and errors.append(m.text))
    page.on('pageerror', lambda e: errors.append(str(e)))
    context.on('request', lambda r: is_local(r.url) or r.url.startswith('file://') or external.append(r.url))
    yield page
    context.close()
    assert errors == [] and external == [], (errors, external)

def chart_outputs(name:str) -> int:
    "How many chart images the page of `name` must show: the image outputs of its (prepared) notebook."
    nb = nbformat.read(SRC/f'{name}.ipynb', as_version=4)
    return sum(1 for c in nb.cells if not {'remove-cell', 'remove-output'} & set(c.metadata.get('tags', []))
               for o in c.get('outputs', []) if {'image/svg+xml', 'image/png'} & set(o.get('data', {})))

@pytest.mark.browser
@pytest.mark.parametrize('name', PAGES)
def test_every_chart_is_drawn(name, served, browser_page):
    "Every chart of an executed notebook is on its page as an image that loaded and has marks (no blank boxes)."
    browser_page.goto(f'{served}/{name}.html')
    imgs = browser_page.locator('article .cell_output img')
    expected = chart_outputs(name)
    assert name == 'index' or expected > 0, f'{name}: no chart in the executed notebook'
    assert imgs.count() == expected
    for i in range(expected):
        img = imgs.nth(i)
        img.scroll_into_view_if_needed()
        assert img.evaluate('(el) => el.complete && el.naturalWidth > 0'), f'{name}: image {i} did not load'
        src = img.get_attribute('src')
        if src.endswith('.svg'): assert has_marks((SITE/src).read_text()), f'{name}: image {i} has no marks'


def has_marks(svg:str) -> bool:
    "Vega's marks (class names), or in a compacted gmwidgets picture (no class names) drawn paths or symbols."
    if 'role-mark' in svg: return True
    return 'gmwidgets-picture-' in svg and ('<path' in svg or '<circle' in svg) and 'width="320" height="32"' not in svg

@pytest.mark.browser
@pytest.mark.parametrize('query, entry', [('LiveChart', 'api/livechart.html#gmwidgets.livechart.LiveChart'),
                                          ('Run.stop', 'api/train.html#gmwidgets.train.Run.stop')])
def test_search_finds_api_entries(query, entry, served, browser_page):
    "The built-in search (an index file, no server side) finds the API entry of a class and of a method."
    browser_page.goto(f'{served}/search.html?q={quote(query)}')
    results = browser_page.locator('#search-results ul.search li a')
    results.first.wait_for(timeout=30_000)
    hrefs = [results.nth(i).get_attribute('href') for i in range(results.count())]
    assert any(h.endswith(entry) for h in hrefs), hrefs

@pytest.mark.browser
def test_search_works_from_the_files(site, browser_page):
    "Opened as a file (no server), the search page still finds `LiveChart`, without a console error."
    browser_page.goto(f'{(SITE/"search.html").as_uri()}?q=LiveChart')
    results = browser_page.locator('#search-results ul.search li a')
    results.first.wait_for(timeout=30_000)
    assert any(results.nth(i).get_attribute('href').endswith('#gmwidgets.livechart.LiveChart')
               for i in range(results.count()))

@pytest.mark.browser
def test_navigation_and_prose_links(served, browser_page):
    "From the front page the sidebar reaches the quickstart; its prose link to `Run` lands on the API entry."
    browser_page.goto(f'{served}/index.html')
    browser_page.locator('.sidebar-tree a', has_text='Quickstart').first.click()
    browser_page.wait_for_url('**/quickstart.html')
    browser_page.locator('article a.gmw-api-link', has_text='Run').first.click()
    browser_page.wait_for_url(re.compile(r'api/train\.html#gmwidgets\.train\.Run'))
