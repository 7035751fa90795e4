"""Wheel tier: what a user installs. The sdist and the wheel are built as a release would build them
(`python -m build`: the sdist, then the wheel from the sdist), the wheel is installed alone (not editable, no dev
extra) into a fresh venv in a temp folder outside the checkout, and everything below runs in that venv, from a
folder outside the checkout, so nothing resolves from the source tree."""
import json, os, shutil, subprocess, sys, zipfile
from email.parser import Parser
from pathlib import Path
import pytest
from harness import NBS, REPO, WIDGET_MIME, error_outputs, output_mimetypes, read_notebook

pytestmark = pytest.mark.wheel

OPTIONAL = {'lightning': 'lightning'}  # module -> the extra that brings what it needs
SHIPPED = ('gmwidgets/static/', 'gmwidgets/vendored/')  # package data a user cannot do without

def sh(*cmd, cwd=None, env=None, timeout=900) -> str:
    "Run `cmd`; its stdout, or a failure that shows what it printed."
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, (f"{' '.join(map(str, cmd))} exited "
                               f"{p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p.stdout

def build(outdir:Path, *flags) -> list[Path]:
    "Build from this checkout into `outdir` with `python -m build`; the files made."
    sh(sys.executable, '-m', 'build', *flags, '--outdir', outdir, REPO)
    return sorted(outdir.iterdir())

@pytest.fixture(scope='session')
def dists(tmp_path_factory) -> dict:
    "The sdist, the wheel built from it, and a wheel built straight from the tree."
    made = build(tmp_path_factory.mktemp('dist'))
    (sdist,), (wheel,) = [p for p in made if p.name.endswith('.tar.gz')], [p for p in made if p.suffix == '.whl']
    (direct,) = build(tmp_path_factory.mktemp('dist-tree'), '--wheel')
    return dict(sdist=sdist, wheel=wheel, direct=direct)

def user_env(venv:Path) -> dict:
    "The environment of a shell in which `venv` is active: its bin first on PATH, nothing from this checkout."
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'JUPYTER_PATH')}
    return env | {'PATH': f"{venv/'bin'}{os.pathsep}{env.get('PATH', '')}", 'VIRTUAL_ENV': str(venv),
                  'OMP_NUM_THREADS': '1'}

@pytest.fixture(scope='session')
def venv(dists, tmp_path_factory) -> Path:
    "A fresh venv outside the checkout with only the wheel and its declared dependencies (torch from constraints.txt)."
    root = tmp_path_factory.mktemp('user')
    assert REPO not in root.parents
    v = root/'venv'
    sh(sys.executable, '-m', 'venv', v)
    sh(v/'bin'/'python', '-m', 'pip', 'install', '-q', '-c', REPO/'constraints.txt', dists['wheel'], cwd=root,
       env=user_env(v))
    return v

def run_py(venv:Path, code:str, cwd:Path) -> str:
    "Run `code` with the venv's python in `cwd` (outside the checkout); its stdout."
    return sh(venv/'bin'/'python', '-c', code, cwd=cwd, env=user_env(venv))

def wheel_files(path:Path) -> set[str]:
    "The package files in a wheel (without its .dist-info)."
    with zipfile.ZipFile(path) as z: return {n for n in z.namelist() if '.dist-info/' not in n}

def test_wheel_from_sdist_holds_the_same_files(dists):
    "A wheel built from the sdist equals one built from the tree, and both carry the JS and the vendored data."
    assert wheel_files(dists['wheel']) == wheel_files(dists['direct'])
    tracked = sh('git', 'ls-files', *SHIPPED, cwd=REPO).split()
    assert tracked and set(tracked) <= wheel_files(dists['wheel'])
    assert {'gmwidgets/static/livechart.js', 'gmwidgets/vendored/names.txt'} <= set(tracked)

def wheel_metadata(path:Path):
    "The wheel's METADATA as a message."
    with zipfile.ZipFile(path) as z:
        (name,) = [n for n in z.namelist() if n.endswith('.dist-info/METADATA')]
        return Parser().parsestr(z.read(name).decode())

def test_metadata_declares_a_torch_range_and_the_extras(dists):
    "torch is a range (a user's own build is kept), the version is the package's, and the extras exist."
    meta = wheel_metadata(dists['wheel'])
    reqs = meta.get_all('Requires-Dist')
    (torch,) = [r for r in reqs if r.startswith('torch')]
    assert '>=' in torch and '==' not in torch, torch
    assert {'lightning', 'parquet', 'all'} <= set(meta.get_all('Provides-Extra'))
    init = (REPO/'gmwidgets'/'__init__.py').read_text()
    assert f'__version__ = "{meta["Version"]}"' in init

def test_pip_check_is_clean(venv):
    assert 'No broken requirements' in sh(venv/'bin'/'python', '-m', 'pip', 'check', env=user_env(venv))

IMPORT_ALL = """
import importlib, importlib.metadata, json, pkgutil, gmwidgets, torch
out = {'file': gmwidgets.__file__, 'version': gmwidgets.__version__, 'dist': importlib.metadata.version('gmwidgets'),
       'cuda': torch.version.cuda, 'ok': [], 'failed': {}}
for m in pkgutil.iter_modules(gmwidgets.__path__):
    try: importlib.import_module(f'gmwidgets.{m.name}'); out['ok'].append(m.name)
    except Exception as e: out['failed'][m.name] = f'{type(e).__name__}: {e}'
print(json.dumps(out))
"""

def test_every_module_imports_from_the_wheel(venv, tmp_path):
    "Every module imports with only the declared dependencies; an optional one names its extra in one line."
    out = json.loads(run_py(venv, IMPORT_ALL, tmp_path))
    assert Path(out['file']).is_relative_to(venv), out['file']             # the installed copy, not the checkout
    assert out['version'] == out['dist']
    assert out['cuda'] is None                                              # constraints.txt kept the CPU build
    assert set(out['failed']) == set(OPTIONAL), out['failed']
    for mod, extra in OPTIONAL.items():
        msg = out['failed'][mod]
        assert msg.startswith('ImportError') and f"pip install 'gmwidgets[{extra}]'" in msg and '\n' not in msg
    assert {'core', 'data', 'train', 'livechart', 'dashboard', 'gan', 'diffusion', 'ext'} <= set(out['ok'])

UNDECLARED = r"""
import ast, json, re, sys, importlib.metadata as md, pathlib, gmwidgets
norm = lambda name: re.sub(r'[-_.]+', '-', name).lower()
declared = {norm(re.split(r'[<>=!~;\[ (]', r, maxsplit=1)[0]) for r in md.requires('gmwidgets') if 'extra ==' not in r}
dists = md.packages_distributions()
missing = {}
for f in sorted(pathlib.Path(gmwidgets.__file__).parent.glob('*.py')):
    # module level only: imports inside functions or try are optional, guarded
    for node in ast.parse(f.read_text()).body:
        if isinstance(node, ast.Import): names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0: names = [node.module]
        else: continue
        for top in {n.split('.')[0] for n in names} - set(sys.stdlib_module_names) - {'gmwidgets'}:
            if not {norm(d) for d in dists.get(top, [])} & declared: missing.setdefault(top, []).append(f.name)
print(json.dumps(missing))
"""

def test_every_module_level_import_is_declared(venv, tmp_path):
    "Each package a module imports at its top is a declared dependency (not one that arrives only through another)."
    assert json.loads(run_py(venv, UNDECLARED, tmp_path)) == {}

LOAD_DATASETS = """
import json
from gmwidgets.core import dataset_entries, load_dataset
sizes = {}
for e in dataset_entries():
    data = load_dataset(e.name)
    sizes[e.name] = [data.n(split) for split in ('train', 'valid', 'test')]
print(json.dumps(sizes))
"""

def test_every_dataset_loads_from_the_wheel(venv, tmp_path):
    "Each built-in dataset loads offline from the vendored files inside the installed package."
    sizes = json.loads(run_py(venv, LOAD_DATASETS, tmp_path))
    assert {'names', 'sentences', 'sines', 'stocks', 'energy'} <= set(sizes)
    assert all(n > 0 for splits in sizes.values() for n in splits), sizes   # no split is empty

EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read('quickstart.ipynb', as_version=4)
nb.cells.append(nbformat.v4.new_code_cell('import sys, gmwidgets; print(sys.executable); print(gmwidgets.__file__)'))
NotebookClient(nb, timeout=300, kernel_name='gmwidgets-wheel', resources={'metadata': {'path': '.'}}).execute()
nbformat.write(nb, 'executed.ipynb')
"""

def kernelspec(venv:Path, where:Path) -> Path:
    "A kernelspec `gmwidgets-wheel` that starts the venv's python, in a JUPYTER_PATH folder of its own."
    spec = where/'kernels'/'gmwidgets-wheel'
    spec.mkdir(parents=True)
    argv = [str(venv/'bin'/'python'), '-m', 'ipykernel_launcher', '-f', '{connection_file}']
    (spec/'kernel.json').write_text(json.dumps({'argv': argv, 'display_name': 'gmwidgets wheel', 'language': 'python'}))
    return where

def test_quickstart_runs_in_the_wheels_kernel(venv, tmp_path):
    "The quickstart, copied outside the checkout, runs end to end (slow cells too) in a kernel of the user's venv."
    shutil.copy(NBS/'quickstart.ipynb', tmp_path/'quickstart.ipynb')
    env = user_env(venv) | {'JUPYTER_PATH': str(kernelspec(venv, tmp_path/'jupyter'))}
    sh(venv/'bin'/'python', '-c', EXECUTE, cwd=tmp_path, env=env)
    nb = read_notebook(tmp_path/'executed.ipynb')
    assert error_outputs(nb) == []
    assert WIDGET_MIME in output_mimetypes(nb)
    exe, pkg = nb.cells[-1].outputs[0]['text'].split()
    assert Path(exe).parent == venv/'bin' and Path(pkg).is_relative_to(venv)
    assert (tmp_path/'names-gru.safetensors').exists()                     # saved where the user works

PARQUET = """
import importlib.util, pandas as pd
from gmwidgets.dashboard import history_bytes
assert importlib.util.find_spec('pyarrow') is None, 'pyarrow is not declared: it should not be here'
try: history_bytes(pd.DataFrame({'step': [1], 'loss': [2.0]}), format='parquet')
except ImportError as e: print(e)
"""

def test_parquet_export_without_its_extra_names_it(venv, tmp_path):
    "Without the `parquet` extra, a Parquet export says in one line what to install (CSV needs nothing)."
    out = run_py(venv, PARQUET, tmp_path).strip()
    assert "pip install 'gmwidgets[parquet]'" in out and '\n' not in out

def test_install_enables_the_server_extension(venv, tmp_path):
    "pip alone enables gmwidgets.serverext (which serves the Vega runtime): the wheel's config file lands in the venv."
    p = subprocess.run([venv/'bin'/'jupyter', 'server', 'extension', 'list'], cwd=tmp_path, env=user_env(venv),
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert 'gmwidgets.serverext' in out and 'enabled' in out.split('gmwidgets.serverext', 1)[1].splitlines()[0], out
