"""The Lightning callback: without Lightning the import says what to install; with it, a tiny CPU fit streams train
metrics every step and validation metrics after each validation, and Stop ends the fit after the current batch."""
import subprocess, sys, warnings
import pytest, torch
from torch import nn

torch.set_num_threads(1)


def test_import_without_lightning_says_what_to_install():
    code = ("import sys; sys.modules['lightning'] = sys.modules['lightning.pytorch'] = sys.modules['pytorch_lightning'] = None\n"
            "try: import gmwidgets.lightning\n"
            "except ImportError as e: print('ERR', e)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120).stdout
    assert out.startswith('ERR') and 'pip install lightning' in out


try: from gmwidgets.lightning import LiveDashboardCallback, pl, scalar_metrics
except ImportError: pl = None
pytestmark_pl = pytest.mark.skipif(pl is None, reason='PyTorch Lightning is not installed: pip install pytorch-lightning')


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


@pytestmark_pl
def test_only_rank_zero_pushes():
    class Rank1:
        is_global_zero, global_step, callback_metrics, sanity_checking, should_stop = False, 1, {'train_loss': torch.tensor(1.0)}, False, False
    cb = LiveDashboardCallback()
    cb.on_fit_start(Rank1(), None); cb.on_train_batch_end(Rank1(), None, None, None, 0); cb.on_validation_end(Rank1(), None)
    assert cb.chart.n_points == 0 and cb.trainer is None


@pytestmark_pl
def test_widget_displays_and_metrics_filter():
    cb = LiveDashboardCallback()
    assert 'application/vnd.jupyter.widget-view+json' in cb._repr_mimebundle_()
    assert scalar_metrics({'val_acc': torch.tensor(0.5), 'loss': torch.tensor([1.0, 2.0])}, valid=False) == {}
    with pytest.raises(ValueError, match='every=0'): LiveDashboardCallback(every=0)
