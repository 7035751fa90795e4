"""In a real JupyterLab: CompareWidget shows its four charts through the offline Vega bundle, the score table fills in
from the background thread while the kernel stays free, the feature selector redraws, and Stop ends scoring."""
import json, time
from harness import kernel_print, new_notebook, wait_until

NOTEBOOK = 'tests/notebooks/compare_live.ipynb'  # created empty on the server by the test

SETUP = '''
import numpy as np, torch
from gmwidgets.compare import CompareWidget
from gmwidgets.data import sine_data
torch.set_num_threads(1)
real = sine_data(200, 12, 3, seed=0).astype(np.float32)
good = sine_data(200, 12, 3, seed=1).astype(np.float32)
class Noise:
    def sample(self, n, seed=0): return 3 + torch.randn(n, 12, 3, generator=torch.Generator().manual_seed(seed))
'''

QUICK = '''
cmp = CompareWidget(real, {'sines': good, 'noise': Noise()}, disc_iterations=40, pred_iterations=40)
cmp
'''

SLOW = '''
slow = CompareWidget(real, {'noise': Noise()}, disc_iterations=1_000_000, pred_iterations=1_000_000)
slow
'''


# JS: the Vega view of the first chart inside element `el` (the samples chart), as `view`
FIRST_VIEW = ("(el) => { const c = el.querySelector('.gmwidgets-chart'); const view = c && c.__gmwidgets && "
              "c.__gmwidgets.view; ")


def score_rows(out) -> list[str]:
    "The texts of the score table's rows shown in `out`."
    return out.locator('tr.gmw-score-row').all_inner_texts()


def test_compare_charts_table_and_stop(lab):
    new_notebook(lab.server, NOTEBOOK)
    lab.open(NOTEBOOK)
    lab.run_cell_source(SETUP)
    i = lab.state()['ncells']
    lab.run_cell_source(QUICK)
    out = lab.output(i)
    wait_until(lambda: lab.charts(i).count() >= 4, timeout=30, what='four Vega views (samples, marginals, ACF, PCA)')
    # the table fills in from the thread: every row gets its predictive score, the models their discriminative one
    wait_until(lambda: len(score_rows(out)) == 3 and '±' in score_rows(out)[0], timeout=60,
               what='the first score in the table')
    out.locator('.gmw-status', has_text='done').wait_for(timeout=120_000)
    wait_until(lambda: all(r.count('±') == 2 for r in score_rows(out)[1:]), what='every model scored in the page')
    rows = score_rows(out)
    assert [r.split()[0] for r in rows] == ['real', 'sines', 'noise'], rows
    table = json.loads(kernel_print(lab, 'cmp.table.to_json(orient="records")'))
    shown = out.locator('table.gmw-scores').inner_text()
    for row in table:  # the page shows the kernel's numbers, mean ± std
        assert f"{row['predictive']:.3f} ± {row['predictive_std']:.3f}" in shown, (row, shown)
    # the feature selector redraws the per-feature charts (their titles name the feature)
    lab.page.evaluate(FIRST_VIEW + 'window.__gmwOldView = view; }', out.element_handle())
    out.locator('select').first.select_option(label='x2')
    lab.page.wait_for_function(FIRST_VIEW + 'return !!view && view !== window.__gmwOldView; }',
                               arg=out.element_handle(),
                               timeout=20_000, polling=100)
    assert kernel_print(lab, "repr((cmp.feature.value, cmp.charts['samples'].spec['title']))") == "(2, 'x2')"
    assert lab.charts(i).count() >= 4
    assert kernel_print(lab, "[c.js_error for c in cmp.charts.values()]") == "['', '', '', '']"
    lab.screenshot('compare_done', out)

    j = lab.state()['ncells']
    lab.run_cell_source(SLOW)
    slow_out = lab.output(j)
    slow_out.locator('.gmw-progress').first.wait_for(timeout=30_000)          # the label moves: scoring is under way
    t0 = time.monotonic()
    assert kernel_print(lab, 'slow.state') == 'running'                      # the kernel answers beside the thread
    assert time.monotonic() - t0 < 5
    slow_out.get_by_role('button', name='Stop').click()
    slow_out.locator('.gmw-status', has_text='stopped').wait_for(timeout=5_000)
    print(f'Stop click -> "stopped" in the page: {time.monotonic() - t0:.2f} s (kernel round trip included)')
    assert kernel_print(lab, 'repr((slow.state, slow.running))') == "('stopped', False)"
    assert slow_out.get_by_role('button', name='Stop').is_disabled()
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()
