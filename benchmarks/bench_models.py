"""Quality of the autoregressive models on the built-in data, on CPU: test NLL, wall time, steps, and samples.

    python benchmarks/bench_models.py                 # all four tasks, 2 threads
    python benchmarks/bench_models.py --only gru,sines --scale 0.1   # a quick look

Targets (DESIGN.md, DATA.md, issue 20): the char GRU on `names` at <= 1.92 nats/char test NLL within 5 minutes of
training on 2 threads (reference: 2.04 after 30 s, 1.97 after 60 s, ~1.95 after 2 min; uniform 3.2958, bigram 2.4645).
`gru` is GRU 2x256 with warm-up, cosine decay to 0, decoupled weight decay and dropout 0.3; `gru-small` the same
schedule on the quickstart's and tutorial's GRU 2x128 (dropout 0.1, batch 64 on average) trained on length-bucketed
batches of about equal tokens (`data.bucketed(32)`), `gru-small-plain` the same on plain shuffled batches (`ema=0.998`
in a task's settings adds an `EMA` callback), `gru-mid` a GRU 2x192 (dropout 0.2) and `gru-wide` a GRU 2x256 (dropout
0.25, batch 64), both bucketed; `gru-constant` the earlier recipe (constant lr, dropout 0.1), kept for the comparison.
Budgets are step counts, so a busy machine changes the wall time, not the result, unless `--seconds S` gives a
wall-clock budget (the cosine then runs over the S seconds); the 5-minute figures in RESULTS.md:
`--only gru-wide --seconds 295 --threads 1` (and `gru-mid`, `gru-small`) under the bench lock. The
table gives steps/s and the load average. Series NLL is in nats per step (summed over features); the baseline is an
independent Gaussian per feature fitted on the train split."""
import argparse, math, os, time
import torch
from gmwidgets.core import load_dataset
from gmwidgets.autoregressive import RNNLM, TransformerLM, SeriesAR
from gmwidgets.metrics import nll

# (task, dataset, model factory, run settings); steps are the full budgets (scaled by --scale)
TASKS = {
    'gru':   ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=256, layers=2, cell='gru', dropout=0.3),
              dict(lr=3e-3, batch_size=128, max_steps=2000, warmup=100, schedule='cosine', weight_decay=0.1)),
    'gru-small': ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=128, layers=2, cell='gru', dropout=0.1),
              dict(lr=3e-3, batch_size=64, max_steps=4000, warmup=100, schedule='cosine', weight_decay=0.1,
                   bucket=32)),
    'gru-small-plain': ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=128, layers=2, cell='gru', dropout=0.1),
              dict(lr=3e-3, batch_size=64, max_steps=4000, warmup=100, schedule='cosine', weight_decay=0.1)),
    'gru-mid': ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=192, layers=2, cell='gru', dropout=0.2),
              dict(lr=3e-3, batch_size=64, max_steps=4000, warmup=100, schedule='cosine', weight_decay=0.1,
                   bucket=32)),
    'gru-wide': ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=256, layers=2, cell='gru', dropout=0.25),
              dict(lr=3e-3, batch_size=64, max_steps=4000, warmup=100, schedule='cosine', weight_decay=0.1,
                   bucket=32)),
    'gru-constant': ('names', lambda d: RNNLM.for_data(d, emb=64, hidden=256, layers=2, cell='gru', dropout=0.1),
              dict(lr=3e-3, batch_size=128, max_steps=1200)),
    'transformer': ('names', lambda d: TransformerLM.for_data(d, d_model=128, n_layers=4, n_heads=4, block_size=32,
                                                          dropout=0.1),
              dict(lr=1e-3, batch_size=128, max_steps=1500, warmup=100)),
    'sines': ('sines', lambda d: SeriesAR.for_data(d, hidden=128, layers=2, head='gaussian'),
              dict(lr=3e-3, batch_size=128, max_steps=800)),
    'stocks': ('stocks', lambda d: SeriesAR.for_data(d, hidden=128, layers=2, head='mdn', n_mix=5),
              dict(lr=3e-3, batch_size=128, max_steps=800)),
}


def load(name:str):
    "A built-in dataset (importing the data layer registers them)."
    import gmwidgets.data  # noqa: F401
    return load_dataset(name)


class TimeBudget:
    "A wall-clock budget for `Run`: the lr factor of a cosine to 0 over `seconds` of training, and a stop at the end."
    def __init__(self, seconds:float): self.seconds, self.t0 = seconds, time.perf_counter()  # the clock starts here
    def progress(self) -> float:
        return min(1.0, (time.perf_counter() - self.t0) / self.seconds)
    def __call__(self, step:int) -> float: return 0.5 * (1.0 + math.cos(math.pi * self.progress()))  # the schedule
    def on_step(self, run, *args):
        if self.progress() >= 1.0: run.stop()


def train(model, data, threads:int, lr:float, batch_size:int, max_steps:int, warmup:int=0, seconds:float|None=None,
          bucket:int=0, ema:float|None=None, **run_kw) -> tuple[int, float, str]:
    ("Train with `gmwidgets.train.Run` if it exists, else a plain AdamW loop; (steps, seconds, which). `bucket`: "
     "train on `data.bucketed(bucket)`; `ema`: an `EMA(ema)` callback, so the model ends with the averaged weights.")
    t0, extra = time.perf_counter(), (f', bucket {bucket}' if bucket else '') + (f', EMA {ema:g}' if ema else '')
    try: from gmwidgets.train import Run, EMA
    except ImportError: Run = None
    if Run is not None and (bucket or ema):
        if bucket: data = data.bucketed(bucket)
        if ema: run_kw['callbacks'] = [*run_kw.get('callbacks', ()), EMA(ema)]
    if Run is not None and seconds:  # a time budget: the cosine runs over `seconds` of wall time, not over steps
        budget = TimeBudget(seconds)
        run = Run(model, data, lr=lr, batch_size=batch_size, max_steps=10**7, warmup=warmup, num_threads=threads,
                  **{**run_kw, 'schedule': budget, 'callbacks': [budget, *run_kw.get('callbacks', ())]})
        run.start(); run.wait()
        return run.step_count, time.perf_counter() - t0, f'Run, {seconds:g} s{extra}'
    if Run is not None:
        run = Run(model, data, lr=lr, batch_size=batch_size, max_steps=max_steps, warmup=warmup, num_threads=threads,
                  **run_kw).start()
        run.wait()
        return run.step_count, time.perf_counter() - t0, 'Run' + extra
    opt, step = torch.optim.AdamW(model.parameters(), lr=lr), 0
    model.train()
    while step < max_steps:
        for batch in data.batches('train', batch_size=batch_size, shuffle=True, seed=step):
            for g in opt.param_groups: g['lr'] = lr * min(1.0, (step + 1) / max(1, warmup))
            loss = model.loss(batch)['loss']
            opt.zero_grad(); loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
            step += 1
            if step >= max_steps: break
    return step, time.perf_counter() - t0, 'loop'


def iid_gaussian_nll(data) -> float:
    "Test NLL (nats per step) of an independent Gaussian per feature fitted on the train split."
    xs = torch.cat([b.flatten(0, 1) for b in data.batches('train', batch_size=1024, shuffle=False)])  # (N, F)
    mu, std = xs.mean(0), xs.std(0).clamp(min=1e-3)
    tot, n = 0.0, 0
    for b in data.batches('test', batch_size=1024, shuffle=False):
        tot += float(-torch.distributions.Normal(mu, std).log_prob(b).sum()); n += b.size(0) * b.size(1)
    return tot / n


def show_samples(task:str, model, data) -> tuple[list[str], float]:
    "5 samples a person can read, and the ms to draw 8 samples (the sampler's slider-to-sample cost)."
    t0 = time.perf_counter()
    if isinstance(model, SeriesAR): model.sample(8, seed=1)
    else: model.generate_text(data, 8, seed=1, temperature=1.0)
    ms = 1000 * (time.perf_counter() - t0)
    if isinstance(model, SeriesAR):
        x = model.sample(5, seed=0)   # (5, T, F)
        return [' '.join(f'{v:.2f}' for v in row[:, 0].tolist()[:12]) + ' ...' for row in x], ms
    return model.generate_text(data, 5, seed=0), ms


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', default=','.join(TASKS), help=f"comma-separated tasks from {list(TASKS)}")
    p.add_argument('--threads', type=int, default=2, help='torch threads (the DATA.md reference used 2)')
    p.add_argument('--scale', type=float, default=1.0, help='multiply every step budget (e.g. 0.1 for a smoke run)')
    p.add_argument('--seed', type=int, default=0, help="seed of the model's initial weights and of the batch order")
    p.add_argument('--seconds', type=float, default=None,
                   help='train each task for this many seconds of wall time (the cosine runs over the time, not steps)')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    rows, samples = [], {}
    for task in a.only.split(','):
        ds, make, cfg = TASKS[task]
        data = load(ds)
        torch.manual_seed(a.seed)
        model = make(data)
        cfg = {**cfg, 'max_steps': max(1, int(cfg['max_steps'] * a.scale)), **({'seed': a.seed} if a.seed else {})}
        steps, secs, how = train(model, data, a.threads, **cfg, seconds=a.seconds)
        r = nll(model, data, 'test', batch_size=512)
        base = (f"uniform {math.log(len(data.vocab) - 3):.4f}" if ds == 'names'   # <pad>, <bos>, <unk> never predicted
                else f"iid Gaussian {iid_gaussian_nll(data):.3f}")
        samples[task], ms = show_samples(task, model, data)
        loadavg = os.getloadavg()[0]
        rows.append((task, ds, type(model).__name__, sum(q.numel() for q in model.parameters()), steps, how, secs,
                     steps / secs, loadavg, r.nll, 'nats/char' if ds == 'names' else 'nats/step', base, ms))
        print(f"{task}: {steps} steps in {secs:.0f} s ({steps / secs:.2f} steps/s, load average {loadavg:.1f}), "
              f"test NLL {r.nll:.4f}", flush=True)
    print("\n| task | data | model | params | steps | trainer | wall s | steps/s | load avg | test NLL | unit | "
          "baseline | 8 samples ms |")
    print('|' + '---|' * 13)
    for t in rows:
        print('| {} | {} | {} | {:,} | {} | {} | {:.0f} | {:.2f} | {:.1f} | {:.4f} | {} | {} | {:.0f} |'.format(*t))
    for task, ss in samples.items():
        print(f"\n{task} samples (seed 0){' (first feature, first 12 steps)' if TASKS[task][0] != 'names' else ''}:")
        for s in ss: print('  ', s)


if __name__ == '__main__':
    main()
