"""Our Sphinx plug-in for the documentation site (the generator is Sphinx with myst-nb and furo; see docs/conf.py).

What the generator does not do for us, and nothing more:
- **sources**: fill the source folder from `nbs/`: the README notebook as the front page (with the table of contents),
  the quickstart, tutorials and examples *executed* (reused from `_build/executed/`, where the kernel tier saves them;
  a notebook missing there, or saved from other sources, is executed once with nbclient and saved there), the module
  notebooks as they are (prose, code, examples, checks), and one API page per module (Sphinx autodoc on `__all__`).
- **charts**: a displayed widget that holds gmwidgets charts and carries no image gets an `image/svg+xml` drawn by
  vl-convert from the widget state saved in the notebook; outputs that already carry an image are left alone.
- **docments**: a parameter's trailing comment (`x:int, # what x is`) becomes a `:param x:` line, the return
  comment a `:returns:` line.
- **prose links**: inline code naming a public symbol (`LiveChart`, `Run.stop`, `run.start()` is not one) links to its
  API entry."""
from __future__ import annotations
import base64, copy, hashlib, json, re, warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NBS = REPO/'nbs'
EXECUTED = REPO/'_build'/'executed'  # executed notebooks with their widget state, written by the kernel tier or by us
EXECUTED_PAGES = ['quickstart', 'tutorial_autoregressive', 'tutorial_vae', 'tutorial_timeseries', 'example_lightning']
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
IMAGES = ('image/svg+xml', 'image/png', 'image/jpeg', 'image/gif')
SKIP_TAG = 'skip-execution'  # nbclient leaves cells with this tag alone
SOURCE_KEY = 'gmwidgets_docs_source'  # metadata key: the hash of the sources an executed notebook was run from

# ---------------------------------------------------------------- notebooks and their directives

def read_notebook(path:Path|str):
    "The notebook at `path` as an nbformat node (nbdev-cleaned notebooks have no cell ids: accepted quietly)."
    import nbformat
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return nbformat.read(str(path), as_version=4)

def directives(source:str) -> dict[str, str]:
    "nbdev's `#|` lines at the top of a cell: `#| eval: false` -> {'eval': 'false'}, `#| slow` -> {'slow': ''}."
    out = {}
    for line in source.splitlines():
        m = re.match(r'\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$', line)
        if not m:
            if line.strip(): break
            continue
        out[m.group(1)] = m.group(2)
    return out

def without_directives(source:str) -> str:
    "`source` without its leading `#|` lines."
    lines = source.splitlines()
    while lines and (lines[0].lstrip().startswith('#|') or not lines[0].strip()): lines.pop(0)
    return '\n'.join(lines)

def source_hash(nb) -> str:
    "A hash of the cell sources of `nb`: an executed copy is reused only while it matches the notebook in nbs/."
    return hashlib.sha1(json.dumps([c.source for c in nb.cells]).encode()).hexdigest()

# ---------------------------------------------------------------- executed notebooks (run once)

def save_executed(nb, # an executed notebook (widget state in its metadata)
                  source:Path|str, # the notebook in nbs/ it was run from
                  folder:Path=EXECUTED,
                 ) -> Path:
    "Save `nb` as `folder/<name>`, marked with the hash of `source`'s cells, for the docs build to reuse."
    import nbformat
    nb.metadata[SOURCE_KEY] = source_hash(read_notebook(source))
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(folder/Path(source).name))
    return folder/Path(source).name

def saved_executed(source:Path|str, folder:Path=EXECUTED):
    "The executed copy of `source` saved in `folder`, if it was run from the same cell sources (else None)."
    path = folder/Path(source).name
    if not path.exists(): return None
    nb = read_notebook(path)
    return nb if nb.metadata.get(SOURCE_KEY) == source_hash(read_notebook(source)) else None

def execute(source:Path|str, timeout:int=600):
    "Run `source` in a fresh kernel in its folder (`#| browser`, `#| eval: false` cells left out), widget state kept."
    from nbclient import NotebookClient
    nb = read_notebook(source)
    for c in nb.cells:
        d = directives(c.source) if c.cell_type == 'code' else {}
        if 'browser' in d or d.get('eval', '').lower() == 'false': c.metadata.setdefault('tags', []).append(SKIP_TAG)
    NotebookClient(nb, timeout=timeout, kernel_name='python3', store_widget_state=True, skip_cells_with_tag=SKIP_TAG,
                   resources={'metadata': {'path': str(Path(source).parent)}}).execute()
    return nb

def executed(source:Path|str, log=print):
    "The executed notebook of `source`: the saved copy when it is current, else run now (once) and saved."
    nb = saved_executed(source)
    if nb is not None: return nb
    log(f'gmw_docs: executing {Path(source).name} (no current copy in {EXECUTED})')
    nb = execute(source)
    save_executed(nb, source)
    return nb

# ---------------------------------------------------------------- widget state -> chart images

def with_buffers(state:dict, buffers:list[dict]) -> dict:
    "A copy of a model's saved `state` with each binary buffer decoded and set at its path."
    state = copy.deepcopy(dict(state))
    for b in buffers:
        data = base64.b64decode(b['data']) if b.get('encoding', 'base64') == 'base64' else bytes.fromhex(b['data'])
        *parents, last = b['path']
        node = state
        for k in parents: node = node[k]
        node[last] = data
    return state

def widget_states(nb) -> dict[str, dict]:
    "model id -> saved state (buffers put back as bytes) from the widget state of `nb`; model names under `_name`."
    saved = nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    return {mid: {**with_buffers(m.get('state', {}), m.get('buffers', [])), '_name': m.get('model_name', '')}
            for mid, m in saved.items()}

def model_ref(value) -> str|None:
    "The model id in a reference such as 'IPY_MODEL_abc' (None if `value` is not one)."
    return value[len('IPY_MODEL_'):] if isinstance(value, str) and value.startswith('IPY_MODEL_') else None

def is_chart(state:dict) -> bool:
    "Whether a model's state is a gmwidgets chart (`VegaChart` or a subclass): a spec and a Vega bundle reference."
    return 'spec' in state and '_vega_key' in state

def hidden(state:dict, states:dict) -> bool:
    "Whether the widget's layout hides it (`display: none` or `visibility: hidden`)."
    lay = states.get(model_ref(state.get('layout')) or '', {})
    return lay.get('display') == 'none' or lay.get('visibility') == 'hidden'

def children(state:dict) -> list[str]:
    "The model ids of a container's children (and of the widgets an Output widget captured)."
    views = [o.get('data', {}).get(WIDGET_VIEW, {}).get('model_id') for o in state.get('outputs', [])]
    return [r for r in map(model_ref, state.get('children', [])) if r] + [v for v in views if v]

def chart_models(model_id:str, states:dict) -> list[str]:
    "Ids of the charts with a spec shown in the widget tree under `model_id` (hidden widgets left out), in order."
    s = states.get(model_id)
    if s is None or hidden(s, states): return []
    if is_chart(s): return [model_id] if s.get('spec') else []
    return [c for child in children(s) for c in chart_models(child, states)]

def live_rows(state:dict) -> list[dict]:
    "A `LiveChart`'s `data` trait (float32 rows: series id, step, value, ema, tail; see `pack_rows`) as records."
    from gmwidgets.livechart import data_rows
    raw, names = bytes(state.get('data') or b''), state.get('series_names', [])
    rows = data_rows(raw)  # (k, COLS)
    return [{'series': names[int(r[0])], 'step': float(r[1]), 'value': float(r[2]), 'ema': float(r[3])}
            for r in rows if 0 <= int(r[0]) < len(names)]

def chart_spec(state:dict) -> dict:
    "The Vega-Lite spec of a chart model with its final data inlined (`LiveChart` rows, `LatentMap` marks)."
    from gmwidgets.vegachart import unpack_spec
    spec = dict(unpack_spec(state.get('spec') or {}))
    if 'series_names' in state: spec['data'] = {'name': state.get('data_name', 'points'), 'values': live_rows(state)}
    if 'marks' in state:
        spec['datasets'] = {**spec.get('datasets', {}), state.get('marks_name', 'marks'): list(state['marks'])}
    return spec

def chart_svg(state:dict) -> str:
    "A chart model's final state drawn as SVG by vl-convert."
    import vl_convert as vlc
    return vlc.vegalite_to_svg(chart_spec(state))

def widget_html(model_id:str, states:dict) -> str:
    """The text a static page can show of a widget tree without charts: the values of its HTML widgets (gmwidgets
    escapes user text before it goes there) and labels (escaped here), in order; '' if there are none."""
    import html
    s = states.get(model_id)
    if s is None or hidden(s, states): return ''
    if s['_name'] in ('HTMLModel', 'HTMLMathModel'): return f'<div class="gmw-widget-html">{s.get("value", "")}</div>'
    if s['_name'] == 'LabelModel': return f'<div class="gmw-widget-label">{html.escape(str(s.get("value", "")))}</div>'
    return ''.join(widget_html(c, states) for c in children(s))

def add_chart_images(nb):
    """Give every widget output of `nb` that shows gmwidgets charts and has no image an `image/svg+xml` per chart (the
    first in the output itself, the others as displays right after it), and one without charts the text of its HTML
    widgets; in place, returns the number of charts drawn."""
    import nbformat
    states, drawn = widget_states(nb), 0
    for c in nb.cells:
        outs = []
        for o in c.get('outputs', []):
            outs.append(o)
            data = o.get('data', {})
            if WIDGET_VIEW not in data or any(m in data for m in IMAGES): continue
            svgs = [chart_svg(states[m]) for m in chart_models(data[WIDGET_VIEW].get('model_id'), states)]
            if not svgs:
                text = widget_html(data[WIDGET_VIEW].get('model_id'), states)
                if text and 'text/html' not in data: data['text/html'] = text
                continue
            data['image/svg+xml'] = svgs[0]
            outs += [nbformat.v4.new_output('display_data', data={'image/svg+xml': s}) for s in svgs[1:]]
            drawn += len(svgs)
        if 'outputs' in c: c.outputs = outs
    return drawn

# ---------------------------------------------------------------- notebooks as pages

def page_notebook(nb):
    """`nb` ready for myst-nb: nbdev's `#|` lines become cell tags (hide, echo/output: false), widget views and the
    saved widget state go (a static page draws their images; the state holds the 900 KB Vega runtime)."""
    for c in nb.cells:
        if c.cell_type != 'code': continue
        d, tags = directives(c.source), c.metadata.setdefault('tags', [])
        if 'hide' in d or 'default_exp' in d or d.get('include', '').lower() == 'false': tags.append('remove-cell')
        if d.get('echo', '').lower() == 'false': tags.append('remove-input')
        if d.get('output', '').lower() == 'false': tags.append('remove-output')
        c.source = without_directives(c.source)
        for o in c.get('outputs', []):
            o.get('data', {}).pop(WIDGET_VIEW, None)
    nb.metadata.pop('widgets', None)
    return nb

def index_notebook(toctree:str):
    "The README notebook (nbs/index.ipynb) with the site's table of contents as a last, hidden cell."
    import nbformat
    nb = read_notebook(NBS/'index.ipynb')
    nb.cells.append(nbformat.v4.new_markdown_cell(toctree))
    return nb

def module_notebooks() -> dict[str, Path]:
    "module name -> the notebook it is exported from (its `#| default_exp` line)."
    out = {}
    for p in sorted(NBS.glob('[0-9][0-9]*_*.ipynb')):
        m = re.search(r'#\|\s*default_exp\s+([\w.]+)', p.read_text())
        if m: out[m.group(1)] = p
    return out

def constants(module:str) -> dict[str, str]:
    """The names in `gmwidgets.<module>.__all__` that are values (not functions or classes) -> the trailing comment of
    their assignment (Sphinx's automodule documents a module-level value only when it has a `#:` comment)."""
    import importlib, inspect
    mod = importlib.import_module(f'gmwidgets.{module}')
    src = inspect.getsource(mod)
    out = {}
    for name in mod.__all__:
        value = getattr(mod, name)
        if inspect.isroutine(value) or isinstance(value, type): continue
        m = re.search(rf'^{re.escape(name)}\s*(?::[^=\n]*)?=.*?#\s*(.+)$', src, re.M)
        out[name] = m.group(1).strip() if m else ''
    return out

def api_page(module:str, notebook:Path) -> str:
    "The API page of `gmwidgets.<module>`: every name in its `__all__`, documented by autodoc, and its notebook."
    consts = constants(module)
    exclude = f'   :exclude-members: {", ".join(consts)}\n' if consts else ''
    data = ''.join(f'\n.. autodata:: gmwidgets.{module}.{k}\n' + (f'\n   {markdown_code(c)}\n' if c else '')
                   for k, c in consts.items())
    return (f'# gmwidgets.{module}\n\nWritten, with its examples and checks, in the notebook '
            f'[{notebook.stem}](../{notebook.stem}.ipynb).\n\n'
            f'```{{eval-rst}}\n.. automodule:: gmwidgets.{module}\n   :members:\n   :undoc-members:\n'
            f'{exclude}{data}```\n')

def toctree(caption:str, entries:list[str], hidden:bool=True) -> str:
    "A MyST toctree directive."
    return (f'```{{toctree}}\n:caption: {caption}\n' + (':hidden:\n' if hidden else '') + ':maxdepth: 1\n\n'
            + '\n'.join(entries) + '\n```\n')

def write_if_changed(path:Path, text:str):
    "Write `text` to `path` unless it already holds it (Sphinx then rebuilds only what changed)."
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text: path.write_text(text)

def notebook_text(nb) -> str:
    import nbformat
    return nbformat.writes(nb)

def fill_sources(src:Path, log=print):
    "Write every page of the site into the source folder `src` (see the module docstring)."
    import nbformat
    mods = module_notebooks()
    pages = [p for p in EXECUTED_PAGES if (NBS/f'{p}.ipynb').exists()]
    for p in pages:
        nb = copy.deepcopy(executed(NBS/f'{p}.ipynb', log))
        add_chart_images(nb)
        write_if_changed(src/f'{p}.ipynb', notebook_text(page_notebook(nb)))
    for m, nbp in mods.items():
        write_if_changed(src/'api'/f'{m}.md', api_page(m, nbp))
        write_if_changed(src/f'{nbp.stem}.ipynb', notebook_text(page_notebook(read_notebook(nbp))))
    api = '# API reference\n\nEvery public name (`__all__`) of every module, with its signature and parameters.\n\n'
    write_if_changed(src/'api'/'index.md', api + toctree('Modules', sorted(mods), hidden=False))
    contents = (toctree('Tutorials', pages) + toctree('API reference', ['api/index'])
                + toctree('Module notebooks', [p.stem for p in mods.values()]))
    write_if_changed(src/'index.ipynb', notebook_text(index_notebook(contents)))
    keep = {'index.ipynb', *(f'{p}.ipynb' for p in pages), *(f'{p.stem}.ipynb' for p in mods.values())}
    for stale in src.glob('*.ipynb'):
        if stale.name not in keep: stale.unlink()

# ---------------------------------------------------------------- docments -> :param: lines

def docments_lines(obj) -> list[str]:
    "`:param x: ...` and `:returns: ...` lines from the docments comments of `obj` (a function, method or class)."
    from fastcore.docments import docments
    try: comments = docments(obj)  # a class: its __init__'s parameters (a dataclass: its fields)
    except Exception: return []
    lines = [f':param {k}: {v}' for k, v in comments.items() if v and k not in ('self', 'return')]
    if comments.get('return'): lines.append(f':returns: {comments["return"]}')
    return lines

_CODE = re.compile(r'(?<!`)`([^`\n]+)`(?!`)')

def markdown_code(line:str) -> str:
    "Our docstrings' Markdown `code` as reST ``code`` (escaped spaces around it, so `<pad>`=0 stays one word)."
    return _CODE.sub(lambda m: '\\ ``' + m.group(1) + '``\\ ', line)

def add_docments(app, what, name, obj, options, lines):
    """autodoc-process-docstring: the parameter comments appended as `:param x:` lines, inline code made reST; an
    IPython magic's help (argparse text) kept as it is printed."""
    if what in ('data', 'attribute') and lines and type(obj).__doc__ and lines[0] in type(obj).__doc__:
        lines[:] = []  # a value's own docstring is its type's (`dict`, `str`): not about our constant
        return
    if hasattr(obj, 'parser') and what == 'method':  # IPython's @magic_arguments: argparse usage text
        lines[:] = ['::', '', *('    ' + l for l in lines)]
        return
    if what in ('function', 'method', 'class') and not any(l.lstrip().startswith(':param') for l in lines):
        extra = docments_lines(obj)
        if extra: lines.extend(['', *extra])
    lines[:] = [markdown_code(l) for l in lines]

# ---------------------------------------------------------------- prose links

def short_names(objects:dict) -> dict[str, tuple[str, str]]:
    """Names a reader writes in prose -> (docname, anchor) of their API entry: `LiveChart` for
    `gmwidgets.livechart.LiveChart`, `Run.stop` for a method; a name two entries share links to neither."""
    found, clash = {}, set()
    for full, entry in objects.items():
        if not full.startswith('gmwidgets.') or entry.objtype == 'module' or full.count('.') < 2: continue
        key, where = full.split('.', 2)[2], (entry.docname, entry.node_id)
        if found.get(key, where) != where: clash.add(key)
        found[key] = where
    return {k: v for k, v in found.items() if k not in clash}

def prose_name(text:str, modules:set[str]) -> str:
    "`gmwidgets.train.Run.stop()`, `train.Run.stop` or `Run.stop()` -> `Run.stop`."
    name = text.strip().removesuffix('()').removeprefix('gmwidgets.')
    head, _, rest = name.partition('.')
    return rest if head in modules and rest else name

def link_prose(app, doctree, docname):
    "doctree-resolved: inline code that names a public symbol becomes a link to its API entry."
    from docutils import nodes
    from sphinx import addnodes
    objects = app.env.get_domain('py').objects
    names, modules = short_names(objects), {k.split('.')[1] for k in objects if k.count('.') == 1}
    for lit in list(doctree.findall(nodes.literal)):
        target = names.get(prose_name(lit.astext(), modules))
        if not target: continue
        if isinstance(lit.parent, (nodes.reference, addnodes.desc_signature)): continue
        ref = nodes.reference('', '', internal=True, classes=['gmw-api-link'],
                              refuri=app.builder.get_relative_uri(docname, target[0]) + '#' + target[1])
        lit.replace_self(ref)
        ref += lit

# ---------------------------------------------------------------- the plug-in

def on_config(app, config):
    "config-inited: fill the source folder before Sphinx looks for documents."
    fill_sources(Path(app.srcdir), log=lambda m: print(m, flush=True))

def setup(app):
    app.connect('config-inited', on_config)
    app.connect('autodoc-process-docstring', add_docments)
    app.connect('doctree-resolved', link_prose)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
