"""Write README.md from nbs/index.ipynb (the README's source): markdown cells as they are, code cells fenced.

nbdev's own `nbdev-readme` renders through Quarto, whose PyPI package downloads its binary at install time
(not possible offline), so this small converter does the same job for a notebook of prose and code."""
import json
from pathlib import Path

def _src(c): return ''.join(c['source']) if isinstance(c['source'], list) else c['source']

def _cell_md(c):
    "Markdown for one cell; `#| hide` code cells and the `default_exp` cell are left out."
    src = _src(c).strip()
    if c['cell_type'] == 'markdown': return src
    if not src or src.startswith('#| hide') or 'default_exp' in src: return ''
    return f"```python\n{src}\n```"

def readme(nb_path='nbs/index.ipynb'):
    "README text from the index notebook."
    nb = json.loads(Path(nb_path).read_text())
    parts = [m for m in map(_cell_md, nb['cells']) if m]
    head = '<!-- Generated from nbs/index.ipynb by tools/readme.py; edit the notebook, not this file -->\n\n'
    return head + '\n\n'.join(parts) + '\n'

if __name__ == '__main__':
    root = Path(__file__).resolve().parent.parent
    (root / 'README.md').write_text(readme(root / 'nbs' / 'index.ipynb'))
