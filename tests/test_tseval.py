"Behaviour of the TimeGAN evaluation suite: discriminative/predictive scores, repeats, MMD, ACF, marginals, PCA."
import numpy as np
import pytest
import torch
from gmwidgets.data import sine_data
from gmwidgets.tseval import (discriminative_score, predictive_score, scores, mmd, acf, marginals, pca_2d,
                              next_step_task,
                              as_windows, ScoringStopped)

torch.set_num_threads(1)
REAL = sine_data(1000, 24, 5, seed=0).astype(np.float32)    # (N, T, F) in [0, 1]
OTHER = sine_data(1000, 24, 5, seed=1).astype(np.float32)   # the same distribution, other draws
NOISE = np.random.default_rng(1).uniform(0, 1, REAL.shape).astype(np.float32)


def time_shuffled(x, seed=0):
    "Each window's steps in a random order: the same marginals, no dynamics."
    rng = np.random.default_rng(seed)
    return np.stack([w[rng.permutation(len(w))] for w in x])


def test_discriminative_real_vs_real_is_near_zero():
    assert discriminative_score(REAL, OTHER, iterations=500, seed=0) < 0.08


def test_discriminative_real_vs_noise_is_near_half():
    assert discriminative_score(REAL, NOISE, iterations=1000, seed=0) > 0.45


def test_discriminative_is_deterministic_by_seed_and_leaves_global_rng():
    torch.manual_seed(123); before = torch.rand(1)
    torch.manual_seed(123)
    a = discriminative_score(REAL[:200], NOISE[:200], iterations=30, seed=3)
    after = torch.rand(1)
    assert a == discriminative_score(REAL[:200], NOISE[:200], iterations=30, seed=3)
    assert after == before    # the global torch RNG was not consumed


def test_predictive_real_beats_time_shuffled():
    real = predictive_score(REAL, OTHER, iterations=600, seed=0)
    shuffled = predictive_score(REAL, time_shuffled(OTHER), iterations=600, seed=0)
    assert real < shuffled - 0.01, (real, shuffled)


def test_next_step_task_matches_the_reference_slicing():
    x = torch.arange(2 * 4 * 3, dtype=torch.float32).view(2, 4, 3)
    inp, y = next_step_task(x)
    assert torch.equal(inp, x[:, :3, :2]) and torch.equal(y, x[:, 1:, 2])
    one = torch.rand(2, 4, 1)
    assert torch.equal(next_step_task(one)[0], one[:, :3])   # one feature: it reads itself


def test_scores_mean_and_std_over_repeats():
    s = scores(REAL[:300], NOISE[:300], repeats=3, seed=0, disc_iterations=20, pred_iterations=20)
    d = [discriminative_score(REAL[:300], NOISE[:300], 20, 128, k) for k in range(3)]
    assert s['repeats'] == 3 and s['discriminative'] == pytest.approx(np.mean(d))
    assert s['discriminative_std'] == pytest.approx(np.std(d))
    with pytest.raises(ValueError, match='repeats=0'): scores(REAL, NOISE, repeats=0)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r'expected the same \(T, F\)'): discriminative_score(REAL, REAL[:, :10])
    with pytest.raises(ValueError, match='expected \\(N, T, F\\)'): predictive_score(REAL[0], REAL[0])
    with pytest.raises(ValueError, match='non-finite'): as_windows(np.full((2, 3, 1), np.nan))
    with pytest.raises(ValueError, match='batch_size=0'): predictive_score(REAL, REAL, batch_size=0)


def test_mmd_orders_distributions():
    same, shuffled, noise = mmd(REAL, OTHER), mmd(REAL, time_shuffled(OTHER)), mmd(REAL, NOISE)
    assert abs(same) < 0.005 and same < shuffled < noise


def test_acf_of_known_series():
    t = np.arange(24)
    alt = np.tile(((-1.0) ** t)[None, :, None], (3, 1, 1))   # alternating: acf(1) < 0, acf(2) > 0
    a = acf(alt, 2)
    assert a.shape == (3, 1) and a[0, 0] == pytest.approx(1) and a[1, 0] < -0.9 and a[2, 0] > 0.85
    assert (acf(REAL, 3)[1] > 0.8).all() and (np.abs(acf(NOISE, 3)[1]) < 0.1).all()
    with pytest.raises(ValueError, match='lags=24'): acf(REAL, 24)


def test_marginals_and_pca():
    m = marginals(REAL, NOISE, bins=8, features=list('abcde'))
    assert list(m.feature.unique()) == list('abcde') and len(m) == 40
    widths = m.hi - m.lo
    assert np.allclose((widths * m.real).groupby(m.feature).sum(),
                       1) and np.allclose((widths * m.fake).groupby(m.feature).sum(), 1)
    p = pca_2d(REAL, NOISE, max_n=300)
    real = p[p.source == 'real']
    assert len(p) == 600 and abs(real.pc1.mean()) < 1e-6 and real.pc1.var() >= real.pc2.var()


def test_progress_reports_every_step_and_leaves_the_score_unchanged():
    seen = []
    with_hook = discriminative_score(REAL[:200], NOISE[:200], iterations=25, seed=2, progress=lambda i,
                                     n: seen.append((i, n)))
    assert seen == [(i, 25) for i in range(1, 26)]
    assert with_hook == discriminative_score(REAL[:200], NOISE[:200], iterations=25, seed=2)


@pytest.mark.parametrize('score', [discriminative_score, predictive_score])
def test_should_stop_ends_the_loop_at_once(score):
    import time
    steps, t0 = [], time.perf_counter()
    with pytest.raises(ScoringStopped, match='stopped after 7 of 100000'):
        score(REAL, NOISE, iterations=100_000, progress=lambda i, n: steps.append(i),
              should_stop=lambda: len(steps) >= 7)
    assert steps == list(range(1, 8)) and time.perf_counter() - t0 < 2


def test_scores_passes_should_stop_on():
    calls = []
    with pytest.raises(ScoringStopped):
        scores(REAL[:100], NOISE[:100], repeats=3, disc_iterations=50, pred_iterations=50,
               should_stop=lambda: calls.append(1) or len(calls) > 60)   # inside the second discriminative run
    assert len(calls) == 61
