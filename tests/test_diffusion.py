"Behaviour of the 1-D diffusion model: cosine schedule, loss, DDIM/DDPM sampling and its controls, training."
import math
import pytest
import torch
from gmwidgets.diffusion import Diffusion, cosine_schedule, ddim_timesteps, ddim_step
from gmwidgets.sampler import sample_controls
from gmwidgets.train import Run
from gmwidgets.data import SeriesData

torch.set_num_threads(1)


def small(**kw):
    torch.manual_seed(0)
    return Diffusion(2, **({'hidden': 16, 'blocks': 2, 'length': 8, 'timesteps': 100} | kw))


@pytest.mark.parametrize('T', [1, 10, 1000])
def test_cosine_schedule_properties(T):
    betas, abar = cosine_schedule(T)
    assert betas.shape == abar.shape == (T,)
    assert ((abar > 0) & (abar < 1)).all() and (abar[1:] < abar[:-1]).all()
    assert ((betas > 0) & (betas <= 0.999)).all()
    assert torch.allclose(abar, torch.cumprod(1 - betas, 0))


def test_cosine_schedule_matches_the_paper_formula():
    T, s = 1000, 0.008
    f = lambda t: math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    _, abar = cosine_schedule(T)
    for t in (1, 100, 500, 900):   # abar of the paper's step t is index t-1; the clip only bites near t = T
        assert abar[t - 1].item() == pytest.approx(f(t) / f(0), rel=1e-9)
    with pytest.raises(ValueError, match='T=0'): cosine_schedule(0)


def test_ddim_with_eta_one_and_all_steps_is_ddpm_ancestral():
    betas, abar = cosine_schedule(50)
    x, eps, z = torch.randn(3, 4, 2), torch.randn(3, 4, 2), torch.randn(3, 4, 2)
    t = 20
    got, _ = ddim_step(x, eps, abar[t].item(), abar[t - 1].item(), 1.0, z, clip=False)
    alpha = 1 - betas[t]
    mean = (x - betas[t] / (1 - abar[t]).sqrt() * eps) / alpha.sqrt()            # DDPM eq. 11
    var = betas[t] * (1 - abar[t - 1]) / (1 - abar[t])                           # beta tilde
    assert torch.allclose(got, (mean + var.sqrt() * z).float(), atol=1e-5)
    assert ddim_timesteps(50, 50) == list(range(49, -1, -1))


def test_sampling_shapes_and_determinism_by_seed():
    m = small()
    a = m.sample(4, seed=1, steps=5)
    assert a.shape == (4, 8, 2) and torch.equal(a, m.sample(4, seed=1, steps=5))
    assert not torch.equal(a, m.sample(4, seed=2, steps=5))
    b, path = m.sample(4, seed=1, steps=5, eta=1.0, return_path=True)
    assert path.shape == (6, 4, 8, 2) and torch.equal(path[-1], b)
    assert torch.equal(b, m.sample(4, seed=1, steps=5, eta=1.0))
    assert m.training    # sampling restores the mode


def test_steps_control_validation_and_unknown_controls():
    m = small()
    assert sample_controls(m) == {'seed': None, 'steps': 50}
    for bad in (0, 101):
        with pytest.raises(ValueError, match=f'steps={bad}'): m.sample(2, steps=bad)
    with pytest.raises(TypeError, match='steps=2.5: need an integer'): m.sample(2, steps=2.5)
    with pytest.raises(ValueError, match='eta=-0.5'): m.sample(2, eta=-0.5)
    with pytest.raises(ValueError, match='n=0'): m.sample(0)
    with pytest.raises(TypeError): m.sample(2, temperature=0.5)


def test_loss_decreases_on_a_toy_problem():
    torch.manual_seed(0)
    t = torch.arange(8.)
    x = 0.5 + 0.4 * torch.sin(t[None, :, None] * 0.7 + torch.rand(256, 1, 2) * 6)   # (256, 8, 2) sines in [0.1, 0.9]
    m = small()
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    eval_loss = lambda: (torch.manual_seed(1), sum(m.loss(x)['loss'].item() for _ in range(5)) / 5)[1]
    before = eval_loss()
    for i in range(150):
        loss = m.loss(x[torch.randint(0, 256, (64,))])['loss']
        opt.zero_grad(); loss.backward(); opt.step()
    after = eval_loss()
    assert after < 0.6 * before, (before, after)


def test_trains_with_run_and_samples_near_the_data():
    torch.manual_seed(0)
    data = SeriesData.from_array(torch.full((200, 6, 1), 0.8) + 0.02 * torch.randn(200, 6, 1), scaler=None)
    m = Diffusion.for_data(data, hidden=16, blocks=2, timesteps=100)
    run = Run(m, data, lr=3e-3, batch_size=64, max_steps=150, num_threads=1).start()
    assert run.wait(60)
    h = run.history
    assert {'loss', 'mse'} <= set(h.columns) and h.loss.iloc[-20:].mean() < h.loss.iloc[:20].mean()
    x = m.sample(64, seed=0, steps=20)
    assert abs(x.mean().item() - 0.8) < 0.1


def test_bad_config_and_batch():
    with pytest.raises(ValueError, match='n_features=0'): Diffusion(0)
    with pytest.raises(ValueError, match=r'expected \(B, T, F=2\)'): small().loss(torch.rand(3, 8, 3))


def test_predict_gives_noise_and_clean_window_consistently_for_both_objectives():
    for objective in ('eps', 'x0'):
        m = small(objective=objective)
        torch.nn.init.normal_(m.net.out.weight)                   # a head that is not zero
        x, t = torch.randn(3, 8, 2), torch.tensor([0, 50, 99])
        eps, x0 = m.predict(x, t)
        ab = m.alphas_cumprod[t][:, None, None]
        assert torch.allclose(ab.sqrt() * x0 + (1 - ab).sqrt() * eps, x, atol=1e-4), objective  # x_t = q(x_0, eps)
        assert torch.equal(m.net(x, t), eps if objective == 'eps' else x0)


def test_x0_objective_with_fourier_loss_and_ema_trains_and_samples_near_the_data():
    torch.manual_seed(0)
    data = SeriesData.from_array(torch.full((200, 6, 1), 0.8) + 0.02 * torch.randn(200, 6, 1), scaler=None)
    m = Diffusion.for_data(data, hidden=16, blocks=2, timesteps=100, objective='x0', fourier=1.0, ema=0.9)
    before = [p.clone() for p in m.ema_net.parameters()]
    run = Run(m, data, lr=3e-3, batch_size=64, max_steps=150, num_threads=1).start()
    assert run.wait(60)
    h = run.history
    assert {'loss', 'mse', 'fourier'} <= set(h.columns) and h.loss.iloc[-20:].mean() < h.loss.iloc[:20].mean()
    assert any(not torch.equal(a, b) for a, b in zip(before, m.ema_net.parameters()))  # the average followed
    x = m.sample(64, seed=0, steps=20)
    assert abs(x.mean().item() - 0.8) < 0.1


def test_ema_moves_only_in_training_and_sampling_uses_it():
    m = small(ema=0.5)
    with torch.no_grad(): m.net.out.weight.fill_(0.1)
    m.eval(); m.loss(torch.rand(4, 8, 2))                           # evaluation leaves the average alone
    assert m.ema_net.out.weight.abs().sum() == 0
    m.train(); m.loss(torch.rand(4, 8, 2))                          # training moves it halfway to the weights
    assert torch.allclose(m.ema_net.out.weight, torch.full_like(m.net.out.weight, 0.05))
    a = m.sample(2, seed=0, steps=3)
    with torch.no_grad(): m.net.out.weight.fill_(5.0)               # the live weights do not change the samples
    assert torch.equal(a, m.sample(2, seed=0, steps=3))


def test_fourier_loss_is_zero_only_for_equal_windows():
    from gmwidgets.diffusion import fourier_loss
    x = torch.randn(4, 8, 2)
    assert fourier_loss(x, x).item() == 0
    assert fourier_loss(x + 0.1 * torch.randn_like(x), x).item() > 0


def test_bad_objective_ema_and_fourier():
    with pytest.raises(ValueError, match="objective='v'"): small(objective='v')
    with pytest.raises(ValueError, match='ema=1'): small(ema=1.0)
    with pytest.raises(ValueError, match='fourier=-1'): small(fourier=-1.0)


def test_calibrate_maps_each_marginal_onto_the_data_and_keeps_the_order_of_values(tmp_path):
    # data: feature 0 mostly 0 with some exact 1s (like energy's `lights`), feature 1 skewed toward 1
    g = torch.Generator().manual_seed(0)
    real = torch.stack([(torch.rand(400, 8, generator=g) > 0.7).float(), torch.rand(400, 8, generator=g) ** 0.25], -1)
    m = small()
    with torch.no_grad(): m.net.out.bias.copy_(torch.tensor([0.3, -0.2]))   # an untrained model with some bias
    before = m.sample(300, seed=1, steps=10, eta=1.0)
    m.calibrate(real, n=600, steps=10, eta=1.0)
    after = m.sample(300, seed=1, steps=10, eta=1.0)
    # marginals: feature 0 takes the data's two values in its proportions, feature 1 the data's quantiles
    on_atoms = ((after[..., 0] == 0) | (after[..., 0] == 1)).float().mean().item()
    assert on_atoms > 0.99, on_atoms
    assert abs((after[..., 0] == 1).float().mean().item() - 0.3) < 0.05
    q = torch.tensor([0.1, 0.5, 0.9])
    assert torch.allclose(after[..., 1].flatten().quantile(q), real[..., 1].flatten().quantile(q), atol=0.03)
    assert not torch.allclose(before[..., 1].flatten().quantile(q), real[..., 1].flatten().quantile(q), atol=0.03)
    # the map is monotone in each feature: the same draw keeps its values' order
    b, a = before[..., 1].flatten(), after[..., 1].flatten()
    i, j = torch.randint(0, len(b), (2, 2000), generator=g)
    assert ((b[i] - b[j]) * (a[i] - a[j]) >= 0).all()
    # saved and loaded with the model
    m.save(tmp_path / 'm.safetensors')
    back = Diffusion.load(tmp_path / 'm.safetensors')
    assert back.config.calibration == 1001
    assert torch.equal(back.sample(20, seed=2, steps=10, eta=1.0), m.sample(20, seed=2, steps=10, eta=1.0))


def test_an_uncalibrated_model_saves_and_samples_as_before(tmp_path):
    m = small()
    x = m.sample(5, seed=0, steps=10)
    assert m.config.calibration == 0 and not hasattr(m, 'model_knots')
    m.save(tmp_path / 'm.safetensors')
    assert torch.equal(Diffusion.load(tmp_path / 'm.safetensors').sample(5, seed=0, steps=10), x)


def test_calibrate_rejects_windows_of_another_shape_and_bad_controls():
    m = small()
    with pytest.raises(ValueError, match=r'expected windows \(N, T=8, F=2\)'): m.calibrate(torch.rand(10, 8, 3))
    with pytest.raises(ValueError, match=r'expected windows \(N, T=8, F=2\)'): m.calibrate(torch.rand(10, 5, 2))
    with pytest.raises(ValueError, match='n=0'): m.calibrate(torch.rand(10, 8, 2), n=0)
    with pytest.raises(ValueError, match='steps=500'): m.calibrate(torch.rand(10, 8, 2), steps=500)
    with pytest.raises(ValueError, match='NaN'): m.calibrate(torch.full((10, 8, 2), float('nan')))
    with pytest.raises(TypeError, match='temperature'): m.calibrate(torch.rand(10, 8, 2), temperature=0.5)
    assert m.config.calibration == 0   # nothing fitted after a refused call
