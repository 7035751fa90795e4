"""In a real JupyterLab: the TrainingDashboard's chart grows while a run trains in the background, Pause freezes the
step counter, Resume and Stop act, an exception shows in the error panel while the next cell still executes, and the
saved notebook, reopened in a fresh kernel, shows the final chart."""
import re, time
from harness import CHART_ROWS, kernel_print, new_notebook, wait_until

NOTEBOOK = 'tests/notebooks/dashboard_live.ipynb'  # created empty on the server by the test

SETUP = '''
import time, torch
from torch import nn
from gmwidgets.train import Run
from gmwidgets.dashboard import TrainingDashboard
torch.set_num_threads(1)

class Toy(nn.Module):
    "One parameter learning a mean; each step takes ~20 ms; raises at step `fail_at`."
    def __init__(self, fail_at=None):
        super().__init__(); self.w = nn.Parameter(torch.zeros(1)); self.fail_at, self.calls = fail_at, 0
    def loss(self, batch):
        self.calls += 1; time.sleep(0.02)
        if self.calls == self.fail_at: raise ValueError("boom <gmw-bad>at step 5</gmw-bad>")
        return {'loss': (batch.mean() - self.w).pow(2).sum() + 0.1 / self.calls}

class Ones:
    kind = 'series'
    def n(self, split): return 64
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter(torch.ones(64, 4, 1).split(batch_size))
'''

DASH = '''
run = Run(Toy(), Ones(), lr=0.05, batch_size=8, max_steps=100_000)
TrainingDashboard(run)
'''

FAILING = '''
bad = Run(Toy(fail_at=5), Ones(), batch_size=8, max_steps=100)
TrainingDashboard(bad)
'''



def page_step(out) -> int:
    "The step counter shown in the dashboard's progress line."
    text = out.locator('.gmwidgets-dashboard').inner_text()
    return int(re.search(r'step ([\d,]+)', text).group(1).replace(',', ''))






def test_dashboard_controls_errors_and_saved_chart(lab):
    new_notebook(lab.server, NOTEBOOK)
    lab.open(NOTEBOOK)
    lab.run_cell_source(SETUP)
    i = lab.state()['ncells']
    lab.run_cell_source(DASH)
    out = lab.output(i)
    out.get_by_role('button', name='Start').click()
    # the cell beside the training thread runs at once, while the run is still going
    assert kernel_print(lab, 'run.state') == 'running'
    rows = lambda: lab.page.evaluate(CHART_ROWS, out.element_handle())
    wait_until(lambda: rows() > 0, what='first points on the chart')
    r0, s0 = rows(), page_step(out)
    wait_until(lambda: rows() > r0 + 5 and page_step(out) > s0 + 5, what='the chart and the counter grow')

    out.get_by_role('button', name='Pause').click()
    out.get_by_text('paused').wait_for(timeout=10_000)
    time.sleep(0.5)  # the last label refresh lands
    frozen = page_step(out)
    time.sleep(1.0)
    assert page_step(out) == frozen, 'the step counter moved while paused'
    assert int(kernel_print(lab, 'run.step_count')) == frozen
    assert out.get_by_role('button', name='Pause').is_disabled() and out.get_by_role('button',
                                                                                     name='Resume').is_enabled()

    out.get_by_role('button', name='Resume').click()
    wait_until(lambda: page_step(out) > frozen + 3, what='training resumes')
    out.get_by_role('button', name='Stop').click()
    out.get_by_text('stopped').wait_for(timeout=10_000)
    assert kernel_print(lab, 'run.state') == 'stopped'
    assert all(out.get_by_role('button', name=n).is_disabled() for n in ('Start', 'Pause', 'Resume', 'Stop'))
    final_rows = rows()
    lab.screenshot('dashboard_stopped', out)

    j = lab.state()['ncells']
    lab.run_cell_source(FAILING)
    err = lab.output(j)
    err.get_by_role('button', name='Start').click()
    err.get_by_text('failed').first.wait_for(timeout=20_000)
    panel = err.get_by_text('boom', exact=False).first
    panel.wait_for(timeout=10_000)
    assert "<gmw-bad>at step 5</gmw-bad>" in panel.inner_text()  # shown as text: escaped, not rendered
    assert err.locator("gmw-bad").count() == 0
    assert all(err.get_by_role('button', name=n).is_disabled() for n in ('Start', 'Pause', 'Resume', 'Stop'))
    assert kernel_print(lab, '"alive", bad.state') == "alive failed"  # the kernel lives, the next cell runs
    lab.screenshot('dashboard_error', err)

    # save (with widget state), drop the kernel, reopen: the stopped run's final chart is drawn from the saved state
    lab.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    saved = lambda: lab.server.api('GET', f'contents/{NOTEBOOK}')['content'].get('metadata', {}).get('widgets', '')
    wait_until(lambda: 'gmwidgets' in str(saved()), what='widget state saved in the notebook')
    lab.server.shutdown_kernels()
    lab.page.reload()
    lab.open(NOTEBOOK)
    again = lab.output(i)
    lab.charts(i).first.wait_for(timeout=30_000)
    wait_until(lambda: lab.page.evaluate(CHART_ROWS, again.element_handle()) == final_rows,
               what='saved chart shows the final data')
    lab.screenshot('dashboard_reopened', again)
    lab.server.api('DELETE', f'contents/{NOTEBOOK}')
