"""nbs/example_lightning.ipynb: a gmwidgets RNNLM trained by PyTorch Lightning in two CPU processes (`ddp_notebook`
forks them off the kernel) with a live chart and a Stop button.
Kernel tier: the notebook runs end to end in a real kernel; the training used two processes, neither of them the kernel.
Browser tier: in JupyterLab, rank 0 (a forked process) draws into the chart while the kernel stays free, and a click on
Stop ends the fit on both ranks before its 300 steps."""
import re, sys
import psutil, pytest
from harness import CHART_ROWS, NBS, REPO, WIDGET_MIME, error_outputs, execute_notebook, kernel_print, wait_until
sys.path.insert(0, str(REPO/'docs'))
from gmw_docs import save_executed  # noqa: E402

pytest.importorskip('pytorch_lightning', reason='PyTorch Lightning is not installed: pip install pytorch-lightning')
NOTEBOOK = 'nbs/example_lightning.ipynb'


def printed(outputs) -> str:
    "Everything the stream outputs in `outputs` printed."
    return ''.join(o.get('text', '') for o in outputs if o.get('output_type') == 'stream')


def fit_report(text:str) -> dict:
    "The numbers the notebook prints after the fit: world_size, training pids, the kernel's pid, steps, val_loss."
    pids = re.search(r'^training processes \[([\d, ]*)\] kernel (\d+)$', text, re.M)
    return {'world_size': int(re.search(r'^world_size (\d+)$', text, re.M)[1]),
            'ranks': [int(p) for p in pids[1].split(',') if p.strip()], 'kernel': int(pids[2]),
            'steps': int(re.search(r'^steps (\d+)$', text, re.M)[1]),
            'val_loss': float(re.search(r'^val_loss ([\d.]+)$', text, re.M)[1])}


@pytest.mark.kernel
def test_example_lightning_trains_on_two_processes():
    nb = execute_notebook(NBS/'example_lightning.ipynb', timeout=300)
    assert error_outputs(nb) == []
    save_executed(nb, NBS/'example_lightning.ipynb')  # the docs build reuses it (docs/gmw_docs.py)
    shown = [o for c in nb.cells for o in c.get('outputs', []) if WIDGET_MIME in o.get('data', {})]
    assert len(shown) == 1, 'the callback is displayed once'
    r = fit_report(printed(o for c in nb.cells for o in c.get('outputs', [])))
    assert r['world_size'] == 2
    assert len(set(r['ranks'])) == 2 and r['kernel'] not in r['ranks'], r  # two trainers, neither of them the kernel
    assert r['steps'] == 300, r
    assert r['val_loss'] < 2.6, (f"val_loss={r['val_loss']}: 300 steps should bring a char-LM on names below 2.6 nats "
                                 "(uniform: ln 28 = 3.3)")


def test_example_lightning_live_chart_and_stop_in_lab(lab):
    lab.open(NOTEBOOK)
    src = lab.sources()
    code = [i for i, (kind, s) in enumerate(src) if kind == 'code']
    [shown] = [i for i in code if src[i][1].rstrip().endswith('\ndash')]
    [start] = [i for i in code if 'fit.start()' in src[i][1]]
    [join] = [i for i in code if 'fit.join()' in src[i][1]]
    out = lab.output(shown)
    rows = lambda: lab.page.evaluate(CHART_ROWS, out.element_handle())
    lab.run_cells([i for i in code if i <= shown]).wait_idle(120)
    kernel = psutil.Process(int(kernel_print(lab, 'os.getpid()')))
    try:
        wait_until(lambda: rows() == 0, what='the empty chart is drawn')  # and has asked the kernel for its points
        lab.wait_idle()  # the kernel answered the view (a fork while it answers is safe too: see LiveChart)
        # the fit goes on in a thread: the kernel is idle
        lab.run_cells([i for i in code if shown < i <= start]).wait_idle(60)
        status = lambda: out.locator('.widget-html').first.inner_text()
        step = lambda: int(m[1]) if (m := re.search(r'step ([\d,]+)', status().replace(',', ''))) else 0
        wait_until(lambda: rows() > 10 and 'running' in status() and step() >= 50, timeout=60,
                   what='rank 0 streams points into the chart')  # one process trains, another draws in this page
        first = lab.page.evaluate('''(el) => el.querySelector('.gmwidgets-chart').__gmwidgets.view.data('points')
            .filter(p => p.series === 'train_loss').reduce((m, p) => Math.min(m, p.step), Infinity)''',
                                  out.element_handle())
        # no point lost to the fork
        assert first == 2, f'the chart starts at step {first}: every=2 pushes from step 2 on'
        out.get_by_role('button', name='Stop').click()
        lab.run_cells([join]).wait_idle(120)
        r = fit_report(printed(lab.cell_outputs(join)))
        assert r['world_size'] == 2 and len(set(r['ranks'])) == 2 and r['kernel'] not in r['ranks'], r
        assert 50 <= r['steps'] < 300, f"stopped at step {r['steps']}: expected after the click, before max_steps=300"
        wait_until(lambda: 'stopped' in status() and step() == r['steps'], timeout=10,
                   what=f"rank 0 shows 'stopped' at step {r['steps']}")
        assert out.get_by_role('button', name='Stop').is_disabled()
        assert lab.failed_cells() == [] and lab.console_errors == [], lab.console_errors
        lab.screenshot('example_lightning_stopped', out)
    finally:  # the forked ranks outlive a killed kernel: a failed test must not leave them behind, hung
        for p in kernel.children(recursive=True): p.kill()
