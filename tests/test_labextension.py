"""The prebuilt JupyterLab extension (labextension/ -> gmwidgets/labextension/): the committed build is the build of
the committed sources (`make labext` records their hash), it is the `gmwidgets` extension with its remote entry, and
the wheel installs it and the Runs panel's server config as data files."""
import json, subprocess, sys, zipfile
import pytest
import harness

sys.path.insert(0, str(harness.REPO/'tools'))
from labext_hash import RECORD, sources_hash  # noqa: E402

BUILD = harness.REPO/'gmwidgets'/'labextension'


def test_the_build_matches_the_sources():
    assert RECORD.read_text().strip() == sources_hash(), \
        'labextension/ changed since the last build: run `make labext` and commit gmwidgets/labextension/'


def test_the_build_is_a_federated_extension():
    meta = json.loads((BUILD/'package.json').read_text())
    assert meta['name'] == 'gmwidgets' and meta['jupyterlab']['_build']['load'].startswith('static/remoteEntry.')
    assert (BUILD/meta['jupyterlab']['_build']['load']).is_file()


@pytest.mark.wheel
def test_the_wheel_installs_the_extension(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', str(harness.REPO),
                    '-w', str(tmp_path)], check=True, capture_output=True, timeout=300)
    (whl,) = tmp_path.glob('gmwidgets-*.whl')
    names = zipfile.ZipFile(whl).namelist()
    data = {n.split('.data/data/', 1)[1] for n in names if '.data/data/' in n}
    built = {f'share/jupyter/labextensions/gmwidgets/{p.relative_to(BUILD).as_posix()}'
             for p in BUILD.rglob('*') if p.is_file() and p.name != 'sources.sha256'}
    assert built <= data, built - data
    assert 'etc/jupyter/jupyter_server_config.d/gmwidgets_runs.json' in data
    assert {'gmwidgets/runspanel.py', 'gmwidgets/runsapi.py'} <= set(names)
