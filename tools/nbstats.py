"""The structure numbers issue #15 quotes: export-cell sizes, long lines, the import graph and its back-arrows.

Run: `.venv/bin/python tools/nbstats.py` (from the repository root; needs grimp, which import-linter installs).
Export cells: cells of `nbs/*.ipynb` starting with `#| export`, lines counted without the directive line.
Import graph: grimp, module-level and function-level imports inside `gmwidgets`. A back-arrow is an import from a
module into a higher layer (LAYERS below, the same order as `[tool.importlinter]` in pyproject.toml), or between two
models (the models layer is independent: shared helpers live below it)."""
from __future__ import annotations
import json, statistics, sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = [  # lowest first; `gmwidgets` is the package's own __init__ (it forwards to the extension)
    ['hooks'], ['core'], ['data', 'sampling', 'decimate', 'metrics', 'tseval'],
    ['autoregressive', 'vae', 'gan', 'diffusion'], ['loaders', 'train'],
    ['charts', 'vegachart', 'livechart', 'follow', 'sampler', 'dashboard', 'latent', 'compare', 'runschart',
     'trackers', 'lightning'],
    ['runspanel', 'ext', 'serverext', 'runsapi', 'gmwidgets']]
INDEPENDENT = {3}  # the models import no other model


def export_cells():
    "(notebook, first line after the directive, number of lines) of every export cell."
    for nb in sorted((REPO/'nbs').glob('*.ipynb')):
        for c in json.loads(nb.read_text())['cells']:
            src = ''.join(c['source']).splitlines() if c['cell_type'] == 'code' else []
            if src and src[0].replace(' ', '').startswith('#|export'):
                body = src[1:]
                head = next((line for line in body if line.strip() and not line.startswith('#')), '')
                yield nb.stem, head.strip()[:60], len(body)


def long_lines(limit=120):
    "{notebook: count} of code-cell lines over `limit` characters in nbs/, the source (nbdev's own `__all__` apart)."
    out = {}
    for nb in sorted((REPO/'nbs').glob('*.ipynb')):
        cells = [''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code']
        n = sum(len(line) > limit for src in cells for line in src.splitlines())
        if n: out[nb.name] = n
    return out


def graph_numbers():
    "Modules, arrows, cycles and back-arrows of the package's import graph."
    import grimp
    g = grimp.build_graph('gmwidgets', include_external_packages=False)
    short = lambda m: m.split('.', 1)[1] if '.' in m else m
    mods = sorted(short(m) for m in g.modules if m != 'gmwidgets._modidx')
    arrows = sorted({(short(m), short(i)) for m in g.modules for i in g.find_modules_directly_imported_by(m)
                     if '_modidx' not in m + i})
    rank = {m: i for i, layer in enumerate(LAYERS) for m in layer}
    unplaced = [m for m in mods if m not in rank]
    back = [(a, b) for a, b in arrows if a in rank and b in rank and
            (rank[b] > rank[a] or (rank[a] == rank[b] and rank[a] in INDEPENDENT and a != b))]
    # cycles: strongly connected components with more than one module (Tarjan's algorithm)
    succ = {m: [b for a, b in arrows if a == m] for m in mods}
    index, low, stack, on, sccs = {}, {}, [], set(), []
    def visit(v):
        index[v] = low[v] = len(index); stack.append(v); on.add(v)
        for w in succ.get(v, []):
            if w not in index: visit(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: sccs.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for m in mods:
        if m not in index: visit(m)
    return mods, arrows, sccs, back, unplaced


def main():
    cells = list(export_cells())
    sizes = [n for _, _, n in cells]
    print(f"export cells: {len(cells)}, median {statistics.median(sizes):g} lines, "
          f"over 40 lines: {sum(n > 40 for n in sizes)}")
    for nb, head, n in sorted(cells, key=lambda c: -c[2])[:8]: print(f"  {n:4d}  {nb}: {head}")
    ll = long_lines()
    print(f"code lines over 120 characters in nbs/: {sum(ll.values())}")
    for f, n in sorted(ll.items(), key=lambda kv: -kv[1]): print(f"  {n:4d}  {f}")
    mods, arrows, sccs, back, unplaced = graph_numbers()
    print(f"import graph (module- and function-level): {len(mods)} modules, {len(arrows)} arrows, "
          f"{len(sccs)} cycles, {len(back)} back-arrows")
    for c in sccs: print('  cycle:', ' <-> '.join(c))
    for a, b in back: print(f'  back-arrow: {a} -> {b}')
    if unplaced: print('  modules in no layer:', ', '.join(unplaced))


if __name__ == '__main__': main()
