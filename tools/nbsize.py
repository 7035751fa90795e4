"""Where the bytes of a saved notebook go: each output (by MIME type) and each widget model (by class and trait).

    python tools/nbsize.py path/to/saved.ipynb [more.ipynb ...]

Sizes are the bytes `json.dumps` writes for each part (close to the file's own, which nbformat indents). Widget models
are grouped by their model name, with their largest traits (binary buffers counted by their base64 length)."""
import json, sys
from collections import Counter
from pathlib import Path

STATE = 'application/vnd.jupyter.widget-state+json'


def n(x) -> int: return len(json.dumps(x))


def output_parts(nb:dict) -> Counter:
    "Bytes per (cell index, MIME type) of every output."
    out = Counter()
    for i, c in enumerate(nb['cells']):
        for o in c.get('outputs', []):
            for mime, v in o.get('data', {}).items(): out[(i, mime)] += n(v)
            if 'text' in o: out[(i, o.get('name', 'stream'))] += n(o['text'])
    return out


def model_parts(nb:dict) -> tuple[Counter, dict]:
    "Bytes per model name (and how many models), and bytes per (model name, trait) over all models."
    models, traits, count = Counter(), Counter(), Counter()
    for m in nb.get('metadata', {}).get('widgets', {}).get(STATE, {}).get('state', {}).values():
        name = m['model_name']
        models[name] += n(m); count[name] += 1
        for k, v in m['state'].items(): traits[(name, k)] += n(v)
        for b in m.get('buffers', []): traits[(name, b['path'][0])] += len(b['data'])
    return Counter({f"{k} x{count[k]}": v for k, v in models.items()}), traits


def report(path:Path, top:int=12):
    nb = json.loads(path.read_text())
    size, outs = path.stat().st_size, output_parts(nb)
    models, traits = model_parts(nb)
    cells = sum(n(c.get('source', '')) for c in nb['cells'])
    print(f"{path}: {size:,} bytes; cell sources {cells:,}; outputs {sum(outs.values()):,}; "
          f"widget models {sum(models.values()):,}")
    print('  largest outputs (cell, MIME):')
    for k, v in outs.most_common(top): print(f"    {v:>9,}  {k}")
    print('  widget models by name:')
    for k, v in models.most_common(top): print(f"    {v:>9,}  {k}")
    print('  largest traits (model, trait):')
    for k, v in traits.most_common(top): print(f"    {v:>9,}  {k}")


if __name__ == '__main__':
    for p in sys.argv[1:]: report(Path(p))
