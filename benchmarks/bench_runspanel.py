"""Overhead of the Runs panel's reporter on a fast training loop: steps a second of the same tiny `Run` with the
reporter hook (every run reports, the default) and without it, interleaved in one process; prints the ratio."""
import os, statistics, tempfile, time
os.environ.setdefault('GMWIDGETS_STATUS_DIR', tempfile.mkdtemp(prefix='gmw-bench-status-'))
import torch
import gmwidgets
from gmwidgets.train import Run

torch.set_num_threads(1)
STEPS, ROUNDS = 3000, 5


class Tiny(torch.nn.Module):
    def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.zeros(4))
    def loss(self, batch): return {'loss': (batch - self.w).pow(2).mean()}


class Data:
    def n(self, split): return 64
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None): return iter(torch.ones(64, 4).split(batch_size))


def steps_per_s(report:bool) -> float:
    hooks = list(gmwidgets.run_hooks)
    if not report: gmwidgets.run_hooks.clear()
    try:
        run = Run(Tiny(), Data(), max_steps=STEPS, batch_size=8)
        t = time.perf_counter(); run.start().wait(); return STEPS / (time.perf_counter() - t)
    finally: gmwidgets.run_hooks[:] = hooks


if __name__ == '__main__':
    pairs = [(steps_per_s(False), steps_per_s(True)) for _ in range(ROUNDS)]
    bare, rep = statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)
    print(f'runs panel reporter: {rep:,.0f} steps/s with it, {bare:,.0f} without; ratio {rep / bare:.3f} '
          f'({ROUNDS} interleaved rounds of {STEPS} steps, medians)')
