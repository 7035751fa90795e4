"""What the unit tests share: toy data, toy models and one polling loop (imported as `toys`: conftest puts tests/ on
sys.path). The browser tests send their toys to a kernel as source text, so they keep their own copies."""
import time
import torch
import torch.nn as nn
from gmwidgets.vae import SeriesVAE


class Ones:
    "A dataset of `n` windows of ones, shape (T, 1): `Run` trains on it in microseconds."
    def __init__(self, n:int=32, # windows in every split
                 T:int=4, # steps a window
                 kind:str|None=None, # 'series' to look like a built-in series dataset
                ):
        self.size, self.T = n, T
        if kind is not None: self.kind = kind
    def n(self, split): return self.size
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter(torch.ones(self.size, self.T, 1).split(batch_size))


class Toy(nn.Module):
    ("One parameter learning the mean of its batches; a step sleeps `delay` s, raises at call `fail_at`, is NaN at "
     "`nan_at`.")
    def __init__(self, delay:float=0.0, fail_at:int|None=None, nan_at:int|None=None,
                 extra:tuple=(), # more terms to report, each |w|
                ):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.delay, self.fail_at, self.nan_at, self.extra, self.calls = delay, fail_at, nan_at, extra, 0
    def loss(self, batch):
        self.calls += 1
        if self.delay: time.sleep(self.delay)
        if self.calls == self.fail_at: raise RuntimeError("boom <b>inside</b> loss")
        loss = (batch.mean() - self.w).pow(2).sum()
        if self.calls == self.nan_at: loss = loss * float('nan')
        return {'loss': loss, **{k: self.w.detach().abs().sum() for k in self.extra}}


def until(cond, # called until it returns something true
          timeout:float=10.0, # seconds before giving up
          what:str='condition', # named in the error
          every:float=0.005, # seconds between calls
         ):
    "Poll `cond()` until it is true and return its value; a `TimeoutError` naming `what` after `timeout` s."
    deadline = time.monotonic() + timeout
    while True:
        ok = cond()
        if ok: return ok
        if time.monotonic() > deadline: raise TimeoutError(f'{what}: not met after {timeout} s')
        time.sleep(every)


class IgnoresX(SeriesVAE):
    "A SeriesVAE whose encoder ignores x: the same posterior N(0.3, 1) for every window, 0.045 nats a unit."
    def encode(self, x):
        self._check(x)
        mu = torch.full((x.size(0), self.config.latent), 0.3) + 0 * self.log_std.sum()
        return mu, torch.zeros_like(mu)
