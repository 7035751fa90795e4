"""Behaviour of the sequence VAEs: closed-form KL, reparameterisation gradients, schedules, word dropout, free bits,
terms, shapes, seeded decoding, importance-sampled NLL, and the collapse detector on collapsed and healthy models."""
import math
import pytest, torch
from hypothesis import given, settings, strategies as st
from gmwidgets.data import TextData, sines
from gmwidgets.vae import (SentenceVAE, SeriesVAE, gaussian_kl, reparameterize, free_bits_kl, active_units,
                           word_dropout, kl_weight, kl_weight_linear, kl_weight_sigmoid, kl_weight_cyclical,
                           is_collapsed, importance_nll, used_units, posterior_usage)
from gmwidgets.train import Run
from toys import IgnoresX

torch.set_num_threads(1)
WORDS = 'the a cat dog sat ran far home on mat big small red old new'.split()


def text_data(n=120, seed=0, same=False):
    "Word-level sentences of 3-6 random words (or one sentence repeated when `same`)."
    g = torch.Generator().manual_seed(seed)
    texts = ['the cat sat on the mat'] * n if same else \
        [' '.join(WORDS[i] for i in torch.randint(len(WORDS), (int(torch.randint(3, 7, (1,), generator=g)),),
                                                  generator=g))
         for _ in range(n)]
    return TextData.from_texts(texts, level='word', name='toy')


def small_vae(data, **kw):
    return SentenceVAE.for_data(data, **(dict(emb=16, hidden=32, latent=4) | kw))


def train(model, data, steps, lr=1e-2, batch_size=32, log=None):
    "`steps` Adam steps; the KL per sequence logged at each (and every term appended to `log`, a list, when given)."
    opt, kls, done = torch.optim.Adam(model.parameters(), lr=lr), [], 0
    model.train()
    while done < steps:
        for x in data.batches('train', batch_size, seed=done):
            t = model.loss(x); opt.zero_grad(); t['loss'].backward(); opt.step()
            kls.append(float(t['kl'])); done += 1
            if log is not None: log.append({k: float(v.detach()) for k, v in t.items()})
            if done == steps: break
    return kls


# ---- Gaussian parts
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=6), st.floats(-2, 2))
@settings(max_examples=30, deadline=None)
def test_kl_matches_torch_distributions(mus, lv):
    mu = torch.tensor([mus]); logvar = torch.full_like(mu, lv)
    want = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                             torch.distributions.Normal(0., 1.))
    torch.testing.assert_close(gaussian_kl(mu, logvar), want, atol=1e-5, rtol=1e-5)


def test_kl_matches_monte_carlo():
    mu, logvar = torch.tensor([[0.7, -1.2]]), torch.tensor([[-0.5, 0.8]])
    z = reparameterize(mu.expand(200_000, -1), logvar.expand(200_000, -1), torch.Generator().manual_seed(0))
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp()).log_prob(z)
    p = torch.distributions.Normal(0., 1.).log_prob(z)
    torch.testing.assert_close((q - p).mean(0, keepdim=True), gaussian_kl(mu, logvar), atol=0.02, rtol=0.02)


def test_reparameterisation_gradients_flow():
    mu, logvar = torch.tensor([[0.5, -0.5]], requires_grad=True), torch.tensor([[0.2, -0.4]], requires_grad=True)
    g = torch.Generator().manual_seed(1)
    z = reparameterize(mu, logvar, g)
    z.sum().backward()
    eps = (z.detach() - mu.detach()) / (0.5 * logvar.detach()).exp()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps)


def test_model_gradients_reach_encoder_through_recon():
    data = text_data(40)
    m = small_vae(data, anneal='linear', anneal_steps=1000)  # beta = 0 at step 0: only recon drives the encoder
    t = m.loss(next(data.batches('train', 16, seed=0)))
    assert float(t['beta']) == 0.0
    t['loss'].backward()
    assert m.to_posterior.weight.grad.abs().sum() > 0 and m.encoder.weight_ih_l0.grad.abs().sum() > 0


def test_free_bits_and_active_units():
    kl = torch.tensor([[0.1, 2.0, 0.0], [0.3, 1.0, 0.0]])
    assert float(free_bits_kl(kl, 0.0)) == pytest.approx(float(kl.sum(1).mean()))
    assert float(free_bits_kl(kl, 0.5)) == pytest.approx(0.5 + 1.5 + 0.5)
    mu = torch.stack([torch.linspace(-1, 1, 50), torch.full((50,), 3.0), 0.01 * torch.randn(50)], 1)
    assert active_units(mu) == 1 and active_units(mu, threshold=1e-6) == 2


def test_used_units_need_both_variance_and_kl():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 1, generator=g)
    mu = torch.cat([x, 0.15 * x, torch.full((400, 1), 2.0), torch.zeros(400, 1)], 1)  # (N, 4)
    lv = torch.cat([torch.full((400, 1), -2.0), torch.zeros(400, 1), torch.zeros(400, 1), torch.zeros(400, 1)], 1)
    kl = gaussian_kl(mu, lv)  # unit 0: informative; 1: active, ~0.01 nats; 2: 2 nats but constant; 3: the prior
    assert active_units(mu) == 2 and used_units(mu, kl) == 1
    assert used_units(mu, kl, kl_min=0.001) == 2 and used_units(mu, kl, active=10.0) == 0


def test_free_bits_in_model_loss():
    data = text_data(40)
    m = small_vae(data, anneal='none', free_bits=5.0).eval()
    x = next(data.batches('train', 16, seed=0))
    torch.manual_seed(0); t = m.loss(x)
    assert float(t['kl']) < 5.0 * 4  # the floor binds on every dimension
    assert float(t["loss"].detach()) == pytest.approx(float(t["recon"]) + 5.0 * 4, rel=1e-5)


# ---- schedules
def test_schedules_values():
    assert [kl_weight_linear(s, 100) for s in (0, 1, 50, 99, 100, 1000)] == [0, 0.01, 0.5, 0.99, 1, 1]
    assert kl_weight_sigmoid(2000) == 0.5 and kl_weight_sigmoid(0) == pytest.approx(1 / (1 + math.exp(5)))
    assert kl_weight_sigmoid(10**9) == 1.0 and kl_weight_sigmoid(-10**9) < 1e-20
    assert [kl_weight_cyclical(s, 10, 0.5) for s in range(0, 21, 2)] == [0, .4, .8, 1, 1, 0, .4, .8, 1, 1, 0]
    assert kl_weight('none', 0) == 1.0
    with pytest.raises(ValueError, match="schedule='bogus'"): kl_weight('bogus', 1)
    with pytest.raises(ValueError, match='period=0'): kl_weight_cyclical(1, 0)


@pytest.mark.parametrize('anneal', ['linear', 'sigmoid', 'cyclical', 'none'])
def test_model_counts_its_steps_for_beta(anneal):
    data = text_data(40)
    m = small_vae(data, anneal=anneal, anneal_steps=8)
    x = next(data.batches('train', 8, seed=0))
    betas = [float(m.loss(x)['beta']) for _ in range(20)]
    assert betas == pytest.approx([kl_weight(anneal, s, 8) for s in range(20)])
    assert int(m.step) == 20
    m.eval(); m.loss(x); m.loss(x)
    assert int(m.step) == 20  # evaluation does not advance the schedule
    assert 'step' in m.state_dict()  # saved with the weights, so a resumed run keeps its beta


def test_bad_config_is_named():
    with pytest.raises(ValueError, match="anneal='cosine'"): SentenceVAE(50, anneal='cosine')
    with pytest.raises(ValueError, match='word_dropout=1.5'): SentenceVAE(50, word_dropout=1.5)
    with pytest.raises(ValueError, match='vocab_size=0'): SentenceVAE()
    with pytest.raises(ValueError, match='obs_std=0'): SeriesVAE(3, obs_std=0)


# ---- word dropout
def test_word_dropout_rate_respected():
    x = torch.randint(4, 100, (400, 50)); x[:, 0] = 1; x[:, 40:] = 0
    out = word_dropout(x, 0.3, generator=torch.Generator().manual_seed(0))
    eligible = (x != 0) & (x != 1)
    dropped = (out == 3) & eligible
    assert abs(float(dropped.sum() / eligible.sum()) - 0.3) < 0.01
    assert (out[:, 0] == 1).all() and (out[:, 40:] == 0).all()  # <bos> and padding kept
    assert ((out == x) | dropped).all()                         # nothing else changed
    assert (word_dropout(x, 0.0) == x).all()
    with pytest.raises(ValueError, match='rate=-0.1'): word_dropout(x, -0.1)


def test_word_dropout_only_in_training():
    data = text_data(40)
    x = next(data.batches('train', 16, seed=0))
    m = small_vae(data, word_dropout=0.5)
    z = torch.zeros(x.size(0), 4)
    with torch.no_grad():
        m.eval(); a, b = m.recon_nll(x, z), m.recon_nll(x, z)
        m.train(); c = m.recon_nll(x, z)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


# ---- terms, shapes, decoding
def test_sentence_terms_and_units():
    data = text_data(60)
    m = small_vae(data).eval()
    x = next(data.batches('train', 16, seed=0))
    torch.manual_seed(0); t = m.loss(x)
    assert set(t) == {'loss', 'recon', 'kl', 'elbo', 'beta', 'active_units', 'used_units', 'nll'}
    assert 0 <= float(t['used_units']) <= float(t['active_units'])
    assert float(t['elbo']) == pytest.approx(-(float(t['recon']) + float(t['kl'])), rel=1e-5)
    n_tok = int((x[:, 1:] != 0).sum())
    assert float(t['nll']) * n_tok == pytest.approx((float(t['recon']) + float(t['kl'])) * x.size(0), rel=1e-4)
    assert 0 <= float(t['active_units']) <= 4
    # recon per sentence is the summed token cross-entropy at the sampled z
    assert float(t['recon']) > 0 and float(t['kl']) >= 0


def test_sentence_shapes_and_seeded_decoding():
    data = text_data(60)
    m = small_vae(data)
    x = next(data.batches('train', 8, seed=0))
    mu, logvar = m.encode(x)
    assert mu.shape == logvar.shape == (8, 4)
    ids = m.decode(torch.randn(5, 4), length=7, seed=0)
    assert len(ids) == 5 and all(len(r) <= 7 for r in ids)
    assert all(0 <= i < len(data.vocab) and i not in (0, 1, 2) for r in ids for i in r)
    assert m.sample(6, seed=3) == m.sample(6, seed=3)
    assert m.sample(6, seed=3) != m.sample(6, seed=4)
    assert m.decode(mu, greedy=True) == m.decode(mu, greedy=True, seed=99)
    assert m.training  # decoding restores the mode
    assert len(m.reconstruct(['the cat sat', 'a dog ran'])) == 2
    with pytest.raises(ValueError, match=r'z of shape \(2, 3\)'): m.decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match='temperature=0'): m.sample(2, temperature=0)
    with pytest.raises(TypeError): m.sample(2, prefix='the')
    with pytest.raises(ValueError, match=r'batch of shape \(2, 3, 4\)'): m.encode(torch.zeros(2, 3, 4))


def test_series_shapes_and_likelihood():
    sd = sines(n=200)
    m = SeriesVAE.for_data(sd, hidden=16, latent=3)
    x = next(sd.batches('train', 16, seed=0))
    mu, logvar = m.encode(x)
    assert mu.shape == (16, 3)
    assert m.decode(mu, greedy=True).shape == (16, 24, 5) and m.decode(mu, length=10, seed=0).shape == (16, 10, 5)
    assert m.sample(4, seed=0).shape == (4, 24, 5)
    torch.testing.assert_close(m.sample(4, seed=0), m.sample(4, seed=0))
    z = torch.zeros(16, 3)
    want = -torch.distributions.Normal(m.mean(z, 24), m.std).log_prob(x).sum((1, 2))
    torch.testing.assert_close(m.recon_nll(x, z), want, atol=1e-3, rtol=1e-4)
    fixed = SeriesVAE(5, obs_std=0.05)
    torch.testing.assert_close(fixed.std, torch.full((5,), 0.05))
    t = m.loss(x); t['loss'].backward()
    assert m.log_std.grad.abs().sum() > 0  # the learned variance is trained


@pytest.fixture(scope='module')
def healthy():
    """A SeriesVAE trained 400 steps on sines, with its KL log. The decoder sees only z; with a fixed observation noise
    (0.05) z has to carry the window (with a learned one this small model first explains the windows as noise)."""
    torch.manual_seed(0)
    sd = sines(n=400)
    m = SeriesVAE.for_data(sd, hidden=32, latent=4, anneal='linear', anneal_steps=50, obs_std=0.05)
    return m, sd, train(m, sd, 400, lr=1e-2)


def test_importance_nll_is_tighter_than_elbo(healthy):
    m, sd, _ = healthy
    elbo = sum(importance_nll(m, sd, 'test', k=1, seed=s).nll for s in range(3)) / 3  # k=1: the ELBO bound
    many = importance_nll(m, sd, 'test', k=50, seed=0)
    assert many.nll < elbo - 0.05, (many.nll, elbo)  # a tighter bound on -log p(x)
    assert many.n == 40 * 24 and importance_nll(m, sd, 'test', k=50, seed=0).nll == many.nll  # per step; seeded
    with pytest.raises(ValueError, match='k=0'): importance_nll(m, sd, k=0)


def test_run_trains_a_vae_and_logs_its_terms():
    data = text_data(80)
    m = small_vae(data, anneal='linear', anneal_steps=4)
    run = Run(m, data, lr=1e-2, batch_size=16, max_steps=6)
    run.start(); run.wait()
    h = run.history
    assert {'recon', 'kl', 'elbo', 'beta'} <= set(h.columns)
    assert list(h['beta']) == pytest.approx([kl_weight('linear', s, 4) for s in range(6)])


# ---- posterior collapse
def test_is_collapsed_is_pure_and_checks_patience():
    kl = [2.0] * 30 + [0.01] * 20
    assert is_collapsed(kl, patience=20) and not is_collapsed(kl, patience=21)
    assert not is_collapsed(kl, threshold=0.005, patience=20)
    assert kl == [2.0] * 30 + [0.01] * 20
    with pytest.raises(ValueError, match='patience=0'): is_collapsed(kl, patience=0)


def test_detector_fires_on_collapsed_model_not_on_healthy_one(healthy):
    torch.manual_seed(0)
    same = text_data(64, same=True)  # one sentence: the decoder needs nothing from z, so without annealing KL -> 0
    collapsed, log = small_vae(same, anneal='none', word_dropout=0.0), []
    kls = train(collapsed, same, 150, log=log)
    assert is_collapsed(kls, 0.05, 30), kls[-30:]
    assert is_collapsed([t['used_units'] for t in log], 0.5, 30)  # no unit carries information
    assert int(posterior_usage(collapsed, same, 'train')['used'].sum()) == 0
    m, sd, kls = healthy
    assert not is_collapsed(kls, 0.05, 30) and min(kls[-30:]) > 0.2, kls[-30:]
    usage = posterior_usage(m, sd, 'test')
    assert int(usage['used'].sum()) >= 1 and float(usage['kl'].sum()) > 0.2, usage


def test_encoder_that_ignores_x_is_collapsed_though_its_kl_is_above_005():
    sd = sines(n=200)
    m = IgnoresX.for_data(sd, hidden=16, latent=4, anneal='none')
    t = m.loss(next(sd.batches('train', 64, seed=0)))
    assert float(t['kl']) == pytest.approx(4 * 0.045, rel=1e-4) and float(t['kl']) > 0.05  # the old alert stayed silent
    assert (float(t['active_units']), float(t['used_units'])) == (0, 0)
    u = posterior_usage(m, sd)
    assert not u['active'].any() and not u['used'].any() and torch.allclose(u['kl'], torch.full((4,), 0.045))
