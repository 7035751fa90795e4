"TrainingDashboard driven through its plain-Python API (buttons clicked, labels read)."
import time
import pytest, torch
from torch import nn
from gmwidgets.train import Run
from gmwidgets.dashboard import TrainingDashboard, total_steps
from functools import partial
import toys
from toys import until

Slow = partial(toys.Toy, delay=0.01, extra=('kl',))  # a step of ~10 ms that reports a KL term beside the loss
Ones = partial(toys.Ones, 64, 3, 'series')


def enabled(d): return set(d.panel.enabled)


def test_buttons_follow_the_run():
    run = Run(Slow(), Ones(), lr=0.05, batch_size=8, max_steps=10_000)
    d = TrainingDashboard(run)
    assert enabled(d) == {'start'}
    d.panel.click('start'); until(lambda: run.step_count > 3)
    assert enabled(d) == {'pause', 'stop'}
    d.panel.click('pause'); until(lambda: run.state == 'paused')
    until(lambda: enabled(d) == {'resume', 'stop'},
          timeout=2)  # set by the run's on_state callback, just after the state
    n = run.step_count; time.sleep(0.2); assert run.step_count == n  # paused really pauses
    d.panel.click('resume'); until(lambda: run.step_count > n + 2)
    d.panel.click('stop'); run.wait(5)
    assert run.state == 'stopped' and enabled(d) == set()
    assert 'stopped' in d.panel.status


def test_stop_click_is_seen_within_one_step():
    run = Run(Slow(delay=0.02), Ones(), batch_size=8, max_steps=100_000)
    d = TrainingDashboard(run); d.panel.click('start'); until(lambda: run.step_count > 5)
    t = time.perf_counter(); d.panel.click('stop'); run.wait(5)
    assert time.perf_counter() - t < 0.5


def test_progress_values_and_chart_stream():
    run = Run(Slow(delay=0), Ones(), batch_size=8, epochs=3)
    d = TrainingDashboard(run, refresh_hz=1000)
    assert d.total == total_steps(run) == 24
    run.start(); run.wait(10)
    assert run.state == 'finished' and d.panel.progress == 24
    assert 'step 24/24' in d.panel.progress_text
    assert '<b>loss</b>' in d.panel.values and '<b>kl</b>' in d.panel.values
    terms = [c for c in run.history.columns if c not in ('step', 'epoch', 'time', 'samples_per_s')]
    assert {'loss', 'kl', 'lr'} <= set(terms)
    assert d.chart.n_points == 24 * len(terms)  # every term of every step is kept
    assert len(d.chart.data) > 0  # finalize() wrote the final data for saved notebooks


def test_error_shown_escaped_and_kernel_lives():
    run = Run(Slow(delay=0, fail_at=4), Ones(), batch_size=8, max_steps=50)
    d = TrainingDashboard(run); run.start()
    with pytest.raises(Exception, match='boom'): run.wait(10)
    assert run.state == 'failed' and run.step_count == 3
    assert d.panel.error != ''  # shown (an empty error is hidden)
    assert 'boom &lt;b&gt;inside&lt;/b&gt; loss' in d.panel.error and '<b>inside</b>' not in d.panel.error
    assert 'traceback' in d.panel.error and enabled(d) == set()


def test_nan_stops_with_message_and_good_weights():
    m = Slow(delay=0, nan_at=6)
    run = Run(m, Ones(), lr=0.05, batch_size=8, max_steps=50)
    d = TrainingDashboard(run); run.start()
    with pytest.raises(Exception): run.wait(10)
    assert torch.isfinite(m.w).all() and run.step_count == 5
    assert 'nan' in d.panel.error.lower()


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


class UnitsVAE(FakeVAE):
    "ELBO terms with a fixed KL and fixed counts of active and used latent units."
    def __init__(self, kl, active, used): super().__init__(kl); self.active, self.used = active, used
    def loss(self, batch):
        units = {'active_units': float(self.active), 'used_units': float(self.used)}
        return super().loss(batch) | {k: torch.tensor(v) for k, v in units.items()}


@pytest.mark.parametrize('kl,active,used,alerted', [(0.058, 1, 0, True), (0.001, 3, 1, False), (2.0, 4, 4, False)])
def test_collapse_alert_counts_used_units_not_total_kl(kl, active, used, alerted):
    from gmwidgets.dashboard import CollapseWatch
    run = Run(UnitsVAE(kl, active, used), Ones(), batch_size=8, max_steps=30)
    d = TrainingDashboard(run, collapse=CollapseWatch(threshold=0.05, patience=20)); run.start(); run.wait(60)
    assert run.state == 'finished', run.state
    assert ('posterior collapse' in d.panel.alert) == alerted and (d.panel.alert != '') == alerted
    if alerted: assert '1 active, 0 above 0.1 nats' in d.panel.alert


def test_collapse_alert_on_a_vae_whose_encoder_ignores_x():
    from gmwidgets.dashboard import CollapseWatch
    from gmwidgets.data import sines
    from toys import IgnoresX
    sd = sines(n=200)
    run = Run(IgnoresX.for_data(sd, hidden=16, latent=4, anneal='none'), sd, batch_size=32, max_steps=25)
    d = TrainingDashboard(run, collapse=CollapseWatch(patience=20)); run.start(); run.wait(30)
    assert run.state == 'finished' and 'posterior collapse' in d.panel.alert and 'KL 0.18 nats' in d.panel.alert


@pytest.mark.parametrize('kl,alerted', [(0.001, True), (2.0, False)])
def test_collapse_alert_and_elbo_panels(kl, alerted):
    from gmwidgets.dashboard import CollapseWatch
    run = Run(FakeVAE(kl), Ones(), batch_size=8, max_steps=30)
    d = TrainingDashboard(run, collapse=CollapseWatch(threshold=0.05, patience=20)); run.start(); run.wait(10)
    assert ('posterior collapse' in d.panel.alert) == alerted
    assert (d.panel.alert != '') == alerted
    if alerted: assert 'since step 1 (' in d.panel.alert
    titles = [p.get('title') for p in d.chart.spec.get('vconcat', d.chart.spec.get('concat', []))] or str(d.chart.spec)
    for panel in ('ELBO', 'reconstruction', 'KL'): assert panel in str(titles)


# --- export: history as CSV/Parquet, chart as PNG/SVG, and the Export control's download link ------------------------
import base64, io, re, struct, sys
import xml.etree.ElementTree as ET
import pandas as pd
from gmwidgets.dashboard import export_choices, history_bytes


def link_bytes(html_link):
    "File name and bytes of the data: URL in a download link."
    name = re.search(r'download="([^"]*)"', html_link).group(1)
    return name, base64.b64decode(html_link.split('base64,')[1].split('"')[0])


@pytest.fixture
def finished():
    "A finished run with evaluation rows (`valid_*` present on some steps, NaN on others) and its dashboard."
    run = Run(Slow(delay=0), Ones(), lr=0.05, batch_size=8, max_steps=30, eval_every=7, name='exp <1> "q"')
    d = TrainingDashboard(run); run.start(); run.wait(20)
    yield run, d
    d.close()


def test_history_csv_round_trip(finished, tmp_path):
    run, d = finished
    h = run.history
    assert len(h) == 30 and h['valid_loss'].notna().sum() == 4 and h['valid_loss'].isna().sum() == 26
    back = pd.read_csv(d.export_history(tmp_path / 'h.csv'))
    pd.testing.assert_frame_equal(back, h, check_exact=True)


def test_history_parquet_round_trip(finished, tmp_path):
    run, d = finished
    back = pd.read_parquet(d.export_history(tmp_path / 'h.parquet'))
    pd.testing.assert_frame_equal(back, run.history, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(d.export_history(tmp_path / 'h.bin', format='parquet')), run.history)
    with pytest.raises(ValueError, match="format 'xlsx'"): d.export_history(tmp_path / 'h.xlsx')


def test_parquet_without_pyarrow_names_the_extra(finished, tmp_path, monkeypatch):
    run, d = finished
    monkeypatch.setitem(sys.modules, 'pyarrow', None)  # `import pyarrow` now raises ImportError
    with pytest.raises(ImportError, match=r"gmwidgets\[parquet\]"): d.export_history(tmp_path / 'h.parquet')
    assert 'history Parquet' not in export_choices()
    assert 'history Parquet' not in TrainingDashboard(Run(Slow(), Ones())).panel.export_options
    assert history_bytes(run.history, 'csv').startswith(b'step,')  # CSV needs nothing


def test_save_chart_png_svg(finished, tmp_path):
    run, d = finished
    png = d.save_chart(tmp_path / 'c.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    w, h = struct.unpack('>II', png[16:24])
    assert 300 <= w <= 1200 and 150 <= h <= 800, (w, h)
    texts = ''.join(ET.parse(d.save_chart(tmp_path / 'c.svg')).getroot().itertext())
    assert 'loss' in texts and 'kl' in texts  # the panel titles (default panels: one a term)


def test_export_button_links_each_file(finished):
    run, d = finished
    got = {}
    for choice in d.panel.export_options:
        link = link_html(d, choice)
        assert 'gmw-download' in link, link
        got[choice] = link_bytes(link)
    assert got['history CSV'][0] == 'exp_1_q-history.csv'  # the run's name made a safe file name
    assert '<1>' not in d.panel.download  # user text never reaches the page raw
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(got['history CSV'][1])), run.history, check_exact=True)
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(got['history Parquet'][1])), run.history)
    assert got['chart PNG'][1][:8] == b'\x89PNG\r\n\x1a\n'
    ET.fromstring(got['chart SVG'][1])
    assert 'href="data:image/png;base64,' in link_html(d, 'chart PNG')


def link_html(d, choice):
    "Click Export for `choice`; the link (or the error) once the export thread is done."
    d.panel.export_choice = choice; d.panel.click('export')
    d.export_thread.join(60)
    return d.panel.download


def test_export_failure_is_shown_escaped():
    run = Run(Slow(), Ones(), name='<img src=x>')
    d = TrainingDashboard(run)
    link = link_html(d, 'chart PNG')  # no step yet: the chart has no spec
    assert 'export failed' in link and 'nothing to render' in link
    assert '<img' not in link
    _, data = link_bytes(link_html(d, 'history CSV'))  # an empty history still exports: the header line
    assert data.decode().startswith('step,')
    d.close()


def test_export_while_training_does_not_stop_the_loop(tmp_path):
    "Exports during a run see a consistent prefix of the history, and the training thread keeps stepping meanwhile."
    run = Run(Slow(delay=0.005), Ones(), lr=0.05, batch_size=8, max_steps=100_000, eval_every=5)
    d = TrainingDashboard(run); d.panel.click('start'); until(lambda: run.step_count > 20)
    try:
        for choice in ['chart PNG', 'chart SVG', 'history CSV', 'history Parquet'] * 2:
            n0 = run.step_count
            _, data = link_bytes(link_html(d, choice))
            assert run.state == 'running' and run.step_count >= n0
            if choice == 'history CSV':
                h = pd.read_csv(io.BytesIO(data))
                assert len(h) >= n0 - 1 and list(h.step) == list(range(1, len(h) + 1))  # no torn or missing rows
                # (n0 - 1: `step_count` counts a step before its row, with its evaluation, is appended)
                assert h.loss.notna().all()
        png_steps0 = run.step_count
        for _ in range(3): d.save_chart(tmp_path / 'c.png')  # ~0.3 s each
        assert run.step_count > png_steps0 + 5  # the loop went on while the chart rendered
        h = pd.read_csv(d.export_history(tmp_path / 'h.csv'))
        assert len(h) >= png_steps0
    finally:
        d.panel.click('stop'); run.wait(10)
    d.close()


def test_export_click_returns_at_once_and_the_last_click_wins(finished):
    run, d = finished
    d.panel.export_choice = 'chart SVG'; d.panel.click('export')
    assert 'preparing chart SVG' in d.panel.download  # the click handler only starts the export thread
    first = d.export_thread
    d.panel.export_choice = 'history CSV'; d.panel.click('export')
    first.join(60); d.export_thread.join(60)
    assert link_bytes(d.panel.download)[0].endswith('-history.csv')
