"""Overhead of the Runs panel's reporter on a training loop: steps a second of the same `Run` with the reporter hook
(every run reports, the default) and without it, interleaved in one process; prints, for two loops, the ratio of
steps a second (wall clock) and of CPU time a step (the process's, so the reporter's watcher thread counts too; CPU
time moves less than wall time with what else the machine runs):
- `tiny`: a 4-parameter model, where a step is ~1 ms and the reporter's per-step cost is most visible;
- `quickstart`: the quickstart notebook's model and step (a 2-layer GRU language model on `names`, batch 128).
Run it on a quiet machine: `flock /tmp/gmw-bench.lock nice -n -15 .venv/bin/python benchmarks/bench_runspanel.py`."""
import os, statistics, sys, tempfile, time
os.environ.setdefault('GMWIDGETS_STATUS_DIR', tempfile.mkdtemp(prefix='gmw-bench-status-'))
import torch
import gmwidgets
from gmwidgets.train import Run

torch.set_num_threads(1)


class Tiny(torch.nn.Module):
    def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.zeros(4))
    def loss(self, batch): return {'loss': (batch - self.w).pow(2).mean()}


class Data:
    def n(self, split): return 64
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter(torch.ones(64, 4).split(batch_size))


def tiny_run(steps:int) -> Run: return Run(Tiny(), Data(), max_steps=steps, batch_size=8)


def quickstart_run(steps:int) -> Run:
    "The quickstart notebook's run (without evaluation, so each step is a training step)."
    from gmwidgets.autoregressive import RNNLM
    from gmwidgets.core import load_dataset
    names = load_dataset('names')
    model = RNNLM.for_data(names, emb=64, hidden=128, layers=2, dropout=0.1)
    return Run(model, names, lr=3e-3, batch_size=128, max_steps=steps, warmup=30, schedule='cosine', weight_decay=0.1)


def measure(make, steps:int, report:bool) -> tuple[float, float]:
    "Steps a second and CPU milliseconds a step of one run of `steps` steps, with or without the reporter."
    hooks = list(gmwidgets.run_hooks)
    if not report: gmwidgets.run_hooks.clear()
    try:
        run = make(steps)
        t, c = time.perf_counter(), time.process_time()
        run.start().wait()
        return steps / (time.perf_counter() - t), 1e3 * (time.process_time() - c) / steps
    finally: gmwidgets.run_hooks[:] = hooks


def steps_per_s(make, steps:int, report:bool) -> float: return measure(make, steps, report)[0]


def reporter_work(terms:dict, n:int=20_000) -> tuple[float, float]:
    "CPU microseconds of the reporter's work for one step: `on_step` (the training thread), writing its row (watcher)."
    from gmwidgets.runspanel import RunReporter
    class Stub: name, state, total_steps = 'bench', 'running', n
    run = Stub()
    rep = RunReporter(run)
    t = time.process_time()
    for i in range(n): rep.on_step(run, i, terms)
    step_us = 1e6 * (time.process_time() - t) / n
    t = time.process_time(); rep.flush(force=True)
    return step_us, 1e6 * (time.process_time() - t) / n


def compare(label:str, make, steps:int, rounds:int):
    measure(make, min(steps, 50), True)  # warm-up: imports, allocator, first file writes
    pairs = []
    for i in range(rounds):  # interleaved, the order alternating, so drift hits both sides alike
        a, b = (False, True) if i % 2 == 0 else (True, False)
        got = {a: measure(make, steps, a), b: measure(make, steps, b)}
        pairs.append((got[False], got[True]))
    med = lambda k, side: statistics.median(p[side][k] for p in pairs)
    rate, cpu = (med(0, 1), med(0, 0)), (med(1, 1), med(1, 0))  # (with, without)
    ratios = sorted(p[1][0] / p[0][0] for p in pairs)
    print(f'{label}: {rate[0]:,.1f} steps/s with the reporter, {rate[1]:,.1f} without, ratio {rate[0] / rate[1]:.3f} '
          f'(pairs {ratios[0]:.3f}-{ratios[-1]:.3f}); CPU {cpu[0]:.3f} vs {cpu[1]:.3f} ms a step, '
          f'ratio {cpu[0] / cpu[1]:.3f} ({rounds} interleaved rounds of {steps} steps, medians)', flush=True)
    return cpu[1]


if __name__ == '__main__':
    which, bare = sys.argv[1:] or ['tiny', 'quickstart'], {}
    if 'tiny' in which: bare['tiny loop'] = compare('tiny loop', tiny_run, 3000, 8)
    if 'quickstart' in which: bare['quickstart step'] = compare('quickstart step', quickstart_run, 100, 6)
    on_step, row = reporter_work({'loss': 2.0123, 'grad_norm': 0.8123, 'lr': 0.003})  # the terms a Run reports
    print(f'reporter work: on_step {on_step:.1f} us, writing its row {row:.1f} us; a step\'s {on_step + row:.1f} us is '
          + ', '.join(f'{100e-3 * (on_step + row) / ms:.2f} % of the {k} CPU' for k, ms in bare.items()))
