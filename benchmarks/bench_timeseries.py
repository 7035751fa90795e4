"""TimeGAN scores of the time-series generators on the built-in data, on CPU: a recurrent WGAN-GP, a DDPM/DDIM and the
autoregressive GRU baseline, each trained for a fixed wall-clock budget, then scored against real windows.

    python benchmarks/bench_timeseries.py                              # sines, 150 s of training a model, 3 repeats
    python benchmarks/bench_timeseries.py --datasets sines,stocks --seconds 120
    python benchmarks/bench_timeseries.py --seconds 20 --repeats 1 --disc-iterations 200 --pred-iterations 300  # a quick look

Scores follow TimeGAN's reference code (`gmwidgets.tseval`): discriminative = |accuracy - 0.5| of a post-hoc GRU
classifier (2000 iterations), predictive = MAE on real windows of a GRU trained on synthetic ones to predict the last
feature one step ahead (5000 iterations); mean ± std over `--repeats` seeds. "real" is the predictive score of the same
GRU trained on the real windows themselves (the floor). Real windows = `--n-eval` windows of the train split (TimeGAN
used all); as many synthetic windows are drawn. Published on Sines (disc / pred): TimeGAN 0.011 / 0.093, Diffusion-TS 0.006 / 0.093, real 0.094.
Training budgets are wall time (the machine is shared), so the table also prints the steps each model made."""
import argparse, json, time
import torch
from gmwidgets.core import load_dataset
from gmwidgets.train import Run
from gmwidgets.autoregressive import SeriesAR
from gmwidgets.diffusion import Diffusion
from gmwidgets.gan import SeriesGAN
from gmwidgets.tseval import scores, predictive_score, format_score, mmd

PUBLISHED = {'sines': {'TimeGAN': (0.011, 0.093), 'Diffusion-TS': (0.006, 0.093), 'real': 0.094}}  # (disc, pred); real: pred

# name -> (model factory, Run settings, sampling controls)
MODELS = {
    'gan':       (lambda d: SeriesGAN.for_data(d, hidden=24, layers=1, n_critic=2, lr_g=1e-3, lr_d=1e-3), dict(batch_size=128), {}),
    'diffusion': (lambda d: Diffusion.for_data(d, hidden=48, blocks=4, timesteps=1000), dict(lr=2e-3, batch_size=128), dict(steps=50, eta=0.0)),
    'ar':        (lambda d: SeriesAR.for_data(d, hidden=64, layers=2, head='gaussian'), dict(lr=3e-3, batch_size=128), {}),
}


def train(model, data, seconds:float, threads:int, **cfg) -> tuple[int, float]:
    "Train with `Run` for `seconds` of wall time; (steps made, seconds taken)."
    t0 = time.perf_counter()
    run = Run(model, data, num_threads=threads, max_steps=10**7, **cfg).start()
    if not run.wait(timeout=seconds): run.stop(); run.wait()
    return run.step_count, time.perf_counter() - t0


def draw(model, n:int, controls:dict, chunk:int=2000) -> torch.Tensor:
    "`n` synthetic windows, drawn in chunks (seeds 0, 1, ...)."
    return torch.cat([model.sample(min(chunk, n - i), seed=i // chunk, **controls) for i in range(0, n, chunk)])


def bench(dataset:str, names:list[str], a) -> list[dict]:
    "Train and score every model on `dataset`; one row a model, plus the real-data row."
    torch.manual_seed(0)
    data = load_dataset(dataset)
    real = data.windows('train')                                  # (N, T, F)
    if a.n_eval and a.n_eval < len(real): real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:a.n_eval]]
    kw = dict(repeats=a.repeats, disc_iterations=a.disc_iterations, pred_iterations=a.pred_iterations)
    t0 = time.perf_counter()
    p = [predictive_score(real, real, a.pred_iterations, seed=k) for k in range(a.repeats)]
    rows = [dict(dataset=dataset, model='real', steps=0, train_s=0.0, sample_s=0.0, discriminative=float('nan'), discriminative_std=float('nan'),
                 predictive=float(torch.tensor(p).mean()), predictive_std=float(torch.tensor(p).std(unbiased=False)), repeats=a.repeats,
                 mmd=0.0, score_s=time.perf_counter() - t0)]
    print(f"[{dataset}] real predictive {format_score(rows[0]['predictive'], rows[0]['predictive_std'])}", flush=True)
    for name in names:
        make, cfg, controls = MODELS[name]
        model = make(data)
        steps, train_s = train(model, data, a.seconds, a.threads, **cfg)
        t1 = time.perf_counter(); fake = draw(model, len(real), controls); sample_s = time.perf_counter() - t1
        t2 = time.perf_counter(); s = scores(real, fake, seed=0, **kw); score_s = time.perf_counter() - t2
        rows.append(dict(dataset=dataset, model=name, steps=steps, train_s=train_s, sample_s=sample_s, **s, mmd=mmd(real, fake), score_s=score_s))
        print(f"[{dataset}] {name}: {steps} steps in {train_s:.0f} s; disc {format_score(s['discriminative'], s['discriminative_std'])}, "
              f"pred {format_score(s['predictive'], s['predictive_std'])} (scored in {score_s:.0f} s)", flush=True)
    return rows


def table(rows:list[dict]) -> str:
    "A markdown table of the rows, with the published references."
    out = ['| dataset | model | train steps | train s | discriminative (lower is better) | predictive (MAE) | MMD² | score s |',
           '|---|---|---|---|---|---|---|---|']
    for r in rows:
        disc = '-' if r['model'] == 'real' else format_score(r['discriminative'], r['discriminative_std'])
        out.append(f"| {r['dataset']} | {r['model']} | {r['steps']} | {r['train_s']:.0f} | {disc} | {format_score(r['predictive'], r['predictive_std'])} "
                   f"| {r['mmd']:.4f} | {r['score_s']:.0f} |")
    for ds in dict.fromkeys(r['dataset'] for r in rows):
        for k, v in PUBLISHED.get(ds, {}).items():
            out.append(f"| {ds} | {k} (published) | | | {'-' if k == 'real' else v[0]} | {v if k == 'real' else v[1]} | | |")
    return '\n'.join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--datasets', default='sines', help="comma-separated: sines, stocks, energy")
    p.add_argument('--models', default='gan,diffusion,ar', help=f"comma-separated: {', '.join(MODELS)}")
    p.add_argument('--seconds', type=float, default=150, help="wall-clock training budget of each model")
    p.add_argument('--repeats', type=int, default=3, help="seeds of each score (mean ± std)")
    p.add_argument('--disc-iterations', type=int, default=2000)
    p.add_argument('--pred-iterations', type=int, default=5000)
    p.add_argument('--n-eval', type=int, default=3000, help="real windows scored (a random subset of the train split; 0: all); as many are sampled")
    p.add_argument('--threads', type=int, default=1, help="torch threads (the scores' tiny GRUs run slower on 2 threads of a busy machine)")
    p.add_argument('--json', default=None, help="also write the rows to this JSON file")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    rows = [r for ds in a.datasets.split(',') for r in bench(ds, a.models.split(','), a)]
    print(f"\n{a.repeats} repeats a score; {a.seconds:.0f} s training budget a model; {a.threads} threads; total {time.perf_counter() - t0:.0f} s\n")
    print(table(rows))
    if a.json:
        with open(a.json, 'w') as f: json.dump(rows, f, indent=1)


if __name__ == '__main__': main()
