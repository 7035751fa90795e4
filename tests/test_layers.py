"""The import layers of DESIGN.md hold (`lint-imports`, the contracts in pyproject.toml), and a back-arrow breaks them:
a copy of the package with one import against the layers added fails the same command."""
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent/'lint-imports'


def lint(root:Path) -> subprocess.CompletedProcess:
    "`lint-imports` on the package and pyproject.toml under `root`, the package imported from there."
    env = {**os.environ, 'PYTHONPATH': str(root)}
    return subprocess.run([str(LINT), '--no-cache', '--config', str(root/'pyproject.toml')], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)


def copy_with(tmp:Path, module:str, line:str) -> Path:
    "A copy of the package and its pyproject.toml in `tmp`, with `line` appended to `module`."
    shutil.copytree(REPO/'gmwidgets', tmp/'gmwidgets',
                    ignore=shutil.ignore_patterns('__pycache__', 'static', 'vendored'))
    shutil.copy(REPO/'pyproject.toml', tmp/'pyproject.toml')
    with open(tmp/'gmwidgets'/f'{module}.py', 'a') as f: f.write('\n' + line + '\n')
    return tmp


@pytest.fixture(scope='module')
def _lint_available():
    if not LINT.exists(): pytest.skip(f'{LINT} not installed: pip install -e ".[dev]"')


def test_the_package_keeps_its_layers(_lint_available):
    r = lint(REPO)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'Contracts: 2 kept, 0 broken' in r.stdout


@pytest.mark.parametrize('module, line, arrow', [
    ('train', 'def _show(run):\n    from gmwidgets.dashboard import TrainingDashboard  # a view, from the run layer\n'
              '    return TrainingDashboard(run)', 'gmwidgets.train -> gmwidgets.dashboard'),
    ('core', 'from gmwidgets.data import Vocab', 'gmwidgets.core -> gmwidgets.data'),
    ('vae', 'from gmwidgets.autoregressive import RNNLM  # one model from another',
     'gmwidgets.vae -> gmwidgets.autoregressive'),
    ('metrics', 'from gmwidgets.autoregressive import RNNLM', 'gmwidgets.metrics -> gmwidgets.autoregressive'),
])
def test_a_back_arrow_fails(tmp_path, _lint_available, module, line, arrow):
    r = lint(copy_with(tmp_path, module, line))
    assert r.returncode != 0 and 'BROKEN' in r.stdout, r.stdout + r.stderr
    assert arrow in r.stdout, r.stdout
