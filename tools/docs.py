"""Build the documentation site from the notebooks, offline and without Quarto (`nbdev-docs` needs the Quarto binary,
which is downloaded from GitHub at install time; this build needs nothing beyond the dev environment).

Each notebook is executed in a fresh kernel (or taken as already executed) and written as one self-contained HTML
page: markdown rendered, code highlighted, and every widget output turned into static HTML from the widget state
the run saved (`nb.metadata.widgets`). gmwidgets charts (`VegaChart`, `LiveChart`, `LatentMap`) become inline SVG
drawn by vl-convert; dashboards, samplers and other containers show their children in order. Pages load nothing
from the network: no scripts, no stylesheets, no fonts.

    python tools/docs.py                         # every documentation notebook in nbs/ -> _docs/
    python tools/docs.py nbs/quickstart.ipynb    # one page (plus _docs/index.html)

Cells marked `#| eval: false` or `#| browser` are not run; `#| slow` cells are (pages show finished training).
From Python: `build_page(executed_nb)` is the HTML of one executed notebook, `page_problems(nb, page)` lists what is
wrong with it (charts not drawn, network loads), `build_docs(paths, out)` writes a site."""
from __future__ import annotations
import argparse, base64, copy, html, json, re, time, warnings, zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NBS = REPO/'nbs'
OUT = REPO/'_docs'
WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json'
WIDGET_STATE = 'application/vnd.jupyter.widget-state+json'
SKIP_TAG = 'skip-execution'  # nbclient does not run cells with this tag
DEFAULT_SKIP_FLAGS = ('browser',)  # nbdev flags of cells not run for the docs (`#| slow` cells run: pages show results)

# ---------------------------------------------------------------- which notebooks, which cells

def doc_notebooks(nbs:Path=NBS, # the notebooks folder
                 ) -> list[Path]:
    "The documentation notebooks in `nbs`: index, quickstart, tutorials, examples, then the numbered modules."
    names = ['index.ipynb', 'quickstart.ipynb']
    pages = [nbs/n for n in names if (nbs/n).exists()]
    for pat in ['tutorial_*.ipynb', 'example_*.ipynb', '[0-9][0-9]_*.ipynb']: pages += sorted(nbs.glob(pat))
    return pages

def cell_directives(source:str, # a code cell's source
                   ) -> dict[str, str]:
    "nbdev/Quarto `#|` directives at the top of a cell: `#| eval: false` -> {'eval': 'false'}, `#| slow` -> {'slow': ''}."
    out = {}
    for line in source.splitlines():
        m = re.match(r'\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$', line)
        if not m:
            if line.strip(): break
            continue
        out[m.group(1)] = m.group(2)
    return out

def is_skipped(cell, # a notebook cell
               skip_flags=DEFAULT_SKIP_FLAGS, # nbdev flags (`#| slow`, `#| browser`) whose cells are not run
              ) -> bool:
    "Whether the docs build leaves `cell` unexecuted: `#| eval: false` or one of `skip_flags`."
    d = cell_directives(cell.source) if cell.cell_type == 'code' else {}
    return d.get('eval', '').lower() == 'false' or any(f in d for f in skip_flags)

def mark_skipped(nb, skip_flags=DEFAULT_SKIP_FLAGS):
    "Tag the cells of `nb` that must not run with nbclient's `skip-execution` (in place); return `nb`."
    for c in nb.cells:
        if is_skipped(c, skip_flags):
            tags = c.metadata.setdefault('tags', [])
            if SKIP_TAG not in tags: tags.append(SKIP_TAG)
    return nb

# ---------------------------------------------------------------- executing

def read_notebook(path:Path|str):
    "The notebook at `path` as an nbformat node (cells without ids are accepted quietly)."
    import nbformat
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # nbdev-cleaned notebooks have no cell ids
        return nbformat.read(str(path), as_version=4)

def execute(path:Path|str, # an .ipynb file
            timeout:int=600, # seconds allowed per cell
            skip_flags=DEFAULT_SKIP_FLAGS, # nbdev flags whose cells are not run
            cwd:Path|str|None=None, # the kernel's working directory; default: the notebook's folder
            kernel_name:str='python3'):
    "Run the notebook at `path` in a fresh kernel, keeping the widget state in `nb.metadata.widgets`; return it."
    from nbclient import NotebookClient
    nb = mark_skipped(read_notebook(path), skip_flags)
    cwd = Path(cwd or Path(path).parent)
    NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, store_widget_state=True, skip_cells_with_tag=SKIP_TAG,
                   resources={'metadata': {'path': str(cwd)}}).execute()
    return nb

# ---------------------------------------------------------------- widget state

def widget_states(nb) -> dict[str, dict]:
    "model id -> {'model_name', 'state'} from the saved widget state of `nb`, with binary buffers put back as bytes."
    saved = nb.get('metadata', {}).get('widgets', {}).get(WIDGET_STATE, {}).get('state', {})
    return {mid: {'model_name': m.get('model_name', ''), 'state': with_buffers(m.get('state', {}), m.get('buffers', []))}
            for mid, m in saved.items()}

def with_buffers(state:dict, # a model's saved state
                 buffers:list[dict], # [{'path': [...], 'encoding': 'base64'|'hex', 'data': str}]
                ) -> dict:
    "A copy of `state` with each buffer decoded and set at its path."
    state = copy.deepcopy(dict(state))
    for b in buffers:
        data = base64.b64decode(b['data']) if b.get('encoding', 'base64') == 'base64' else bytes.fromhex(b['data'])
        *parents, last = b['path']
        node = state
        for k in parents: node = node[k]
        node[last] = data
    return state

def model_ref(value) -> str|None:
    "The model id in a reference such as 'IPY_MODEL_abc' (None if `value` is not one)."
    return value[len('IPY_MODEL_'):] if isinstance(value, str) and value.startswith('IPY_MODEL_') else None

def is_chart(state:dict) -> bool:
    "Whether a model's state is a gmwidgets chart (`VegaChart` or a subclass): it holds a spec and the Vega runtime's key."
    return 'spec' in state and '_vega_key' in state

def chart_models(model_id:str, states:dict[str, dict]) -> list[str]:
    "Ids of the chart models shown in the widget tree under `model_id` (hidden widgets left out), in display order."
    s = states.get(model_id)
    if s is None or hidden(s['state'], states): return []
    if is_chart(s['state']): return [model_id]
    return [c for child in children(s['state']) for c in chart_models(child, states)]

def children(state:dict) -> list[str]:
    "The model ids of a container's children (and of the widgets an Output widget captured)."
    views = [o.get('data', {}).get(WIDGET_VIEW, {}).get('model_id') for o in state.get('outputs', [])]
    return [r for r in map(model_ref, state.get('children', [])) if r] + [v for v in views if v]

def hidden(state:dict, states:dict[str, dict]) -> bool:
    "Whether the widget's layout hides it (`display: none` or `visibility: hidden`)."
    lay = states.get(model_ref(state.get('layout')) or '', {}).get('state', {})
    return lay.get('display') == 'none' or lay.get('visibility') == 'hidden'

# ---------------------------------------------------------------- charts

def chart_spec(state:dict) -> dict:
    "The Vega-Lite spec of a chart model with its final data inlined (`LiveChart` rows, `LatentMap` marks)."
    spec = dict(state.get('spec') or {})
    if not spec: return {}
    if 'series_names' in state: spec['data'] = {'name': state.get('data_name', 'points'), 'values': live_rows(state)}
    if 'marks' in state:
        spec['datasets'] = {**spec.get('datasets', {}), state.get('marks_name', 'marks'): list(state['marks'])}
    return spec

def live_rows(state:dict) -> list[dict]:
    "A `LiveChart`'s `data` trait (float32 rows: series id, step, value, ema, tail) as records."
    import numpy as np
    raw, names = state.get('data') or b'', state.get('series_names', [])
    rows = np.frombuffer(bytes(raw), np.float32).reshape(-1, 5)  # (k, COLS)
    return [{'series': names[int(r[0])], 'step': float(r[1]), 'value': float(r[2]), 'ema': float(r[3])}
            for r in rows if 0 <= int(r[0]) < len(names)]

def unique_ids(svg:str, prefix:str) -> str:
    "`svg` with its element ids (and the references to them) prefixed, so several inline SVGs can share a page."
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    if not ids: return svg
    pat = re.compile(r'(\bid="|url\(#|href="#)(' + '|'.join(map(re.escape, sorted(ids, key=len, reverse=True))) + r')(?=["\)])')
    return pat.sub(lambda m: f'{m.group(1)}{prefix}-{m.group(2)}', svg)

def chart_svg(spec:dict, key:str) -> str:
    "`spec` drawn as an inline SVG by vl-convert (ids prefixed with `key`)."
    import vl_convert as vlc
    return unique_ids(vlc.vegalite_to_svg(spec), f'c{key}')

def render_chart(model_id:str, # the chart's model id (or another key for a chart that is not a widget)
                 state:dict, # its saved state (`spec` and, for subclasses, their data traits)
                 cls:str='gmw-chart', # the figure's class: `gmw-chart` for widgets, `gmw-vegalite` for Altair outputs
                ) -> str:
    "A chart as a `<figure>` holding its SVG (an empty or error figure when it cannot be drawn)."
    spec = chart_spec(state)
    if not spec: return '<figure class="gmw-chart-empty">(empty chart)</figure>'
    try: svg = chart_svg(spec, model_id[:8])
    except Exception as e: return f'<figure class="gmw-chart-error">chart not drawn: {html.escape(repr(e))}</figure>'
    return f'<figure class="{cls}" data-model="{html.escape(model_id)}">{svg}</figure>'

# ---------------------------------------------------------------- widgets -> static HTML

def render_widget(model_id:str, # the model to draw
                  states:dict[str, dict], # from `widget_states`
                 ) -> str:
    "Static HTML for the widget `model_id` and its children, from the saved state."
    m = states.get(model_id)
    if m is None: return f'<span class="gmw-missing">(widget {html.escape(model_id[:8])} not in the saved state)</span>'
    s, name = m['state'], m['model_name']
    if hidden(s, states): return ''
    if is_chart(s): return render_chart(model_id, s)
    draw = WIDGET_RENDERERS.get(name, render_unknown)
    return draw(s, states)

def _desc(s:dict) -> str: return html.escape(str(s.get('description') or ''))

def _classes(s:dict, base:str) -> str: return html.escape(' '.join([base, *s.get('_dom_classes', [])]))

def render_box(s:dict, states:dict) -> str:
    "A VBox/HBox/Box/GridBox (and our dashboards, samplers, explorers): its children in order."
    row = s.get('_model_name') == 'HBoxModel'
    inner = ''.join(render_widget(c, states) for c in children(s))
    return f'<div class="{_classes(s, "gmw-hbox" if row else "gmw-vbox")}">{inner}</div>'

def render_tabs(s:dict, states:dict) -> str:
    "A Tab or Accordion: each child under its title, all shown (a static page cannot switch)."
    titles = list(s.get('titles') or [])
    parts = [f'<section class="gmw-tab"><h5>{html.escape(str(titles[i]) if i < len(titles) and titles[i] else f"{i + 1}")}'
             f'</h5>{render_widget(c, states)}</section>' for i, c in enumerate(children(s))]
    return f'<div class="{_classes(s, "gmw-tabs")}">{"".join(parts)}</div>'

def render_html(s:dict, states:dict) -> str:
    "An HTML/HTMLMath widget: its value as is (gmwidgets escapes user text before it goes there)."
    desc = f'<span class="gmw-desc">{_desc(s)}</span> ' if s.get('description') else ''
    return f'<div class="{_classes(s, "gmw-html")}">{desc}{s.get("value", "")}</div>'

def render_label(s:dict, states:dict) -> str:
    "A Label: its value, escaped."
    return f'<span class="gmw-label">{html.escape(str(s.get("value", "")))}</span>'

def render_button(s:dict, states:dict) -> str:
    "A Button or ToggleButton, disabled (pressed shows as such; an icon-only button shows its icon's name)."
    pressed = ' aria-pressed="true" class="gmw-pressed"' if s.get('value') is True else ''
    return f'<button disabled{pressed}>{_desc(s) or html.escape(str(s.get("icon") or ""))}</button>'

def render_toggles(s:dict, states:dict) -> str:
    "ToggleButtons: one disabled button per option, the chosen one pressed."
    labels, idx = s.get('_options_labels', []), s.get('index')
    return ''.join(f'<button disabled{" class=gmw-pressed" if i == idx else ""}>{html.escape(str(l))}</button>'
                   for i, l in enumerate(labels))

def render_value(s:dict, states:dict) -> str:
    "A slider or number box: `description = value`."
    v = s.get('value')
    if isinstance(v, list): v = ' – '.join(map(str, v))  # range sliders
    return f'<span class="gmw-value">{_desc(s) or "value"} = {html.escape(str(v))}</span>'

def render_text(s:dict, states:dict) -> str:
    "A Text/Textarea: a disabled input showing its value."
    return f'<label class="gmw-value">{_desc(s)} <input disabled value="{html.escape(str(s.get("value", "")))}"></label>'

def render_dropdown(s:dict, states:dict) -> str:
    "A Dropdown/Select: its description and the chosen option."
    labels, idx = s.get('_options_labels', []), s.get('index')
    chosen = labels[idx] if isinstance(idx, int) and 0 <= idx < len(labels) else ''
    return f'<label class="gmw-value">{_desc(s)} <select disabled><option>{html.escape(str(chosen))}</option></select></label>'

def render_checkbox(s:dict, states:dict) -> str:
    "A Checkbox: disabled, ticked or not."
    return f'<label class="gmw-value"><input type="checkbox" disabled{" checked" if s.get("value") else ""}> {_desc(s)}</label>'

def render_progress(s:dict, states:dict) -> str:
    "An Int/FloatProgress as a `<progress>`."
    lo, hi, v = (float(s.get(k, d) or 0) for k, d in [('min', 0), ('max', 100), ('value', 0)])
    return f'<label class="gmw-value">{_desc(s)} <progress value="{v - lo:g}" max="{max(hi - lo, 1e-12):g}"></progress></label>'

def render_image(s:dict, states:dict) -> str:
    "An Image widget as a data URI."
    fmt, data = s.get('format', 'png'), s.get('value') or b''
    mime = 'image/svg+xml' if fmt == 'svg' else f'image/{fmt}'
    return f'<img src="data:{mime};base64,{base64.b64encode(bytes(data)).decode()}">'

def render_output_widget(s:dict, states:dict) -> str:
    "An Output widget: the outputs it captured."
    return f'<div class="gmw-output">{"".join(render_output(o, states) for o in s.get("outputs", []))}</div>'

def render_unknown(s:dict, states:dict) -> str:
    "A widget without a static form: its model name (and description or value, escaped)."
    what = s.get('description') or s.get('value')
    text = s.get('_model_name', 'widget') + (f': {what}' if isinstance(what, (str, int, float)) and what != '' else '')
    return f'<span class="gmw-unknown">{html.escape(str(text))}</span>'

WIDGET_RENDERERS = {
    **dict.fromkeys(['VBoxModel', 'HBoxModel', 'BoxModel', 'GridBoxModel'], render_box),
    **dict.fromkeys(['TabModel', 'AccordionModel', 'StackModel'], render_tabs),
    **dict.fromkeys(['HTMLModel', 'HTMLMathModel'], render_html),
    'LabelModel': render_label,
    **dict.fromkeys(['ButtonModel', 'ToggleButtonModel'], render_button),
    'ToggleButtonsModel': render_toggles,
    **dict.fromkeys(['IntSliderModel', 'FloatSliderModel', 'FloatLogSliderModel', 'IntRangeSliderModel',
                     'FloatRangeSliderModel', 'IntTextModel', 'FloatTextModel', 'BoundedIntTextModel',
                     'BoundedFloatTextModel', 'SelectionSliderModel', 'PlayModel'], render_value),
    **dict.fromkeys(['TextModel', 'TextareaModel', 'PasswordModel'], render_text),
    **dict.fromkeys(['DropdownModel', 'SelectModel', 'RadioButtonsModel'], render_dropdown),
    'CheckboxModel': render_checkbox,
    **dict.fromkeys(['IntProgressModel', 'FloatProgressModel'], render_progress),
    'ImageModel': render_image,
    'OutputModel': render_output_widget,
}

# ---------------------------------------------------------------- outputs and cells

_EXTERNAL = re.compile(r'<(script|link)\b[^>]*\b(?:src|href)\s*=\s*["\']?(?:https?:)?//[^>]*>(?:\s*</script>)?', re.I)

def strip_external(text:str) -> str:
    "`text` without `<script>`/`<link>` tags that load from another host."
    return _EXTERNAL.sub('', text)

def _text(v) -> str: return ''.join(v) if isinstance(v, list) else str(v)

def render_data(data:dict, states:dict) -> str:
    "The best static form of a display's MIME bundle: widget state, chart spec, image, HTML, text."
    view = data.get(WIDGET_VIEW)
    if view and view.get('model_id') in states: return render_widget(view['model_id'], states)
    vl = next((k for k in data if re.fullmatch(r'application/vnd\.vegalite\.v\d+\+json', k)), None)
    if vl:  # an Altair chart shown with a Vega-Lite renderer: drawn the same way, not counted as a widget chart
        key = f'vl{zlib.crc32(json.dumps(data[vl], sort_keys=True).encode()):08x}'
        return render_chart(key, {'spec': data[vl]}, 'gmw-vegalite')
    if 'image/svg+xml' in data: return f'<div class="gmw-image">{strip_external(_text(data["image/svg+xml"]))}</div>'
    for mime in ('image/png', 'image/jpeg', 'image/gif'):
        if mime in data: return f'<img class="gmw-image" src="data:{mime};base64,{_text(data[mime]).strip()}">'
    if 'text/html' in data: return f'<div class="gmw-html-output">{strip_external(_text(data["text/html"]))}</div>'
    if 'text/markdown' in data: return markdown(_text(data['text/markdown']))
    return f'<pre class="gmw-text">{html.escape(_text(data.get("text/plain", "")))}</pre>'

_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')

def render_output(out, states:dict) -> str:
    "One cell output as static HTML."
    kind = out.get('output_type')
    if kind == 'stream':
        return f'<pre class="gmw-{out.get("name", "stdout")}">{html.escape(_ANSI.sub("", _text(out.get("text", ""))))}</pre>'
    if kind == 'error':
        tb = _ANSI.sub('', '\n'.join(out.get('traceback', [])) or f"{out.get('ename')}: {out.get('evalue')}")
        return f'<pre class="gmw-error">{html.escape(tb)}</pre>'
    return render_data(out.get('data', {}), states)

def markdown(text:str) -> str:
    "Markdown as HTML (mistune, through nbconvert's filter), without scripts or stylesheets from other hosts."
    from nbconvert.filters import markdown2html_mistune
    return strip_external(markdown2html_mistune(text))

def highlight(code:str) -> str:
    "Python source as highlighted HTML."
    from pygments import highlight as hl
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer
    return hl(code, PythonLexer(), HtmlFormatter(cssclass='highlight'))

def strip_directives(source:str) -> str:
    "`source` without its leading `#|` lines."
    lines = source.splitlines()
    while lines and (lines[0].lstrip().startswith('#|') or not lines[0].strip()): lines.pop(0)
    return '\n'.join(lines)

def render_cell(cell, states:dict) -> str:
    "A cell as HTML, honouring nbdev's `hide`, `default_exp`, `echo: false` and `output: false`."
    if cell.cell_type == 'markdown': return f'<div class="gmw-md">{markdown(cell.source)}</div>'
    if cell.cell_type != 'code': return ''
    d = cell_directives(cell.source)
    if 'hide' in d or 'default_exp' in d or d.get('include', '').lower() == 'false': return ''
    src = '' if d.get('echo', '').lower() == 'false' else highlight(strip_directives(cell.source))
    outs = '' if d.get('output', '').lower() == 'false' else ''.join(render_output(o, states) for o in cell.get('outputs', []))
    return f'<div class="gmw-cell">{src}<div class="gmw-outputs">{outs}</div></div>'

# ---------------------------------------------------------------- pages

def page_title(nb, default:str='gmwidgets') -> str:
    "The first markdown heading of `nb`."
    for c in nb.cells:
        m = re.search(r'^#\s+(.+)$', c.source, re.M) if c.cell_type == 'markdown' else None
        if m: return m.group(1).strip()
    return default

def page_css() -> str:
    "The style sheet of every page (inline: pages load nothing)."
    from pygments.formatters import HtmlFormatter
    return CSS + HtmlFormatter().get_style_defs('.highlight')

CSS = """
body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;display:flex}
nav{width:220px;flex:none;padding:16px;background:#f6f7f9;border-right:1px solid #e3e3e3;min-height:100vh;box-sizing:border-box}
nav a{display:block;color:#245;text-decoration:none;padding:2px 0}nav a.current{font-weight:bold}
main{flex:1;max-width:1000px;padding:16px 32px;overflow-x:auto}
.highlight{background:#f7f7f7;border-radius:4px}.highlight pre{padding:8px;margin:8px 0 4px;overflow-x:auto}
pre{font-size:13px}.gmw-stderr{background:#fff4f0}.gmw-error{background:#fdd;padding:6px}
.gmw-outputs{margin:0 0 16px 8px}.gmw-vbox{display:flex;flex-direction:column;gap:4px}
.gmw-hbox{display:flex;flex-direction:row;flex-wrap:wrap;gap:6px;align-items:center}
.gmw-chart,.gmw-vegalite{margin:4px 0}.gmw-chart svg,.gmw-vegalite svg{max-width:100%;height:auto}.gmw-unknown,.gmw-missing{color:#888}
button.gmw-pressed{background:#ddd}.gmw-tab h5{margin:8px 0 2px}.gmw-value{margin-right:8px}
a.anchor-link{visibility:hidden;text-decoration:none;margin-left:6px;color:#999}:hover>a.anchor-link{visibility:visible}
table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee}
"""

def nav_html(links:list[tuple[str, str]], current:str|None=None) -> str:
    "The sidebar: a link per page `(file name, title)`."
    items = ''.join(f'<a href="{html.escape(f)}"{" class=current" if f == current else ""}>{html.escape(t)}</a>' for f, t in links)
    return f'<nav><a href="index.html"><b>gmwidgets</b></a><hr>{items}</nav>'

def page_html(title:str, body:str, nav:str='') -> str:
    "A complete, self-contained HTML page."
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>'
            f'<style>{page_css()}</style></head><body>{nav}<main>{body}</main></body></html>\n')

def build_page(nb, # an executed notebook (its widget state in `nb.metadata.widgets`)
               nav:str='', # sidebar HTML (see `nav_html`)
              ) -> str:
    "The static HTML page of an executed notebook: cells, outputs, and widgets drawn from their saved state."
    states = widget_states(nb)
    return page_html(page_title(nb), ''.join(render_cell(c, states) for c in nb.cells), nav)

def index_html(links:list[tuple[str, str]], nav:str) -> str:
    "The site's front page: a link per page."
    items = ''.join(f'<li><a href="{html.escape(f)}">{html.escape(t)}</a></li>' for f, t in links)
    body = (f'<h1>gmwidgets documentation</h1><p>Built offline from the notebooks by <code>tools/docs.py</code>; '
            f'widgets are shown as static snapshots of their final state.</p><ul>{items}</ul>')
    return page_html('gmwidgets', body, nav)

def build_docs(paths:list[Path|str]|None=None, # notebooks to build; default: `doc_notebooks()`
               out:Path|str=OUT, # output folder
               executed:dict|None=None, # path -> already executed notebook (not run again)
               timeout:int=600, # seconds allowed per cell
               skip_flags=DEFAULT_SKIP_FLAGS, # nbdev flags whose cells are not run
               log=print, # called with a line per page and per problem
               strict:bool=False, # raise if a page has problems (see `page_problems`)
              ) -> dict[str, Path]:
    "Execute the notebooks, write a page each into `out` (and an `index.html` if no `index.ipynb`); stem -> page path."
    paths = [Path(p) for p in (paths or doc_notebooks())]
    out, executed = Path(out), {Path(k).resolve(): v for k, v in (executed or {}).items()}
    out.mkdir(parents=True, exist_ok=True)
    links = [(f'{p.stem}.html', page_title(read_notebook(p), p.stem)) for p in paths]
    if 'index' not in {p.stem for p in paths}:  # nbs/index.ipynb (the README) is the front page when it is built
        (out/'index.html').write_text(index_html(links, nav_html(links)), encoding='utf-8')
    pages, problems = {}, []
    for p, (fname, _) in zip(paths, links):  # each page is written as soon as its notebook has run
        t0 = time.perf_counter()
        nb = executed.get(p.resolve()) or execute(p, timeout=timeout, skip_flags=skip_flags)
        page = build_page(nb, nav_html(links, fname))
        pages[p.stem] = out/fname
        pages[p.stem].write_text(page, encoding='utf-8')
        found = [f'{p.name}: {m}' for m in page_problems(nb, page)]
        log(f'{p.name}: {time.perf_counter() - t0:.1f} s' + ''.join(f'\n  PROBLEM {m}' for m in found))
        problems += found
    if strict and problems: raise RuntimeError(f'{len(problems)} problems in the pages: {problems}')
    return pages

# ---------------------------------------------------------------- checks

_LOADS = re.compile(r'<(?:script|link|img|iframe|source|embed)\b[^>]*\b(?:src|href)\s*=\s*["\']?(?:https?:)?//', re.I)
_FIGURE = re.compile(r'<figure class="gmw-chart" data-model="[^"]*">(.*?)</figure>', re.S)
_MARK = re.compile(r'<g class="mark-\w+ role-mark[^"]*"[^>]*>\s*<(?:path|circle|rect|line|text)\b')

def displayed_charts(nb) -> list[str]:
    "Ids of the chart models that the outputs of `nb` display (directly or inside containers), in order."
    states = widget_states(nb)
    views = [o.get('data', {}).get(WIDGET_VIEW, {}).get('model_id') for c in nb.cells for o in c.get('outputs', [])]
    return [m for v in views if v for m in chart_models(v, states) if chart_spec(states[m]['state'])]

def page_problems(nb, # the executed notebook
                  page:str, # its page, from `build_page(nb)`
                 ) -> list[str]:
    "What is wrong with `page`: external loads, charts not drawn, widgets missing from the saved state ([] if none)."
    figs = _FIGURE.findall(page)
    probs = [f'loads from the network: {m!r}' for m in _LOADS.findall(page)]
    n = len(displayed_charts(nb))
    if len(figs) != n: probs.append(f'{len(figs)} chart SVGs for {n} displayed chart models')
    probs += [f'chart {i} has no SVG marks' for i, f in enumerate(figs) if not _MARK.search(f)]
    probs += [f'{k} on the page' for k in ('gmw-chart-error', 'gmw-missing') if f'class="{k}"' in page]
    return probs

def main(argv:list[str]|None=None):
    "Command line: `python tools/docs.py [notebooks...] [--out DIR] [--timeout S] [--skip-flags F ...] [--strict]`."
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('notebooks', nargs='*', help='notebooks to build (default: every documentation notebook in nbs/)')
    ap.add_argument('--out', default=str(OUT), help='output folder (default: _docs/)')
    ap.add_argument('--timeout', type=int, default=600, help='seconds allowed per cell')
    ap.add_argument('--skip-flags', nargs='*', default=list(DEFAULT_SKIP_FLAGS), help='nbdev flags whose cells are not run')
    ap.add_argument('--strict', action='store_true', help='fail when a page has problems (undrawn charts, external loads)')
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    pages = build_docs(a.notebooks or None, a.out, timeout=a.timeout, skip_flags=tuple(a.skip_flags), strict=a.strict)
    print(f'{len(pages)} pages in {a.out} ({time.perf_counter() - t0:.1f} s)')

if __name__ == '__main__': main()
