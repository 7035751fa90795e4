"""The hash of the JupyterLab extension's sources (labextension/), recorded in the committed build
(gmwidgets/labextension/sources.sha256) by `make labext`; tests/test_labextension.py fails when they differ.
`python tools/labext_hash.py` prints it, `--write` records it."""
import hashlib, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ['package.json', 'package-lock.json', 'tsconfig.json', 'src/*.ts', 'style/*.css']
RECORD = REPO/'gmwidgets'/'labextension'/'sources.sha256'

def sources_hash() -> str:
    "sha256 over the names and bytes of the extension's source files."
    h = hashlib.sha256()
    for pattern in SOURCES:
        for p in sorted((REPO/'labextension').glob(pattern)):
            h.update(p.relative_to(REPO).as_posix().encode() + b'\0' + p.read_bytes() + b'\0')
    return h.hexdigest()

if __name__ == '__main__':
    if '--write' in sys.argv: RECORD.write_text(sources_hash() + '\n')
    print(sources_hash())
