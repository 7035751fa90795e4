"""The server extension: the wheel carries the config file that enables it at install, and a real Jupyter server
serves the Vega runtime and the views' code from the installed package (no login needed, cached for good under its
versioned URL)."""
import json, shutil, subprocess, sys, tempfile, urllib.request, zipfile
from pathlib import Path
import pytest
import harness
from gmwidgets.livechart import vega_key, vega_source
from gmwidgets.vegachart import static_text

CONFIG = 'etc/jupyter/jupyter_server_config.d/gmwidgets.json'


def test_wheel_enables_the_extension_and_ships_the_runtime(tmp_path):
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', str(harness.REPO),
                    '-w', str(tmp_path)], check=True, capture_output=True, timeout=300)
    (whl,) = tmp_path.glob('gmwidgets-*.whl')
    with zipfile.ZipFile(whl) as z:
        names = z.namelist()
        (cfg,) = [n for n in names if n.endswith('.data/data/' + CONFIG)]
        assert json.loads(z.read(cfg)) == {'ServerApp': {'jpserver_extensions': {'gmwidgets.serverext': True}}}
        assert {'gmwidgets/static/vega.js', 'gmwidgets/static/vegaload.js', 'gmwidgets/static/viewload.js',
                'gmwidgets/static/dashboard.js', 'gmwidgets/serverext.py'} <= set(names)


def test_a_jupyter_server_serves_the_runtime():
    tmp = Path(tempfile.mkdtemp(prefix='gmw-ext-'))
    (tmp/'root').mkdir()
    server = harness.LabServer(tmp/'root', tmp=tmp/'server').start()
    try:
        url = f'{server.url}/gmwidgets/static/vega.js?v={vega_key()}'
        with urllib.request.urlopen(url, timeout=30) as r:  # no token: public package data, like Jupyter's /static/
            body, headers = r.read(), r.headers
        assert body == vega_source()
        assert 'javascript' in headers['Content-Type'] and 'max-age' in headers.get('Cache-Control', '')
        for name in ('vegaload.js', 'livechart.js', 'dashboard.js'):  # the view code the widgets' loaders ask for
            with urllib.request.urlopen(f'{server.url}/gmwidgets/static/{name}?v=1', timeout=30) as r:
                assert r.read().decode() == static_text(name)
        with pytest.raises(urllib.error.HTTPError):  # nothing outside the static folder
            urllib.request.urlopen(f'{server.url}/gmwidgets/static/../serverext.py', timeout=30)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
