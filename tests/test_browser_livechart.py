"""In a real JupyterLab: a LiveChart grows while a thread pushes points, with no console errors and no request
leaving localhost (the `lab` fixture fails the test on any)"""
import json, time

NOTEBOOK = 'nbs/12_livechart.ipynb'  # any notebook will do: the test appends its own cells

# JS: the chart state of the first gmwidgets chart in element `el` (set by gmwidgets/static/livechart.js).
_CHART = '''(el) => { const c = el.querySelector('.gmwidgets-chart'); const s = c && c.__gmwidgets;
  if (!s || !s.view) return null;
  const rows = s.view.data('points');
  return {rows: rows.length, last_step: rows.reduce((m, d) => Math.max(m, d.step), -1), applied: s.applied,
          timings: s.timings.slice(),
          error: (c.querySelector('.gmwidgets-error') || {}).textContent || ''}; }'''


def chart_state(lab, i):
    "Rows on display, updates applied, timings (ms) and error text of the chart in cell `i`'s output."
    return lab.page.evaluate(_CHART, lab.output(i).element_handle())


def wait_chart(lab, i, cond, timeout=20):
    "Poll the chart in cell `i` until `cond(state)`; return the state."
    deadline, st = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        st = chart_state(lab, i)
        if st and cond(st): return st
        time.sleep(0.1)
    raise TimeoutError(f'chart in cell {i}: condition not met after {timeout} s; last state {st}')


SETUP = '''
import threading, time, numpy as np
from gmwidgets.livechart import LiveChart
chart = LiveChart(['loss', 'valid_loss'], max_points=500, smooth=0.9)
chart
'''

TRAIN = '''
def train(n=6000):
    rng = np.random.default_rng(0)
    for i in range(n):
        chart.push(i, loss=np.exp(-i / 2000) + 0.1 * rng.random())
        if i % 100 == 0: chart.push(i, valid_loss=np.exp(-i / 2000) + 0.05)
        if i % 50 == 0: time.sleep(0.01)
    chart.finalize()
worker = threading.Thread(target=train); worker.start()
'''


def test_chart_grows_while_a_thread_pushes(lab):
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(SETUP)
    lab.charts(i).first.wait_for(timeout=30_000)
    t0 = time.monotonic()
    lab.run_cell_source(TRAIN)
    assert time.monotonic() - t0 < 5, 'the cell that starts the thread should return at once'
    first = wait_chart(lab, i, lambda s: s['rows'] > 0)
    later = wait_chart(lab, i, lambda s: s['last_step'] > first['last_step'] + 500)  # the chart grows while it runs
    assert later['applied'] > first['applied']
    lab.run_cell_source('worker.join()', timeout=60)
    done = wait_chart(lab, i, lambda s: s['applied'] >= later['applied'])
    out = lab.run_cell_source('import json; print(json.dumps([chart.n_points, chart.sends, len(chart.data), '
                              'chart.js_error]))')
    n_points, sends, nbytes, js_error = json.loads(out[0]['text'])
    assert n_points == 6000 + 60
    assert js_error == '' and done['error'] == ''
    assert nbytes > 0, 'finalize() should write the display into the data trait'
    assert sends < 6000 / 20, f'{sends} messages for 6000 pushes: the rate limit should batch them'
    final = wait_chart(lab, i, lambda s: True)
    assert final['last_step'] == 5999
    assert final['rows'] <= 2 * 500 + 10, final['rows']  # decimated: each series shows at most ~max_points
    lab.screenshot('livechart_after_run', lab.output(i))
    j = lab.state()['ncells']  # a view displayed late gets the whole display (traits + the kernel's answer)
    lab.run_cell_source('chart')
    again = wait_chart(lab, j, lambda s: s['last_step'] == 5999)
    assert again['rows'] == final['rows']
    k = lab.state()['ncells']  # any Altair chart, through the bundle: VegaChart
    lab.run_cell_source(VEGA_CHART)
    lab.charts(k).first.wait_for(timeout=20_000)
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()


VEGA_CHART = '''
import pandas as pd
from gmwidgets.charts import series_chart
from gmwidgets.livechart import VegaChart
VegaChart(series_chart(pd.DataFrame({'sample': 0, 't': range(24), 'feature': 0, 'value': np.sin(np.arange(24) / 4)})))
'''


# The browser's cost per update at 1k/10k/100k logged points is measured by benchmarks/bench_dashboard.py (tests do
# not time things).
