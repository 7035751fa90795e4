"""In a real JupyterLab: clicking a run in the overlay's legend (a real mouse click on the canvas) shows it alone, the
other runs fade; clicking it again shows every run."""

from harness import wait_until

NOTEBOOK = 'nbs/16_runschart.ipynb'  # any notebook will do: the test appends its own cells


def chart_source(name:str, # the chart's variable in the kernel
                 steps:str, # source of the steps `s`, e.g. 'np.arange(1, 51)'
                 runs:str, # source of RunsChart's arguments (the histories over `s`, options)
                ) -> str:
    "Source of a cell that makes a RunsChart called `name`, sends it its rows and shows it."
    return f'''
import numpy as np, pandas as pd
from gmwidgets.runschart import RunsChart
s = {steps}
{name} = RunsChart({runs})
{name}.flush()
{name}
'''


def show_chart(lab, source:str):
    "Open NOTEBOOK, run `source` in a new cell and wait for its chart: a function that gives the cell's output element."
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(source)
    lab.charts(i).first.wait_for(timeout=60_000)
    return lambda: lab.output(i).element_handle()


SETUP = chart_source('chart', 'np.arange(1, 51)', "*[pd.DataFrame({'step': s, 'loss': 3 / s + k}) for k in range(3)]")

# JS: page position of the legend symbol of `run` (walking the scenegraph: group offsets, the view's origin).
_LEGEND_XY = '''([el, run]) => {
  const view = el.querySelector('.gmwidgets-chart').__gmwidgets.view;
  const box = el.querySelector('.gmwidgets-chart canvas').getBoundingClientRect(), [ox, oy] = view.origin();
  let hit = null;
  (function walk(mark, x, y) {
    for (const item of mark.items ?? []) {
      if (mark.role === 'legend-symbol' && item.datum?.value === run) {
        const b = item.bounds; hit = [x + (b.x1 + b.x2) / 2, y + (b.y1 + b.y2) / 2];
      }
      if (mark.marktype === 'group') for (const m of item.items ?? []) walk(m, x + (item.x ?? 0), y + (item.y ?? 0));
    }
  })(view.scenegraph().root, 0, 0);
  return hit && [box.left + ox + hit[0], box.top + oy + hit[1]];
}'''

# JS: run -> strokeOpacity of its raw lines as drawn (every line item of that run).
_OPACITY = '''(el) => {
  const view = el.querySelector('.gmwidgets-chart').__gmwidgets.view, out = {};
  (function walk(mark) {
    for (const item of mark.items ?? []) {
      const run = item.datum?.run;
      if (mark.marktype === 'line' && run !== undefined) (out[run] ??= new Set()).add(item.strokeOpacity);
      if (mark.marktype === 'group') for (const m of item.items ?? []) walk(m);
    }
  })(view.scenegraph().root);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v]]));
}'''


def test_clicking_a_run_in_the_legend_toggles_it(lab):
    el = show_chart(lab, SETUP)
    opacity = lambda: lab.page.evaluate(_OPACITY, el())
    wait_until(lambda: sorted(opacity()) == ['run 1', 'run 2', 'run 3'], timeout=60, what='three runs drawn')
    assert opacity() == {'run 1': [1], 'run 2': [1], 'run 3': [1]}
    x, y = lab.page.evaluate(_LEGEND_XY, [el(), 'run 2'])
    lab.page.mouse.click(x, y)
    wait_until(lambda: opacity() == {'run 1': [0.08], 'run 2': [1], 'run 3': [0.08]}, what='run 2 shown alone')
    lab.page.mouse.click(x, y)
    wait_until(lambda: opacity() == {'run 1': [1], 'run 2': [1], 'run 3': [1]}, what='every run shown again')
    lab.run_cell_source('chart.close()')


STICKY_SETUP = chart_source('sticky', 'np.arange(1, 51)',
                            "pd.DataFrame({'step': s, 'loss': 3 / s}), rate_hz=1000, idle_finalize_s=None")

# JS: the domains the page set for the first panel, and how many update messages it has applied.
_DOMAINS = '''(el) => { const s = el.querySelector('.gmwidgets-chart').__gmwidgets;
  return s && s.view && {x: s.view.signal('x_domain_0'), y: s.view.signal('y_domain_0'), applied: s.applied}; }'''


def test_axis_domains_stick_until_a_point_falls_outside(lab):
    "Points inside the domains leave them as they are (no re-encoding of every item); one outside widens them."
    el = show_chart(lab, STICKY_SETUP)
    dom = lambda: lab.page.evaluate(_DOMAINS, el()) or {}
    covers = lambda d, lo, hi: d and d[0] <= lo and d[1] >= hi
    wait_until(lambda: covers(dom().get('x'), 1, 50) and covers(dom().get('y'), 0.06, 3), what='domains over the data')
    first = dom()
    assert first['x'][1] > 50 and first['y'][0] < 0.06 and first['y'][1] > 3, first  # headroom on every side
    lab.run_cell_source("for st in range(51, 56): sticky.runs['run 1'].push(st, loss=0.07)\nsticky.flush()")
    wait_until(lambda: dom()['applied'] > first['applied'], what='the update applied')
    assert (dom()['x'], dom()['y']) == (first['x'], first['y'])
    lab.run_cell_source("sticky.runs['run 1'].push(56, loss=-5.0); sticky.runs['run 1'].push(500, loss=1.0)\n"
                        "sticky.flush()")
    wait_until(lambda: covers(dom()['y'], -5, 3) and covers(dom()['x'], 1, 500), what='domains widened')
    lab.run_cell_source('sticky.close()')


DEFER_SETUP = chart_source('defer', 'np.arange(1, 1001) * 100',
                           "pd.DataFrame({'step': s, 'loss': 1 + 1 / s}), rate_hz=1000, idle_finalize_s=None")

# JS: the view's last step on show, how many series wait, and how many update messages the page has applied.
_SHOWN = '''(el) => { const s = el.querySelector('.gmwidgets-chart').__gmwidgets;
  if (!s || !s.view) return null;
  const steps = s.view.data('points').map((d) => d.step);
  return {last: Math.max(...steps), pending: s.pending.size, deferred: s.deferred, applied: s.applied}; }'''

# JS: how long (ms) the view lets series wait without an update before it draws them (livechart.js `deferred`).
_IDLE_MS = "([el, ms]) => { el.querySelector('.gmwidgets-chart').__gmwidgets.idleMs = ms; }"


def test_changes_that_move_no_pixel_wait_for_one_that_does(lab):
    "A new point drawn on the pixels of the tail on show waits; a point that moves one, or a pause, draws it."
    el = show_chart(lab, DEFER_SETUP)
    shown = lambda: lab.page.evaluate(_SHOWN, el()) or {}
    wait_until(lambda: shown().get('last') == 100_000, timeout=60, what='the run drawn')
    idle_ms = lambda ms: lab.page.evaluate(_IDLE_MS, [el(), ms])
    idle_ms(1e9)
    push = lambda step, loss: lab.run_cell_source(f"defer.runs['run 1'].push({step}, loss={loss}); defer.flush()")
    before = shown()['applied']
    push(100_001, 1 + 1 / 100_001)  # 0.002 px further right, the same height: nothing to draw
    wait_until(lambda: shown()['applied'] > before, what='the first update handled')
    assert shown()['last'] == 100_000 and shown()['pending'] == 1 and shown()['deferred'] >= 1, shown()
    push(100_002, 1.5)  # well above the tail: drawn now, with the point that waited
    wait_until(lambda: shown()['last'] == 100_002, what='the visible update drawn')
    assert shown()['pending'] == 0, shown()
    idle_ms(50)
    push(100_003, 1.5)  # on the same pixels again: waits, then the pause draws it
    wait_until(lambda: shown()['last'] == 100_003 and shown()['pending'] == 0, what='the waiting point drawn')
    lab.run_cell_source('defer.close()')
