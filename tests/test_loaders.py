("A PyTorch user's own data and loss in `Run`: DataLoaders, Datasets, tensors, `loss_fn`, with the dashboard, "
 "checkpoints and follow.")
import pytest, torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset
from gmwidgets.train import Run, RunError
from gmwidgets.dashboard import TrainingDashboard
from gmwidgets.follow import HistoryWriter, Follower

torch.set_num_threads(1)


class Regressor(torch.nn.Module):
    "A plain PyTorch model: no `loss()`, as a user brings it."
    def __init__(self, d=3):
        super().__init__(); torch.manual_seed(0); self.f = torch.nn.Linear(d, 1)
    def forward(self, x): return self.f(x).squeeze(1)  # (B,)


def mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def xy(n=40, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    return x, x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1


class Rows(Dataset):
    "A map-style Dataset of (x, y) pairs."
    def __init__(self, n=40): self.x, self.y = xy(n)
    def __len__(self): return len(self.x)
    def __getitem__(self, i): return self.x[i], self.y[i]


class Stream(IterableDataset):
    "An IterableDataset without a length."
    def __init__(self, n=40): self.x, self.y = xy(n)
    def __iter__(self): return iter(zip(self.x, self.y))


def fit(run, timeout=60):
    run.start(); assert run.wait(timeout); return run


def test_the_issue_repro_dataloader_trains_and_loss_goes_down():
    loader = DataLoader(TensorDataset(*xy()), batch_size=8, shuffle=True)
    run = fit(Run(Regressor(), loader, loss_fn=mse, epochs=20, lr=0.05))
    h = run.history
    assert run.state == 'finished' and len(h) == 20 * 5 and run.epoch == 20
    assert h.loss.iloc[-5:].mean() < 0.2 * h.loss.iloc[:5].mean()
    assert set(h.samples_per_s.dropna() > 0) == {True}


@pytest.mark.parametrize('make, kw, per_epoch', [
    (lambda: DataLoader(TensorDataset(*xy()), batch_size=16), {}, 3),      # its own batch size, not Run's
    (lambda: DataLoader(Rows(), batch_size=10, drop_last=True), {}, 4),
    (lambda: Rows(), dict(batch_size=16), 3),                              # map-style Dataset, Run's batch size
    (lambda: xy(), dict(batch_size=16), 3),                                # a tuple of tensors
    (lambda: [xy(8, seed=s) for s in range(5)], {}, 5),                    # a list of batches
])
def test_epochs_totals_and_progress_agree(make, kw, per_epoch):
    run = Run(Regressor(), make(), loss_fn=mse, epochs=2, **kw)
    assert run.total_steps == 2 * per_epoch
    dash = TrainingDashboard(run)
    assert dash.total == run.total_steps and dash.panel.progress_max == run.total_steps
    fit(run)
    assert run.step_count == 2 * per_epoch and list(run.history.epoch.unique()) == [0, 1]
    dash.close()


def test_a_single_tensor_with_a_model_that_has_loss():
    class AE(torch.nn.Module):
        def __init__(self): super().__init__(); self.f = torch.nn.Linear(4, 4)
        def loss(self, x): return {'loss': ((self.f(x) - x) ** 2).mean()}
    x = torch.randn(50, 4)
    run = fit(Run(AE(), x, batch_size=10, epochs=3))
    assert run.step_count == 15 and run.history.loss.notna().all()


def test_no_length_degrades_to_a_step_counter():
    loader = DataLoader(Stream(), batch_size=8)
    run = Run(Regressor(), loader, loss_fn=mse, epochs=2)
    assert run.total_steps is None
    dash = TrainingDashboard(run)
    assert dash.total is None and not dash.panel.progress_shown
    fit(run)
    assert run.step_count == 10 and run.epoch == 2  # an epoch ends where the iterator does
    dash._refresh()
    assert dash.panel.progress_text.startswith('step 10') and '/' not in dash.panel.progress_text
    assert 'ETA' not in dash.panel.progress_text
    dash.close()


def test_no_length_with_max_steps_has_a_total():
    run = Run(Regressor(), DataLoader(Stream(), batch_size=8), loss_fn=mse, max_steps=7)
    assert run.total_steps == 7
    assert fit(run).step_count == 7


def test_valid_loader_is_evaluated():
    x, y = xy(24, seed=1)
    run = fit(Run(Regressor(), DataLoader(TensorDataset(*xy()), batch_size=8),
                  valid=DataLoader(TensorDataset(x, y), batch_size=5),
                  loss_fn=mse, max_steps=10, eval_every=5))
    h = run.history.dropna(subset=['valid_loss'])
    assert list(h.step) == [5, 10]
    with torch.no_grad(): expected = torch.nn.functional.mse_loss(run.model(x), y).item()
    assert run.evaluate()['loss'] == pytest.approx(expected, rel=1e-5)  # weighted by batch size: 5,5,5,5,4


def test_evaluate_without_valid_names_what_to_pass():
    run = Run(Regressor(), xy(), loss_fn=mse)
    with pytest.raises(ValueError, match="pass valid="): run.evaluate()


def test_loss_fn_returning_a_dict_logs_every_term():
    def terms(model, batch):
        x, y = batch; err = model(x) - y
        return {'loss': (err ** 2).mean(), 'mae': err.abs().mean()}
    run = fit(Run(Regressor(), xy(), loss_fn=terms, batch_size=10, max_steps=4))
    assert {'loss', 'mae'} <= set(run.history.columns) and run.history.mae.notna().all()


def test_a_loader_the_loss_cannot_use_fails_on_the_first_batch_naming_type_and_shape():
    loader = DataLoader(TensorDataset(torch.randn(16, 5), torch.randn(16)), batch_size=4)  # 5 features, model takes 3
    run = Run(Regressor(), loader, loss_fn=mse, max_steps=10).start()
    with pytest.raises(RunError) as e: run.wait(30)
    msg = str(e.value)
    assert "loss_fn() at step 1, on a list of 2: tensor (4, 5) float32, tensor (4,) float32" in msg, msg
    assert run.step_count == 0 and run.state == 'failed'


def test_evaluate_names_loss_fn_and_the_batch_it_could_not_use():
    valid = DataLoader(TensorDataset(torch.randn(8, 5), torch.randn(8)), batch_size=4)  # 5 features, model takes 3
    run = Run(Regressor(), xy(), valid=valid, loss_fn=mse, batch_size=10)
    with pytest.raises(RuntimeError) as e: run.evaluate()
    msg = str(e.value)
    where = "loss_fn() failed in evaluate('valid') on a list of 2: tensor (4, 5) float32, tensor (4,) float32"
    assert msg.startswith(where), msg
    assert 'RuntimeError: mat1 and mat2 shapes cannot be multiplied' in msg
    assert isinstance(e.value.__cause__, RuntimeError)  # the user's error, kept as the cause
    assert 'loss()' not in msg.replace('loss_fn()', '')


def test_evaluate_during_training_fails_the_run_with_the_same_message():
    valid = DataLoader(TensorDataset(torch.randn(8, 5), torch.randn(8)), batch_size=4)
    run = Run(Regressor(), xy(), valid=valid, loss_fn=mse, batch_size=10, max_steps=10, eval_every=2).start()
    with pytest.raises(RunError): run.wait(30)
    msg = run.error_message
    assert ("failed in evaluate() after step 2: RuntimeError: loss_fn() failed in evaluate('valid') on a list of 2"
            in msg)
    assert run.step_count == 2


def test_a_loss_fn_returning_a_list_is_named_in_the_error():
    run = Run(Regressor(), xy(), loss_fn=lambda m, b: [mse(m, b)], batch_size=10, max_steps=2).start()
    with pytest.raises(RunError): run.wait(30)
    msg = run.error_message
    assert "loss_fn() returned list: expected a dict of scalar tensors or a scalar tensor" in msg, msg


def test_bad_data_and_model_fail_before_training():
    with pytest.raises(TypeError, match="pass loss_fn="): Run(Regressor(), xy())
    with pytest.raises(TypeError, match="one-shot iterator"): Run(Regressor(), (b for b in [xy()]), loss_fn=mse)
    with pytest.raises(TypeError, match="data is int"): Run(Regressor(), 3, loss_fn=mse)
    with pytest.raises(TypeError, match="loss_fn='mse'"): Run(Regressor(), xy(), loss_fn='mse')
    with pytest.raises(ValueError, match="expected one length"):
        Run(Regressor(), (torch.zeros(4, 3), torch.zeros(5)), loss_fn=mse)


def test_shuffle_follows_the_seed_per_epoch():
    order = lambda seed: [b[1].tolist() for b in Run(Regressor(), xy(), loss_fn=mse, batch_size=8,
                                                     seed=seed).data.batches(
        'train', 8, shuffle=True, seed=seed)]
    assert order(1) == order(1) and order(1) != order(2)


def test_checkpoint_round_trip_continues_mid_epoch(tmp_path):
    loader = DataLoader(TensorDataset(*xy()), batch_size=8)  # 5 batches an epoch, fixed order
    a = Run(Regressor(), loader, loss_fn=mse, epochs=2)
    a.step(7); a._thread.join(30)
    a.save(tmp_path / 'ck.pt')
    b = Run.load(tmp_path / 'ck.pt', Regressor(), loader, loss_fn=mse)
    assert (b.step_count, b.epoch, b._batch_in_epoch) == (7, 1, 2) and b.total_steps == 10
    fit(b); a.resume(); a.wait(30)
    assert b.step_count == 10 and torch.allclose(a.model.f.weight, b.model.f.weight)
    assert b.history.loss.tolist()[:7] == a.history.loss.tolist()[:7]


def test_follow_sees_a_loader_run(tmp_path):
    path = tmp_path / 'h.jsonl'
    run = fit(Run(Regressor(), DataLoader(TensorDataset(*xy()), batch_size=8), loss_fn=mse, max_steps=6,
                  callbacks=[HistoryWriter(path)]))
    f = Follower(path); f.read_new()
    assert [r['step'] for r in f.rows] == list(range(1, 7))
    assert f.rows[-1]['loss'] == pytest.approx(run.history.loss.iloc[-1])
    f.chart.close()


def test_gpu_free_device_move_keeps_batch_structure():
    from gmwidgets.loaders import batch_to
    b = {'x': torch.zeros(2, 3), 'meta': 'keep', 'pair': (torch.ones(2), torch.ones(2))}
    out = batch_to(b, torch.device('cpu'))
    assert out['meta'] == 'keep' and isinstance(out['pair'], tuple) and out['x'].shape == (2, 3)
