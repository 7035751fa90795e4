"TrainingDashboard driven through its plain-Python API (buttons clicked, labels read)."
import time
import pytest, torch
from torch import nn
from gmwidgets.train import Run
from gmwidgets.dashboard import TrainingDashboard, total_steps


class Slow(nn.Module):
    "A model whose step takes ~`delay` seconds; fails at `fail_at` or goes NaN at `nan_at`."
    def __init__(self, delay=0.01, fail_at=None, nan_at=None):
        super().__init__(); self.w = nn.Parameter(torch.ones(1)); self.delay, self.fail_at, self.nan_at, self.calls = delay, fail_at, nan_at, 0
    def loss(self, batch):
        self.calls += 1; time.sleep(self.delay)
        if self.calls == self.fail_at: raise RuntimeError("boom <b>inside</b> loss")
        l = (self.w * batch.mean() - 2).pow(2).sum()
        if self.calls == self.nan_at: l = l * float('nan')
        return {'loss': l, 'kl': self.w.detach().abs().sum()}


class Ones:
    kind = 'series'
    def __init__(self, n=64): self.size = n
    def n(self, split): return self.size
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None): return iter(torch.ones(self.size, 3, 1).split(batch_size))


def until(cond, timeout=10.0):
    t = time.perf_counter()
    while not cond():
        if time.perf_counter() - t > timeout: raise AssertionError("condition not met in time")
        time.sleep(0.005)


def enabled(d): return {k for k, b in d.buttons.items() if not b.disabled}


def test_buttons_follow_the_run():
    run = Run(Slow(), Ones(), lr=0.05, batch_size=8, max_steps=10_000)
    d = TrainingDashboard(run)
    assert enabled(d) == {'start'}
    d.start_button.click(); until(lambda: run.step_count > 3)
    assert enabled(d) == {'pause', 'stop'}
    d.pause_button.click(); until(lambda: run.state == 'paused')
    assert enabled(d) == {'resume', 'stop'}
    n = run.step_count; time.sleep(0.2); assert run.step_count == n  # paused really pauses
    d.resume_button.click(); until(lambda: run.step_count > n + 2)
    d.stop_button.click(); run.wait(5)
    assert run.state == 'stopped' and enabled(d) == set()
    assert 'stopped' in d.status.value


def test_stop_click_is_seen_within_one_step():
    run = Run(Slow(delay=0.02), Ones(), batch_size=8, max_steps=100_000)
    d = TrainingDashboard(run); d.start_button.click(); until(lambda: run.step_count > 5)
    t = time.perf_counter(); d.stop_button.click(); run.wait(5)
    assert time.perf_counter() - t < 0.5


def test_progress_values_and_chart_stream():
    run = Run(Slow(delay=0), Ones(64), batch_size=8, epochs=3)
    d = TrainingDashboard(run, refresh_hz=1000)
    assert d.total == total_steps(run) == 24
    run.start(); run.wait(10)
    assert run.state == 'finished' and d.progress.value == 24
    assert 'step 24/24' in d.progress_label.value
    assert '<b>loss</b>' in d.values.value and '<b>kl</b>' in d.values.value
    terms = [c for c in run.history.columns if c not in ('step', 'epoch', 'time', 'samples_per_s')]
    assert {'loss', 'kl', 'lr'} <= set(terms)
    assert d.chart.n_points == 24 * len(terms)  # every term of every step is kept
    assert len(d.chart.data) > 0  # finalize() wrote the final data for saved notebooks


def test_error_shown_escaped_and_kernel_lives():
    run = Run(Slow(delay=0, fail_at=4), Ones(), batch_size=8, max_steps=50)
    d = TrainingDashboard(run); run.start()
    with pytest.raises(Exception, match='boom'): run.wait(10)
    assert run.state == 'failed' and run.step_count == 3
    assert d.error.layout.display != 'none'
    assert 'boom &lt;b&gt;inside&lt;/b&gt; loss' in d.error.value and '<b>inside</b>' not in d.error.value
    assert 'traceback' in d.error.value and enabled(d) == set()


def test_nan_stops_with_message_and_good_weights():
    m = Slow(delay=0, nan_at=6)
    run = Run(m, Ones(), lr=0.05, batch_size=8, max_steps=50)
    d = TrainingDashboard(run); run.start()
    with pytest.raises(Exception): run.wait(10)
    assert torch.isfinite(m.w).all() and run.step_count == 5
    assert 'nan' in d.error.value.lower()


def test_close_detaches_from_run():
    run = Run(Slow(delay=0), Ones(), batch_size=8, max_steps=5)
    d = TrainingDashboard(run); d.close()
    assert not any(c is d for c in run.callbacks)


class FakeVAE(nn.Module):
    "ELBO terms with a KL that is `kl` at every step."
    def __init__(self, kl): super().__init__(); self.w = nn.Parameter(torch.ones(1)); self.kl = kl
    def loss(self, batch):
        recon = (self.w * batch.mean() - 2).pow(2).sum()
        kl = torch.tensor(self.kl)
        return {'loss': recon + kl, 'recon': recon, 'kl': kl, 'elbo': -(recon + kl).detach(), 'beta': torch.tensor(1.0)}


@pytest.mark.parametrize('kl,alerted', [(0.001, True), (2.0, False)])
def test_collapse_alert_and_elbo_panels(kl, alerted):
    from gmwidgets.dashboard import CollapseWatch
    run = Run(FakeVAE(kl), Ones(), batch_size=8, max_steps=30)
    d = TrainingDashboard(run, collapse=CollapseWatch(threshold=0.05, patience=20)); run.start(); run.wait(10)
    assert ('posterior collapse' in d.alert.value) == alerted
    assert (d.alert.layout.display != 'none') == alerted
    if alerted: assert 'since step 1 (' in d.alert.value
    titles = [p.get('title') for p in d.chart.spec.get('vconcat', d.chart.spec.get('concat', []))] or str(d.chart.spec)
    for panel in ('ELBO', 'reconstruction', 'KL'): assert panel in str(titles)
