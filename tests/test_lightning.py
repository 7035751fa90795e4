"""The Lightning callback: without Lightning the import says what to install; with it, a tiny CPU fit streams train
metrics every step and validation metrics after each validation, and Stop ends the fit after the current batch."""
import subprocess, sys, warnings
import pytest, torch
from torch import nn

torch.set_num_threads(1)


def test_import_without_lightning_says_what_to_install():
    code = ("import sys; sys.modules['lightning'] = sys.modules['lightning.pytorch'] = "
            "sys.modules['pytorch_lightning'] = None\n"
            "try: import gmwidgets.lightning\n"
            "except ImportError as e: print('ERR', e)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120).stdout
    assert out.startswith('ERR') and "pip install 'gmwidgets[lightning]'" in out and out.count('\n') == 1


try: from gmwidgets.lightning import LiveDashboardCallback, pl, scalar_metrics
except ImportError: pl = None
pytestmark_pl = pytest.mark.skipif(pl is None, reason='PyTorch Lightning is not installed: pip install '
                                                      'pytorch-lightning')


class Tiny(pl.LightningModule if pl else nn.Module):
    def __init__(self, on_step=None):
        super().__init__(); self.net, self.on_step = nn.Linear(4, 1), on_step
    def training_step(self, batch, i):
        x, y = batch; loss = nn.functional.mse_loss(self.net(x), y)
        self.log('train_loss', loss)
        if self.on_step: self.on_step(self.global_step)
        return loss
    def validation_step(self, batch, i):
        x, y = batch; self.log('val_loss', nn.functional.mse_loss(self.net(x), y))
    def configure_optimizers(self): return torch.optim.SGD(self.parameters(), lr=0.05)


def loader(n=64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=g)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def fit(cb, model, **kw):
    t = pl.Trainer(accelerator='cpu', devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                   enable_model_summary=False, callbacks=[cb], **kw)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        t.fit(model, loader(), loader(16))
    return t


@pytestmark_pl
def test_streams_train_and_valid_metrics():
    cb = LiveDashboardCallback(every=2)
    fit(cb, Tiny(), max_epochs=3)
    f = cb.chart.frame()
    train = f.query("series == 'train_loss'")
    assert train.step.tolist() == list(range(2, 25, 2))
    assert f.query("series == 'val_loss'").step.tolist() == [8, 16, 24]  # no sanity-check point, one per epoch
    assert train.value.iloc[-1] < train.value.iloc[0]
    assert cb.stop_button.disabled and 'finished' in cb.status.value
    assert len(cb.chart.data) > 0  # finalized: the saved notebook shows the chart


@pytestmark_pl
def test_stop_button_ends_the_fit_after_the_current_batch():
    cb = LiveDashboardCallback()
    clicked = []
    def click_at(step):
        if step == 5 and not clicked: clicked.append(step); cb.stop_button.click()
    t = fit(cb, Tiny(on_step=click_at), max_epochs=100)
    assert t.should_stop and cb.stop_requested
    assert t.global_step <= 7, f'stopped at step {t.global_step}: expected right after the click at 5'
    assert 'stopped' in cb.status.value


class FakeStrategy:
    "A DDP strategy stand-in: `reduce_boolean_decision` records its calls; the other ranks vote `others_stop`."
    def __init__(self, others_stop:bool): self.others_stop, self.calls = others_stop, []
    def reduce_boolean_decision(self, decision, all=True):
        self.calls.append((decision, all))
        return decision or self.others_stop if not all else decision and self.others_stop


class FakeTrainer:
    def __init__(self, rank=0, world_size=2, others_stop=False):
        self.is_global_zero, self.world_size, self.strategy = rank == 0, world_size, FakeStrategy(others_stop)
        self.global_step, self.callback_metrics, self.sanity_checking, self.should_stop = 1, {}, False, False


@pytestmark_pl
def test_stop_is_agreed_by_every_rank_after_each_batch():
    end = lambda cb, t: cb.on_train_batch_end(t, None, None, None, 0)
    cb = LiveDashboardCallback()
    for rank in (0, 1):  # nobody asked: each rank votes no, in one all-reduce a batch
        t = FakeTrainer(rank); cb.on_fit_start(t, None); end(cb, t)
        assert t.strategy.calls == [(False, False)] and not t.should_stop
    t = FakeTrainer(rank=1, others_stop=True); end(cb, t)  # another rank was asked: this one stops too
    assert t.should_stop and cb.stop_requested
    cb = LiveDashboardCallback()
    cb.stop_button.click()  # in the kernel, before the ranks read the shared flag
    assert cb.stop_flag.item() == 1
    t = FakeTrainer(rank=1); end(cb, t)  # a rank that saw the flag votes yes ('any', not 'all')
    assert t.strategy.calls == [(True, False)] and t.should_stop
    t = FakeTrainer(rank=0, world_size=1); end(cb, t)  # one process: no all-reduce
    assert t.strategy.calls == [] and t.should_stop
    t = FakeTrainer(rank=0); cb.on_fit_start(t, None)  # a new fit forgets the old Stop
    assert cb.stop_flag.item() == 0 and not cb.stop_requested and not cb.stop_button.disabled


@pytestmark_pl
def test_only_rank_zero_pushes():
    class Rank1:
        is_global_zero, global_step, sanity_checking, should_stop = False, 1, False, False
        callback_metrics = {'train_loss': torch.tensor(1.0)}
        world_size, strategy = 2, FakeStrategy(others_stop=False)
    cb = LiveDashboardCallback()
    cb.on_fit_start(Rank1(), None); cb.on_train_batch_end(Rank1(), None, None, None, 0); cb.on_validation_end(Rank1(),
                                                                                                              None)
    assert cb.chart.n_points == 0 and cb.trainer is None


@pytestmark_pl
def test_widget_displays_and_metrics_filter():
    cb = LiveDashboardCallback()
    assert 'application/vnd.jupyter.widget-view+json' in cb._repr_mimebundle_()
    assert scalar_metrics({'val_acc': torch.tensor(0.5), 'loss': torch.tensor([1.0, 2.0])}, valid=False) == {}
    with pytest.raises(ValueError, match='every=0'): LiveDashboardCallback(every=0)


@pytestmark_pl
@pytest.mark.skipif(not hasattr(__import__('os'), 'fork'), reason='forked DDP ranks need os.fork (POSIX)')
def test_stop_in_the_parent_ends_both_forked_ddp_ranks_after_the_same_batch():
    import os, threading, time
    psutil = pytest.importorskip('psutil')
    step0 = torch.zeros(1, dtype=torch.long).share_memory_()  # rank 0's global_step, seen by this process
    ended = torch.full((2,), -1, dtype=torch.long).share_memory_()  # global_step each rank ended at
    pids = torch.zeros(2, dtype=torch.long).share_memory_()

    class Counting(Tiny):
        def on_fit_start(self): pids[self.global_rank] = os.getpid()
        def on_train_batch_end(self, outputs, batch, i):
            if self.global_rank == 0: step0.fill_(self.global_step)
        def on_train_end(self): ended[self.global_rank] = self.global_step

    cb = LiveDashboardCallback()
    t = pl.Trainer(accelerator='cpu', devices=2, strategy='ddp_fork', max_steps=100_000, max_epochs=100_000,
                   logger=False,
                   enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, callbacks=[cb])
    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            t.fit(Counting(), loader(256))
    th = threading.Thread(target=fit, daemon=True); th.start()
    me = psutil.Process()
    try:
        deadline = time.monotonic() + 60
        while step0.item() < 20 and th.is_alive() and time.monotonic() < deadline: time.sleep(0.01)
        assert step0.item() >= 20, f'rank 0 made {step0.item()} steps in 60 s'
        cb.stop_button.click()  # in this process, which neither rank is
        clicked = step0.item()
        th.join(60)
        assert not th.is_alive(), f'the fit did not end after Stop: ranks ended at {ended.tolist()}'
    finally:
        for p in me.children(recursive=True):
            if p.pid in pids.tolist(): p.kill()  # only our ranks, and only if they outlived the fit
    assert len(set(pids.tolist())) == 2 and os.getpid() not in pids.tolist()
    e0, e1 = ended.tolist()
    assert e0 == e1, f'the ranks stopped after different batches: {e0} and {e1}'
    assert clicked <= e0 <= clicked + 5, f'stopped at step {e0}: expected right after the click at {clicked}'
