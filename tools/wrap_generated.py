"""Wrap the lines nbdev generates past 120 characters (run after `nbdev-export`, by `make sync` and tools/test.sh).

nbdev writes `__all__` wrapped at 120 characters before the `__all__ = ` prefix, and the package docstring's
`Modules:` list one line a module; the notebooks cannot shorten either, so this rewraps them (ruff's E501 holds)."""
import ast, re
from pathlib import Path
from textwrap import TextWrapper

LIMIT = 120
ROOT = Path(__file__).resolve().parent.parent/'gmwidgets'
ALL = re.compile(r"^__all__ = \[.*?\]$", re.S | re.M)


def wrap_all(text:str) -> str:
    "`text` with its `__all__` list rewrapped to lines of at most LIMIT characters."
    def rewrap(m):
        names = ast.literal_eval(m.group(0)[len('__all__ = '):])
        tw = TextWrapper(LIMIT, initial_indent='__all__ = ', subsequent_indent=' ' * 11, break_long_words=False)
        return '\n'.join(tw.wrap(str(names)))
    return ALL.sub(rewrap, text, count=1)


def wrap_modules_list(text:str) -> str:
    "`text` with the long `- `gmwidgets.x`: ...` lines of the package docstring wrapped, continued two spaces in."
    tw = TextWrapper(LIMIT, subsequent_indent='  ', break_long_words=False, break_on_hyphens=False)
    return '\n'.join('\n'.join(tw.wrap(line)) if line.startswith('- `gmwidgets.') and len(line) > LIMIT else line
                     for line in text.split('\n'))


if __name__ == '__main__':
    for f in sorted(ROOT.glob('*.py')):
        if f.name == '_modidx.py': continue
        old = f.read_text()
        new = wrap_all(old)
        if f.name == '__init__.py': new = wrap_modules_list(new)
        if new != old: f.write_text(new)
