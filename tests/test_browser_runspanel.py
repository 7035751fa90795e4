"""The Runs panel in a real JupyterLab (the prebuilt extension installed as the wheel would install it): two notebooks
training and a script writing a history file all appear; Stop stops a kernel run; the status bar shows progress while
the notebook is elsewhere; a run's chart tab (the LiveChart's Vega view) grows, for a kernel run and a script's file;
a reload keeps the list; a name with HTML is shown as text; a malformed file is an error row. Without a browser: the
endpoints need the token and refuse paths outside the runs directory."""
import json, subprocess, sys, urllib.error, urllib.request
from pathlib import Path
import pytest
from harness import new_notebook, wait_until

TRAIN = '''
import time, torch
from gmwidgets.train import Run
class Slow(torch.nn.Module):
    def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.ones(1))
    def loss(self, batch): time.sleep(0.05); return {{'loss': (self.w ** 2).sum() + batch.mean() * 0}}
run = Run(Slow(), [torch.zeros(2, 3)] * 4, max_steps=100_000, batch_size=2, lr=1e-3, name={name!r}).start()
'''

SCRIPT = '''
import sys, time
from gmwidgets.follow import HistoryWriter
w = HistoryWriter(sys.argv[1])
for i in range(1, 100_000):
    w.write(i, loss=1 / i); time.sleep(0.05)
'''

_ROWS = '''() => [...document.querySelectorAll('#gmwidgets-runs .gmw-run')].map(r => ({
  id: r.dataset.id, state: r.dataset.state, name: r.querySelector('.gmw-run-name').textContent,
  nameHTML: r.querySelector('.gmw-run-name').innerHTML, source: r.querySelector('.gmw-run-source').textContent,
  progress: r.querySelector('.gmw-run-progress').textContent, error: r.querySelector('.gmw-run-error').textContent,
  spark: (r.querySelector('.gmw-spark polyline').getAttribute('points') || '').split(' ').filter(p => p).length}))'''


def panel_rows(lab) -> dict:
    return {r['name']: r for r in lab.page.evaluate(_ROWS)}


def wait_rows(lab, cond, what, timeout=30):
    last = {}
    def ok():
        nonlocal last
        last = panel_rows(lab)
        return cond(last)
    try: wait_until(ok, timeout, what)
    except TimeoutError as e: raise TimeoutError(f'{e}; panel rows: {last}') from None
    return last


def row(lab, name):
    return lab.page.locator('#gmwidgets-runs .gmw-run', has=lab.page.locator('.gmw-run-name', has_text=name))


@pytest.fixture
def script(lab_server):
    "A training script in another process writing `runs/script<b>.jsonl` under the server root, and a malformed file."
    runs = Path(lab_server.root_dir)/'runs'
    runs.mkdir(exist_ok=True)
    (runs/'broken.jsonl').write_text('{"step": 1, "loss": 2.0}\n[1, 2]\n')
    proc = subprocess.Popen([sys.executable, '-c', SCRIPT, str(runs/'script<b>.jsonl')])
    yield runs
    proc.kill(); proc.wait()


# JS: the LiveChart view's state in the chart tab of a run (`el.__gmwidgets`, set by gmwidgets/static/livechart.js):
# points in its Vega dataset, items of its line marks in the scenegraph, series, the EMA signal, log-scaled scales.
_CHART = """(run) => { const tab = [...document.querySelectorAll('.gmw-chart')].find(t => t.dataset.run === run);
  const c = tab && tab.querySelector('.gmwidgets-chart'), s = c && c.__gmwidgets;
  if (!s || !s.view) return null;
  let marks = 0;
  const walk = (n) => {
    if (n.marktype === 'line') marks += (n.items || []).length;
    for (const i of n.items || []) walk(i); };
  walk(s.view.scenegraph().root);
  const rows = s.view.data('points');
  return {rows: rows.length, marks, series: [...new Set(rows.map(d => d.series))].sort(),
          last: rows.reduce((m, d) => Math.max(m, d.step), -1), smooth: s.view.signal('smooth_on'),
          log: Object.values(s.view._runtime.scales).some(x => x.value.type === 'log'),
          canvas: !!c.querySelector('canvas'),
          error: (tab.querySelector('.gmwidgets-error') || {}).textContent || ''}; }"""


def chart_state(lab, run_id):
    return lab.page.evaluate(_CHART, run_id)


def chart_grows(lab, run_id) -> dict:
    "Wait for the chart tab of `run_id` to draw, then to draw later steps; its state then."
    first = None
    def drawn():
        nonlocal first
        first = chart_state(lab, run_id)
        return first and first['marks'] > 0
    wait_until(drawn, 40, f'the chart of {run_id} drawn')
    last = {}
    def grows():
        nonlocal last
        last = chart_state(lab, run_id)
        return last['last'] > first['last'] + 5 and last['rows'] > first['rows'] and last['marks'] > first['marks']
    try: wait_until(grows, 20, f'the chart of {run_id} grows')
    except TimeoutError as e: raise TimeoutError(f'{e}; first {first}, last {last}') from None
    return last


def test_runs_panel(lab, lab_server, script):
    for nb, name in [('runs_a.ipynb', 'alpha'), ('runs_b.ipynb', 'beta')]:
        new_notebook(lab_server, nb)
        lab.open(nb)
        lab.run_cell_source(TRAIN.format(name=name))
    lab.page.evaluate("window.jupyterapp.commands.execute('gmwidgets:open-runs')")
    rows = wait_rows(lab, lambda r: {'alpha', 'beta', 'script<b>', 'broken'} <= set(r)
                     and r['alpha']['state'] == r['beta']['state'] == 'running' and r['script<b>']['spark'] > 2,
                     'both kernel runs and the script in the panel')
    assert (rows['alpha']['source'], rows['beta']['source']) == ('runs_a.ipynb', 'runs_b.ipynb')
    assert rows['beta']['progress'].startswith('step ') and '/100,000' in rows['beta']['progress']
    assert rows['script<b>']['nameHTML'] == 'script&lt;b&gt;' and not lab.page.query_selector('#gmwidgets-runs b')
    assert rows['broken']['state'] == 'error' and 'JSON object' in rows['broken']['error']
    assert rows['alpha']['spark'] >= 2 and rows['beta']['id'].startswith('k:')

    # the status bar shows a training run's progress, though the notebook shows no dashboard
    status = lab.page.locator('.gmw-status')
    status.wait_for(state='visible')
    shows = lambda: ' · step ' in status.text_content() and 'ETA' in status.text_content()
    wait_until(shows, 10, 'status bar progress')

    # Stop in the panel stops alpha's kernel run; beta trains on
    row(lab, 'alpha').locator('.gmw-run-stop').click()
    wait_rows(lab, lambda r: r['alpha']['state'] == 'stopped', 'alpha stopped')
    assert lab.run_cell_source('print(run.state)')[0]['text'].strip() == 'running'  # this page's notebook is beta's

    # a run's chart opens in a tab: the LiveChart's Vega view, growing live, for a kernel run and for a file-only run
    row(lab, 'beta').locator('.gmw-run-chart').click()
    kernel = chart_grows(lab, rows['beta']['id'])
    assert {'loss', 'lr'} <= set(kernel['series']) and kernel['marks'] > 0 and kernel['canvas']  # the dashboard's terms
    row(lab, 'script<b>').locator('.gmw-run-chart').click()
    script = chart_grows(lab, 'f:script<b>.jsonl')
    assert script['series'] == ['loss'] and script['error'] == ''
    # the dashboard's toggles: the EMA layer's signal, and a spec with log-scaled y axes (the rows kept)
    tab = lab.page.locator('.gmw-chart[data-run="f:script<b>.jsonl"]')
    tab.locator('.gmw-chart-smooth').check()
    wait_until(lambda: chart_state(lab, 'f:script<b>.jsonl')['smooth'] is True, 10, 'smooth on')
    tab.locator('.gmw-chart-log').check()
    wait_until(lambda: chart_state(lab, 'f:script<b>.jsonl')['log'], 10, 'log-scaled y axes')
    assert chart_state(lab, 'f:script<b>.jsonl')['rows'] >= script['rows']

    # a reload keeps the list
    lab.page.reload()
    lab.page.wait_for_function("window.jupyterapp && document.querySelector('#gmwidgets-runs')", timeout=60_000)
    lab.page.evaluate("window.jupyterapp.commands.execute('gmwidgets:open-runs')")
    wait_rows(lab, lambda r: {'alpha', 'beta', 'script<b>', 'broken'} <= set(r) and r['alpha']['state'] == 'stopped',
              'the list after a reload')

    # the palette command stops every kernel run
    lab.page.evaluate("window.jupyterapp.commands.execute('gmwidgets:stop-all')")
    wait_rows(lab, lambda r: r['beta']['state'] == 'stopped', 'beta stopped by stop-all')
    assert lab.console_errors == []
    lab_server.shutdown_kernels()


def get(url, token=None):
    req = urllib.request.Request(url, headers={'Authorization': f'token {token}'} if token else {})
    with urllib.request.urlopen(req, timeout=10) as r: return json.loads(r.read())


def test_endpoints_need_the_token_and_stay_in_the_runs_directory(lab_server, tmp_path):
    runs = Path(lab_server.root_dir)/'runs'
    runs.mkdir(exist_ok=True)
    (runs/'ok.jsonl').write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.0}\n')
    (tmp_path/'secret.jsonl').write_text('{"step": 1, "secret": 1}\n')
    (runs/'escape.jsonl').unlink(missing_ok=True)
    (runs/'escape.jsonl').symlink_to(tmp_path/'secret.jsonl')
    api, token = f'{lab_server.url}/gmwidgets/api/', lab_server.token
    with pytest.raises(urllib.error.HTTPError) as e: get(api + 'runs')
    assert e.value.code == 403
    ids = {r['id']: r for r in get(api + 'runs', token)['runs']}
    assert ids['f:ok.jsonl']['step'] == 2 and ids['f:escape.jsonl']['state'] == 'error'
    got = get(api + 'rows?id=f:ok.jsonl&offset=0', token)
    assert [r['step'] for r in got['rows']] == [1, 2]
    assert get(api + f'rows?id=f:ok.jsonl&offset={got["offset"]}', token)['rows'] == []
    for bad in ['f:../runs/ok.jsonl', 'f:escape.jsonl', f'f:{tmp_path}/secret.jsonl', 'f:..%2F..%2Fetc%2Fpasswd']:
        with pytest.raises(urllib.error.HTTPError) as e: get(api + f'rows?id={bad}', token)
        assert e.value.code == 403, bad
    for bad in ['k:../../x', 'x:1', 'f:ok.jsonl&offset=-1']:
        with pytest.raises(urllib.error.HTTPError) as e: get(api + f'rows?id={bad}', token)
        assert e.value.code == 400, bad
    # a chart tab's updates: the LiveChart's spec and rows message, under the same rules
    with pytest.raises(urllib.error.HTTPError) as e: get(api + 'chart?id=f:ok.jsonl&view=t1')
    assert e.value.code == 403
    up = get(api + 'chart?id=f:ok.jsonl&view=t1&reset=1', token)
    assert (up['series_names'], up['msg'], up['n_rows']) == (['loss'], {'type': 'rows', 'all': True}, 2)
    assert up['spec']['data'] == {'name': 'points'} and len(up['vega_key']) == 12
    for bad, code in [('id=f:escape.jsonl&view=t1', 403), ('id=f:..%2Fx.jsonl&view=t1', 403),
                      ('id=f:ok.jsonl&view=%3Cb%3E', 400), ('id=f:ok.jsonl', 400), ('id=x:1&view=t1', 400)]:
        with pytest.raises(urllib.error.HTTPError) as e: get(api + f'chart?{bad}', token)
        assert e.value.code == code, bad
    with pytest.raises(urllib.error.HTTPError) as e:
        lab_server.api('POST', 'control', {'id': 'f:ok.jsonl', 'action': 'stop'}, prefix='/gmwidgets/api/')
    assert e.value.code == 400
