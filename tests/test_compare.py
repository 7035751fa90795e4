("Behaviour of CompareWidget: inputs and their errors, the cheap views at once, background scoring, Stop, errors per "
 "model.")
import time
import numpy as np
import pytest
import torch
import gmwidgets.compare as compare
from gmwidgets.compare import CompareWidget, TABLE_COLUMNS
from gmwidgets.data import SeriesData, sine_data

torch.set_num_threads(1)
REAL = sine_data(300, 12, 3, seed=0).astype(np.float32)     # (N, T, F) in [0, 1]
OTHER = sine_data(300, 12, 3, seed=1).astype(np.float32)    # the same distribution, other draws
NOISE = np.random.default_rng(1).normal(3.0, 1.0, REAL.shape).astype(np.float32)


class NoiseModel(torch.nn.Module):
    "Gaussian noise windows; remembers how it was called and in which mode."
    def __init__(self, shape=(12, 3)):
        super().__init__()
        self.shape, self.calls = shape, []
    def sample(self, n, seed=0):
        self.calls.append((n, seed, self.training))
        return 0.5 + torch.randn(n, *self.shape, generator=torch.Generator().manual_seed(seed))


def test_real_vs_real_near_zero_and_noise_near_half():
    w = CompareWidget(REAL, {'same': OTHER, 'noise': NOISE}, disc_iterations=400, pred_iterations=20)
    assert w.wait(300) and w.state == 'done' and w.error is None
    t = w.table.set_index('model')
    assert t.discriminative['same'] < 0.1, t
    assert t.discriminative['noise'] > 0.4, t
    # predictive ordering: tests/test_tseval.py
    assert t.predictive.notna().all() and t.mmd['same'] < 0.01 < t.mmd['noise']
    assert 'done' in w.status.value and w.progress.value == 1.0


def test_table_columns_rows_and_repeats():
    model = NoiseModel().train()
    w = CompareWidget(REAL, {'gan': model, 'same': torch.from_numpy(OTHER)}, n=100, repeats=2, seed=3,
                      disc_iterations=5, pred_iterations=5)
    assert w.wait(120)
    t = w.table
    assert list(t.columns) == TABLE_COLUMNS and list(t.model) == ['real', 'gan', 'same']
    assert t.repeats.tolist() == [2, 2, 2] and (t.seconds > 0).all()
    assert np.isnan(t.discriminative[0]) and np.isnan(t.mmd[0]) and t.predictive.notna().all()
    assert (t.discriminative_std[1:] >= 0).all() and t.discriminative[1:].notna().all()
    assert model.calls == [(100, 3, False)] and model.training            # drawn once, in eval mode, mode restored
    assert {k: tuple(v.shape) for k, v in w.samples.items()} == {'gan': (100, 12, 3), 'same': (100, 12, 3)}
    assert isinstance(w.samples['gan'], torch.Tensor) and len(w.real) == 100
    html = w.table_view.value
    assert html.count('gmw-score-row') == 3 and '±' in html


def test_cheap_views_at_once_scores_later():
    w = CompareWidget(REAL, {'noise': NOISE}, autostart=False)
    t = w.table
    assert w.state == 'idle' and not w.running and t.mmd[1] > 0 and t[['discriminative',
                                                                       'predictive']].isna().all().all()
    specs = {k: c.spec for k, c in w.charts.items()}
    assert set(specs) == {'samples', 'marginals', 'acf', 'pca'} and all(s.get('$schema') for s in specs.values())
    before = specs['samples']
    w.feature.value = 2                                    # the selector redraws the per-feature charts
    assert w.charts['samples'].spec != before and w.charts['samples'].spec['title'] == 'x2'
    assert w.charts['pca'].spec == specs['pca']
    w.close()


def test_stop_ends_scoring_within_a_second():
    w = CompareWidget(REAL, {'noise': NOISE}, disc_iterations=1_000_000, pred_iterations=1_000_000)
    assert w.running and not w.stop_button.disabled
    time.sleep(0.5)
    t0 = time.perf_counter()
    w.stop_button.click()
    assert w.wait(1.0), 'still scoring a second after Stop'
    print(f'stop latency {time.perf_counter() - t0:.3f} s')
    assert w.state == 'stopped' and w.error is None and 'stopped' in w.status.value
    assert w.stop_button.disabled and not w.start_button.disabled
    assert 'predictive 1/1' in w.label.value or 'stopped' in w.label.value


def test_progress_label_names_the_job_and_updates_are_throttled():
    w = CompareWidget(REAL, {'g<a>n': NOISE}, disc_iterations=1_000_000, pred_iterations=20, autostart=False)
    labels = []
    w.label.observe(lambda c: labels.append(c['new']), names='value')
    w.start()
    deadline = time.monotonic() + 60
    while not any('discriminative' in s for s in labels) and time.monotonic() < deadline: time.sleep(0.05)
    time.sleep(1.0)
    w.stop(); assert w.wait(2)
    assert any("predictive 1/1 for &#x27;real&#x27;" in s for s in labels), labels[:3]
    disc = [s for s in labels if 'discriminative 1/1' in s]
    assert disc and "&#x27;g&lt;a&gt;n&#x27;" in disc[0] and '<a>' not in disc[0]
    assert len(disc) <= 8, f'{len(disc)} label updates in about a second: expected at most ~5 a second'


def test_wrong_shape_names_the_model_and_shapes():
    with pytest.raises(ValueError, match=r"model 'short': windows of shape \(300, 6, 3\): expected \(M, 12, 3\)"):
        CompareWidget(REAL, {'ok': OTHER, 'short': REAL[:, :6]}, autostart=False)
    with pytest.raises(ValueError, match=r"model 'flat'.*\(40, 36\)"):
        CompareWidget(REAL, {'flat': np.zeros((40, 36))}, autostart=False)
    with pytest.raises(ValueError, match=r"model 'gan': windows of shape \(300, 12, 2\)"):
        CompareWidget(REAL, {'gan': NoiseModel((12, 2))}, autostart=False)
    with pytest.raises(ValueError, match='real of shape'):
        CompareWidget(REAL[0], {'x': OTHER})
    with pytest.raises(ValueError, match='models'):
        CompareWidget(REAL, {})
    with pytest.raises(ValueError, match="model named 'real'"):
        CompareWidget(REAL, {'real': OTHER})


def test_a_failing_sample_call_names_the_model():
    class Broken:
        def sample(self, n, seed=0): raise RuntimeError('no weights')
    with pytest.raises(RuntimeError, match='no weights') as info:
        CompareWidget(REAL, {'ok': OTHER, 'broken': Broken()}, autostart=False)
    assert "model 'broken'" in ' '.join(getattr(info.value, '__notes__', []))


def test_nan_model_is_put_aside_others_scored():
    bad = OTHER.copy(); bad[3, 2, 1] = np.nan
    w = CompareWidget(REAL, {'bad': bad, 'same': OTHER}, disc_iterations=5, pred_iterations=5)
    assert w.wait(120) and w.state == 'done'
    assert "model 'bad': 1 non-finite" in w.errors['bad'] and list(w.samples) == ['same']
    t = w.table.set_index('model')
    assert t.loc['bad', ['discriminative', 'predictive', 'mmd']].isna().all() and t.loc['same'].notna().all()
    assert 'non-finite' in w.table_view.value and 'non-finite' in w.error_view.value


def test_an_exception_in_scoring_is_one_escaped_line_and_others_go_on(monkeypatch):
    real_pred = compare.predictive_score
    def boom(real, fake, *a, **k):
        if fake.shape[0] == 50: raise RuntimeError('<script>x</script> exploded')
        return real_pred(real, fake, *a, **k)
    monkeypatch.setattr(compare, 'predictive_score', boom)
    w = CompareWidget(REAL, {'bad': OTHER[:50], 'good': OTHER}, disc_iterations=5, pred_iterations=5)
    assert w.wait(120) and w.state == 'done'
    assert isinstance(w.error, RuntimeError) and 'exploded' in w.errors['bad']
    assert '&lt;script&gt;' in w.error_view.value and '<script>' not in w.error_view.value
    assert w.error_view.value.count('gmw-error') == 1
    t = w.table.set_index('model')
    assert t.predictive['good'] > 0 and t.repeats['good'] == 1
    w.start(); assert w.wait(120)                          # a restart clears scoring errors it can retry
    assert w.errors.keys() == {'bad'}


def test_series_data_gives_its_test_windows_and_feature_names():
    data = SeriesData.from_array(sine_data(200, 12, 3, seed=0), features=['a', 'b', 'c'], scaler=None)
    w = CompareWidget(data, {'same': OTHER}, autostart=False)
    assert w.features == ['a', 'b', 'c'] and w.real.shape == (data.n('test'), 12, 3)
    assert np.allclose(w.real, data.windows('test').numpy())
    assert [o[0] for o in w.feature.options] == ['a', 'b', 'c']
    assert w.n == data.n('test')


def test_n_caps_each_set():
    w = CompareWidget(np.concatenate([REAL] * 8), {'same': np.concatenate([OTHER] * 8)}, autostart=False)
    assert w.n == 2000 and len(w.real) == 2000 and len(w.samples['same']) == 2000
