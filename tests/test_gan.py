"Behaviour of the recurrent WGAN-GP: shapes, penalty, its own optimisers, learning a toy problem, training through Run."
import io
import pytest
import torch
from gmwidgets.gan import SeriesGAN, gradient_penalty
from gmwidgets.sampler import sample_controls
from gmwidgets.train import Run
from gmwidgets.data import SeriesData

torch.set_num_threads(1)


def toy(n=64, T=6, F=2, level=0.8):
    "Windows near a constant level: a problem a small GAN learns in a few hundred steps."
    g = torch.Generator().manual_seed(0)
    return torch.full((n, T, F), level) + 0.05 * torch.randn(n, T, F, generator=g)


def test_shapes_and_terms():
    torch.manual_seed(0)
    gan = SeriesGAN(3, hidden=8, layers=1, length=7)
    assert gan.config.z_dim == 3
    x = gan.sample(5, seed=0)
    assert x.shape == (5, 7, 3) and ((x > 0) & (x < 1)).all()
    terms = gan.loss(torch.rand(4, 7, 3))
    assert set(terms) == {'loss', 'd_loss', 'g_loss', 'gp',
                          'wasserstein'} and all(v.numel() == 1 for v in terms.values())
    assert torch.equal(terms['loss'], terms['d_loss'])
    assert terms['d_loss'].item() == pytest.approx(-terms['wasserstein'].item() + 10 * terms['gp'].item(), abs=1e-5)


def test_loss_works_under_no_grad():
    gan = SeriesGAN(2, hidden=8, layers=1)
    with torch.no_grad(): terms = gan.loss(torch.rand(4, 24, 2))
    assert terms['gp'].item() >= 0


def test_gradient_penalty_is_zero_for_a_unit_gradient_critic():
    class Unit(torch.nn.Module):
        def forward(self, x): return x.flatten(1).sum(1) / x[0].numel() ** 0.5
    class Steep(torch.nn.Module):
        def forward(self, x): return 3 * x.flatten(1).sum(1) / x[0].numel() ** 0.5
    r, f = torch.rand(8, 5, 2), torch.rand(8, 5, 2)
    assert gradient_penalty(Unit(), r, f).item() == pytest.approx(0, abs=1e-10)
    assert gradient_penalty(Steep(), r, f).item() == pytest.approx(4, rel=1e-5)   # (3 - 1)^2


def test_sample_is_deterministic_by_seed_and_restores_mode():
    gan = SeriesGAN(2, hidden=8, layers=1, length=5)
    assert torch.equal(gan.sample(3, seed=4), gan.sample(3, seed=4))
    assert not torch.equal(gan.sample(3, seed=4), gan.sample(3, seed=5))
    assert gan.training
    assert sample_controls(gan) == {'seed': None}
    with pytest.raises(TypeError): gan.sample(3, steps=10)
    with pytest.raises(ValueError, match='n=0'): gan.sample(0)


def test_train_step_uses_its_own_optimisers_and_ignores_opt():
    torch.manual_seed(0)
    gan = SeriesGAN(2, hidden=8, layers=1, length=6, n_critic=3)
    g0 = [p.clone() for p in gan.generator.parameters()]
    # (the critic's output bias cancels in D(fake) - D(real): no gradient)
    d0 = [p.clone() for p in gan.critic.rnn.parameters()]
    out = gan.train_step(toy(), opt=None)
    assert set(out) == {'loss', 'd_loss', 'g_loss', 'gp',
                        'wasserstein'} and all(isinstance(v, float) for v in out.values())
    opt_g, opt_d = gan.optimizers()
    assert opt_d.state[next(gan.critic.parameters())]['step'].item() == 3       # n_critic critic updates
    assert opt_g.state[next(gan.generator.parameters())]['step'].item() == 1    # one generator update
    assert all(not torch.equal(a, b) for a, b in zip(g0, gan.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, gan.critic.rnn.parameters()))


def test_learns_a_toy_problem():
    torch.manual_seed(0)
    x = toy()
    gan = SeriesGAN(2, hidden=16, layers=1, length=6, n_critic=2)
    gap = lambda: (gan.sample(256, seed=0) - 0.8).abs().mean().item()
    before = gap()
    hist = [gan.train_step(x) for _ in range(300)]
    assert gap() < 0.4 * before, (before, gap())
    assert max(h['wasserstein'] for h in hist) > 0.1    # the critic learnt to tell real from fake


def test_trains_through_run_and_records_terms():
    data = SeriesData.from_array(toy(128), scaler=None)
    torch.manual_seed(0)
    gan = SeriesGAN.for_data(data, hidden=8, layers=1)
    run = Run(gan, data, batch_size=32, max_steps=12, num_threads=1).start()
    assert run.wait(60)
    h = run.history
    assert len(h) == 12 and {'d_loss', 'g_loss', 'gp', 'wasserstein', 'loss'} <= set(h.columns)
    assert h[['d_loss', 'g_loss']].notna().all().all()
    assert run.opt.state == {} or all(len(s) == 0 for s in run.opt.state.values())   # Run's own optimizer never stepped
    buf = io.BytesIO(); torch.save(gan.state_dict(), buf); buf.seek(0)
    again = SeriesGAN.for_data(data, hidden=8, layers=1)
    again.load_state_dict(torch.load(buf, weights_only=True))
    assert torch.equal(again.sample(4, seed=0), gan.sample(4, seed=0))


def test_bad_config_and_batch():
    with pytest.raises(ValueError, match='n_features=0'): SeriesGAN(0)
    with pytest.raises(ValueError, match='n_critic=0'): SeriesGAN(2, n_critic=0)
    with pytest.raises(ValueError, match=r'expected \(B, T, F=2\)'): SeriesGAN(2).loss(torch.rand(3, 6, 3))
