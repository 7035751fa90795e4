"""Authoring aid: convert between a notebook and a 'percent' text file, so notebooks can be written in an editor.

    python tools/nbpct.py to-nb  src.py  nbs/01_data.ipynb   # percent text -> notebook (outputs dropped)
    python tools/nbpct.py to-pct nbs/01_data.ipynb out.py     # notebook -> percent text

Cells start with a line `# %%` (code) or `# %% [markdown]` (markdown; each line starts with `# `).
The notebook stays the source of truth: run `nbdev-export` and `nbdev-clean` after converting."""
import hashlib, json, re, sys
from pathlib import Path

_MARK = re.compile(r'^# %%( \[markdown\])?\s*$')
_META = {"kernelspec": {"display_name": "python3", "language": "python", "name": "python3"}}


def _cell(kind, lines, i):
    "Cell `i` of `kind` from source `lines` (trailing blank lines dropped); its id is a hash, so exports are stable."
    while lines and not lines[-1].strip(): lines.pop()
    if kind == 'markdown': lines = [l[2:] if l.startswith('# ') else l.lstrip('#') for l in lines]
    src = '\n'.join(lines)
    c = {"cell_type": kind, "id": hashlib.sha1(f"{i}:{src}".encode()).hexdigest()[:8], "metadata": {}, "source": src}
    if kind == 'code': c.update(execution_count=None, outputs=[])
    return c


def to_nb(text):
    "Notebook dict from percent `text`."
    cells, kind, buf = [], None, []
    for line in text.splitlines():
        m = _MARK.match(line)
        if m:
            if kind: cells.append(_cell(kind, buf, len(cells)))
            kind, buf = ('markdown' if m.group(1) else 'code'), []
        elif kind: buf.append(line)
    if kind: cells.append(_cell(kind, buf, len(cells)))
    return {"cells": cells, "metadata": _META, "nbformat": 4, "nbformat_minor": 5}


def to_pct(nb):
    "Percent text from notebook dict `nb`."
    out = []
    for c in nb['cells']:
        src = ''.join(c['source']) if isinstance(c['source'], list) else c['source']
        if c['cell_type'] == 'markdown':
            out.append('# %% [markdown]\n' + '\n'.join('# ' + l if l else '#' for l in src.split('\n')))
        else: out.append('# %%\n' + src)
    return '\n\n'.join(out) + '\n'


if __name__ == '__main__':
    cmd, src, dst = sys.argv[1:4]
    if cmd == 'to-nb': Path(dst).write_text(json.dumps(to_nb(Path(src).read_text()), indent=1) + '\n')
    elif cmd == 'to-pct': Path(dst).write_text(to_pct(json.loads(Path(src).read_text())))
    else: sys.exit(f"unknown command {cmd!r}: use to-nb or to-pct")
