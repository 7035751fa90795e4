"""TimeGAN scores of the time-series generators on the built-in data, on CPU: a recurrent WGAN-GP, a DDPM/DDIM and the
autoregressive GRU and a SeriesVAE, each trained for a fixed wall-clock budget, then scored against real windows.

    python benchmarks/bench_timeseries.py                              # sines, 150 s of training a model, 3 repeats
    python benchmarks/bench_timeseries.py --datasets sines,stocks --seconds 120
    python benchmarks/bench_timeseries.py --seconds 20 --repeats 1 --disc-iterations 200 --pred-iterations 300  # a quick look
    python benchmarks/bench_timeseries.py --datasets sines,stocks --models gan,diffusion,vae,ar --jobs 8 --threads 2 --seconds 360 --decay  # many cores
    python benchmarks/bench_timeseries.py --datasets stocks --models diffusion-200 --steps 4000 --decay --train-seeds 3 --score-on heldout  # 3 training seeds
    python benchmarks/bench_timeseries.py --measure-steps 60 --threads 2 --datasets stocks --models diffusion-200  # steps in 600 s, extrapolated
    python benchmarks/bench_timeseries.py --datasets energy --models diffusion-cal --steps 6500 --decay --train-seeds 3 --repeats 3 --score-on heldout  # calibrated marginals
    python benchmarks/bench_timeseries.py --datasets sines --models diffusion-cal --steps 8000 --decay --train-seeds 3 --repeats 3 --score-on heldout --calibration-windows 2000
    python benchmarks/bench_timeseries.py --datasets energy --models diffusion-deep --steps 3800 --decay --train-seeds 3 --repeats 3 --score-on heldout --save DIR
    python benchmarks/bench_timeseries.py --datasets energy --models diffusion-deep --train-seeds 3 --repeats 3 --score-on heldout --load DIR  # recalibrated (500 windows), scored again

Scores follow TimeGAN's reference code (`gmwidgets.tseval`): discriminative = |accuracy - 0.5| of a post-hoc GRU
classifier (2000 iterations), predictive = MAE on real windows of a GRU trained on synthetic ones to predict the last
feature one step ahead (5000 iterations); mean ± std over `--repeats` seeds. "real" is the predictive score of the same
GRU trained on real windows (the floor): on the scored windows themselves (TimeGAN's protocol) when they are the train
split's, on as many windows of the train split when they are held out (`--score-on heldout`: the real data a generator
learns from, scored as its fakes are; TimeGAN's figure is printed beside it). Real windows = `--n-eval` windows of the
train split (TimeGAN used all), or of valid + test; as many synthetic windows are drawn. Published on Sines (disc / pred): TimeGAN 0.011 / 0.093, Diffusion-TS 0.006 / 0.093, real 0.094.
Training budgets are wall time (the machine is shared), so the table also prints the steps each model made; with
`--steps` they are a step count instead (lr on a cosine over the steps with `--decay`), so a run at low priority trains
the same model as one on an idle machine. `--train-seeds k` trains each model k times (seeds 0..k-1) and adds a table of
mean ± std over the training seeds."""
import argparse, json, math, time
from concurrent.futures import ProcessPoolExecutor, as_completed
import multiprocessing as mp
import torch
from gmwidgets.core import load_dataset, load_model
from gmwidgets.train import Run
from gmwidgets.autoregressive import SeriesAR
from gmwidgets.diffusion import Diffusion
from gmwidgets.gan import SeriesGAN
from gmwidgets.vae import SeriesVAE
from gmwidgets.tseval import scores, predictive_score, format_score, mmd

PUBLISHED = {'sines': {'TimeGAN': (0.011, 0.093), 'Diffusion-TS': (0.006, 0.093), 'real': 0.094}}  # (disc, pred); real: pred

# name -> (model factory, Run settings, sampling controls). '-l' variants are larger (for a machine with cores to spare).
MODELS = {
    'gan':         (lambda d: SeriesGAN.for_data(d, hidden=24, layers=1, n_critic=2, lr_g=1e-3, lr_d=1e-3), dict(batch_size=128), {}),
    'gan-l':       (lambda d: SeriesGAN.for_data(d, hidden=48, layers=2, n_critic=3, lr_g=1e-3, lr_d=1e-3), dict(batch_size=128), {}),
    'diffusion':   (lambda d: Diffusion.for_data(d, hidden=48, blocks=4, timesteps=1000), dict(lr=2e-3, batch_size=128), dict(steps=50, eta=0.0)),
    # the same model sampled by DDPM-like ancestral steps (eta=1) over 200 of the 1000 steps: the deterministic 50-step
    # DDIM above piles stocks samples up at the bounds (issue 20); an EMA of the weights did not help (RESULTS.md)
    'diffusion-200': (lambda d: Diffusion.for_data(d, hidden=48, blocks=4, timesteps=1000), dict(lr=2e-3, batch_size=128),
                      dict(steps=200, eta=1.0)),
    # diffusion-200 with 96 channels plus `Diffusion.calibrate`: after training, a quantile map from the model's marginals
    # (`--calibration-windows` windows drawn with the same sampler) onto the train split's; sampled through it
    'diffusion-cal': (lambda d: Diffusion.for_data(d, hidden=96, blocks=4, timesteps=1000), dict(lr=2e-3, batch_size=128),
                      dict(steps=200, eta=1.0)),
    # diffusion-cal with 8 residual blocks instead of 4 (dilations 1, 2, 4, 8 twice): its x0 estimates carry less of the
    # noise that makes energy samples rougher than the data (step-to-step change 1.7x the data's with 4 blocks)
    'diffusion-deep': (lambda d: Diffusion.for_data(d, hidden=96, blocks=8, timesteps=1000), dict(lr=2e-3, batch_size=128),
                       dict(steps=200, eta=1.0)),
    'diffusion-l': (lambda d: Diffusion.for_data(d, hidden=96, blocks=6, timesteps=1000), dict(lr=1e-3, batch_size=128), dict(steps=100, eta=0.0)),
    'vae':         (lambda d: SeriesVAE.for_data(d, hidden=96, latent=16, anneal='linear', anneal_steps=2000), dict(lr=2e-3, batch_size=128), dict(greedy=True)),
    'ar':          (lambda d: SeriesAR.for_data(d, hidden=64, layers=2, head='gaussian'), dict(lr=3e-3, batch_size=128), {}),
}


CALIBRATED = {'diffusion-cal', 'diffusion-deep'}  # models whose marginals are calibrated after training (`Diffusion.calibrate`)


def calibrate(name:str, model, data, controls:dict, windows:int) -> float:
    ("Calibrate `model`'s marginals on the train split from `windows` drawn windows when `name` is one of `CALIBRATED`; "
     "the seconds it took.")
    t0 = time.perf_counter()
    if name in CALIBRATED: model.calibrate(data.windows('train'), n=windows, **controls)
    return time.perf_counter() - t0


def wall_cosine(seconds:float) -> callable:
    "An lr factor that follows a cosine from 1 to 0 over `seconds` of wall time (the budget is time, not steps)."
    t0 = time.perf_counter()
    return lambda step: 0.5 * (1 + math.cos(math.pi * min(1.0, (time.perf_counter() - t0) / seconds)))


def train(model, data, seconds:float, threads:int, decay:bool=False, steps:int|None=None, **cfg) -> tuple[int, float]:
    ("Train with `Run` for `steps` optimisation steps (lr on a step cosine when `decay`), or else for `seconds` of wall "
     "time (lr on a wall-time cosine when `decay`); (steps made, seconds taken).")
    t0 = time.perf_counter()
    if decay: cfg['schedule'] = 'cosine' if steps else wall_cosine(seconds)
    run = Run(model, data, num_threads=threads, max_steps=steps or 10**7, **cfg).start()
    if steps: run.wait()
    elif not run.wait(timeout=seconds): run.stop(); run.wait()
    if run.error is not None: raise RuntimeError(f"training failed: {run.error}")
    return run.step_count, time.perf_counter() - t0


def draw(model, n:int, controls:dict, chunk:int=2000) -> torch.Tensor:
    "`n` synthetic windows, drawn in chunks (seeds 0, 1, ...)."
    return torch.cat([model.sample(min(chunk, n - i), seed=i // chunk, **controls) for i in range(0, n, chunk)])


def load(dataset:str, split_by:str):
    "A built-in dataset; a long series split as `split_by` says ('timegan': all windows shuffled; 'time': in time)."
    return load_dataset(dataset, **({} if dataset == 'sines' else {'split_by': split_by}))


def real_windows(dataset:str, n_eval:int, split_by:str='timegan', score_on:str='train') -> torch.Tensor:
    ("The real windows scored: `n_eval` random windows of the train split, or of valid + test (`score_on='heldout'`: "
     "windows the model never saw), all when 0 or fewer exist.")
    d = load(dataset, split_by)
    real = d.windows('train') if score_on == 'train' else torch.cat([d.windows('valid'), d.windows('test')])  # (N, T, F)
    if n_eval and n_eval < len(real): real = real[torch.randperm(len(real), generator=torch.Generator().manual_seed(0))[:n_eval]]
    return real


def saved(folder:str, dataset:str, name:str, seed:int) -> str:
    "Where `--save` writes (and `--load` reads) one trained model."
    return f"{folder}/{dataset}-{name}-seed{seed}.safetensors"


def job(dataset:str, name:str, a:dict, seed:int=0) -> dict:
    "One row: the real-data predictive floor (`name='real'`), or train (with training seed `seed`), sample and score one model."
    torch.set_num_threads(a['threads']); torch.manual_seed(seed)
    real = real_windows(dataset, a['n_eval'], a['split_by'], a['score_on'])
    kw = dict(repeats=a['repeats'], disc_iterations=a['disc_iterations'], pred_iterations=a['pred_iterations'])
    t0 = time.perf_counter()
    if name == 'real':
        # the predictive floor a generator is held to: a predictor trained on real windows of the train split (as many as
        # the fakes), tested on the scored windows, as a model's fakes are; TimeGAN's figure (trained and tested on the
        # same windows) is `predictive_same`. They are one figure when the scored windows are the train split's.
        floor = lambda train: torch.tensor([predictive_score(real, train, a['pred_iterations'], seed=k) for k in range(a['repeats'])])
        same = floor(real)
        p = same if a['score_on'] == 'train' else floor(real_windows(dataset, len(real), a['split_by'], 'train'))
        return dict(dataset=dataset, model='real', train_seed=seed, steps=0, train_s=0.0, calibrate_s=0.0, sample_s=0.0, discriminative=float('nan'), discriminative_std=float('nan'),
                    predictive=float(p.mean()), predictive_std=float(p.std(unbiased=False)), predictive_same=float(same.mean()), repeats=a['repeats'], mmd=0.0,
                    score_s=time.perf_counter() - t0)
    make, cfg, controls = MODELS[name]
    data = load(dataset, a['split_by'])
    loaded = saved(a['load'], dataset, name, seed) if a.get('load') else ''
    if loaded: model, steps, train_s = load_model(loaded), 0, 0.0   # trained earlier (`--save`): calibrate and score it again
    else:
        model = make(data)
        steps, train_s = train(model, data, a['seconds'], a['threads'], decay=a['decay'], steps=a['steps'], seed=seed, **cfg)
    calibrate_s = calibrate(name, model, data, controls, a['calibration_windows'])
    t1 = time.perf_counter(); fake = draw(model, len(real), controls); sample_s = time.perf_counter() - t1
    t2 = time.perf_counter(); s = scores(real, fake, seed=0, **kw); score_s = time.perf_counter() - t2
    if a.get('save'): model.save(saved(a['save'], dataset, name, seed))
    return dict(dataset=dataset, model=name, train_seed=seed, loaded=loaded, steps=steps, train_s=train_s, calibrate_s=calibrate_s,
                sample_s=sample_s, **s, mmd=mmd(real, fake), score_s=score_s)


def say(r:dict):
    "Print one finished row."
    if r['model'] == 'real': print(f"[{r['dataset']}] real predictive {format_score(r['predictive'], r['predictive_std'])} (trained on the train split's "
                                   f"windows; TimeGAN's, trained on the scored windows themselves: {r['predictive_same']:.4f})", flush=True)
    else: print(f"[{r['dataset']}] {r['model']} (training seed {r['train_seed']}): "
                + (f"loaded from {r['loaded']}" if r.get('loaded') else f"{r['steps']} steps in {r['train_s']:.0f} s") + f"; disc {format_score(r['discriminative'], r['discriminative_std'])}, "
                f"pred {format_score(r['predictive'], r['predictive_std'])} (scored in {r['score_s']:.0f} s)"
                + (f"; calibrated in {r['calibrate_s']:.0f} s" if r.get('calibrate_s') else ''), flush=True)


def bench(datasets:list[str], names:list[str], a:dict, jobs:int=1, train_seeds:int=1) -> list[dict]:
    ("Every (dataset, model, training seed) plus each dataset's real-data row; `jobs` processes side by side (each with "
     "`threads`).")
    tasks = [(ds, m, k) for ds in datasets for m in ['real', *names] for k in range(1 if m == 'real' else train_seeds)]
    if jobs <= 1:
        rows = []
        for ds, m, k in tasks: rows.append(job(ds, m, a, k)); say(rows[-1])
        return rows
    with ProcessPoolExecutor(jobs, mp_context=mp.get_context('spawn')) as ex:
        futs = [ex.submit(job, ds, m, a, k) for ds, m, k in tasks]
        for f in as_completed(futs): say(f.result())
        return [f.result() for f in futs]


def over_seeds(rows:list[dict]) -> list[dict]:
    ("One row per (dataset, model): each score's mean ± std (ddof 0) over the training seeds, of the per-seed means "
     "over classifier seeds; steps and seconds averaged.")
    out = []
    for key in dict.fromkeys((r['dataset'], r['model']) for r in rows):
        rs = [r for r in rows if (r['dataset'], r['model']) == key]
        if len(rs) == 1: out.append(rs[0]); continue
        m = lambda k: float(torch.tensor([r[k] for r in rs], dtype=torch.float64).mean())
        sd = lambda k: float(torch.tensor([r[k] for r in rs], dtype=torch.float64).std(unbiased=False))
        out.append(dict(rs[0], train_seed=f"{len(rs)} seeds", steps=round(m('steps')), train_s=m('train_s'), mmd=m('mmd'),
                        score_s=m('score_s'), discriminative=m('discriminative'), discriminative_std=sd('discriminative'),
                        predictive=m('predictive'), predictive_std=sd('predictive')))
    return out


def table(rows:list[dict]) -> str:
    "A markdown table of the rows, with the published references."
    out = ['| dataset | model | training seed | train steps | train s | discriminative (lower is better) | predictive (MAE) '
           '| MMD² | score s |', '|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        disc = '-' if r['model'] == 'real' else format_score(r['discriminative'], r['discriminative_std'])
        out.append(f"| {r['dataset']} | {r['model']} | {r['train_seed']} | {r['steps']} | {r['train_s']:.0f} | {disc} | {format_score(r['predictive'], r['predictive_std'])} "
                   f"| {r['mmd']:.4f} | {r['score_s']:.0f} |")
    for ds in dict.fromkeys(r['dataset'] for r in rows):
        for k, v in PUBLISHED.get(ds, {}).items():
            out.append(f"| {ds} | {k} (published) | | | | {'-' if k == 'real' else v[0]} | {v if k == 'real' else v[1]} | | |")
    return '\n'.join(out)


def steps_in(datasets:list[str], names:list[str], seconds:float, threads:int, calibration_windows:int, budget:float=600) -> None:
    ("Print how many steps each model makes in `seconds` of training on `threads`, and that rate over `budget` seconds "
     "less its calibration on `calibration_windows`.")
    torch.set_num_threads(threads)
    for ds in datasets:
        for name in names:
            make, cfg, controls = MODELS[name]
            data = load(ds, 'timegan'); torch.manual_seed(0)
            model = make(data)
            steps, s = train(model, data, seconds, threads, **cfg)
            cal = calibrate(name, model, data, controls, calibration_windows)  # calibration comes out of the budget
            print(f"[{ds}] {name}: {steps} steps in {s:.1f} s on {threads} thread(s) = {steps / s:.1f} steps/s; "
                  + (f"calibration {cal:.1f} s; " if name in CALIBRATED else '')
                  + f"{int(steps / s * (budget - cal))} steps in {budget:.0f} s", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--datasets', default='sines', help="comma-separated: sines, stocks, energy")
    p.add_argument('--models', default='gan,diffusion,ar', help=f"comma-separated: {', '.join(MODELS)}")
    p.add_argument('--seconds', type=float, default=150, help="wall-clock training budget of each model")
    p.add_argument('--steps', type=int, default=None, help="train each model for this many steps instead of --seconds")
    p.add_argument('--train-seeds', type=int, default=1, help="training runs of each model (seeds 0, 1, ...): mean ± std")
    p.add_argument('--score-on', default=None, choices=['train', 'heldout'],
                   help="real windows scored: of the train split, or valid + test ('heldout'; default with --split-by time)")
    p.add_argument('--save', default=None, help="a folder to save each trained model in")
    p.add_argument('--load', default=None, help="a folder of models saved by --save: calibrate and score them, no training")
    p.add_argument('--repeats', type=int, default=3, help="seeds of each score (mean ± std)")
    p.add_argument('--disc-iterations', type=int, default=2000)
    p.add_argument('--pred-iterations', type=int, default=5000)
    p.add_argument('--n-eval', type=int, default=3000, help="real windows scored (a random subset of the train split; 0: all); as many are sampled")
    p.add_argument('--threads', type=int, default=1, help="torch threads of each model (the scores' tiny GRUs run slower on 2 threads of a busy machine)")
    p.add_argument('--jobs', type=int, default=1, help="models trained and scored side by side in separate processes (each with --threads)")
    p.add_argument('--decay', action='store_true', help="lr on a cosine to 0 over the wall-time budget (default: constant lr)")
    p.add_argument('--json', default=None, help="also write the rows to this JSON file")
    p.add_argument('--split-by', default='timegan', choices=['timegan', 'time'],
                   help="stocks/energy: 'timegan' (all windows shuffled, the published protocol) or 'time' (split in time)")
    p.add_argument('--measure-steps', type=float, default=None, metavar='SECONDS',
                   help="only time training: steps each model makes in SECONDS on --threads, extrapolated to 600 s")
    p.add_argument('--calibration-windows', type=int, default=500,
                   help="windows drawn to learn a calibrated model's marginals (each 24 x F values, so 500 give 12,000 a feature)")
    a = p.parse_args()
    if a.measure_steps: return steps_in(a.datasets.split(','), a.models.split(','), a.measure_steps, a.threads, a.calibration_windows)
    t0 = time.perf_counter()
    score_on = a.score_on or ('heldout' if a.split_by == 'time' else 'train')
    cfg = dict(seconds=a.seconds, steps=a.steps, score_on=score_on, save=a.save, load=a.load, threads=a.threads, calibration_windows=a.calibration_windows, decay=a.decay, repeats=a.repeats, n_eval=a.n_eval, split_by=a.split_by,
               disc_iterations=a.disc_iterations, pred_iterations=a.pred_iterations)
    rows = bench(a.datasets.split(','), a.models.split(','), cfg, a.jobs, a.train_seeds)
    budget = f"{a.steps} steps" if a.steps else f"{a.seconds:.0f} s"
    training = (f"models loaded from {a.load}" if a.load else
                f"{budget} of training a model ({'cosine lr decay' if a.decay else 'constant lr'})")
    print(f"\n{a.repeats} classifier seeds a score; {a.train_seeds} training seed(s); {training}; split by {a.split_by}, scored on {score_on} windows; "
          f"{a.jobs} job(s) x {a.threads} thread(s); {mp.cpu_count()} CPUs; total {time.perf_counter() - t0:.0f} s\n")
    print(table(rows))
    if a.train_seeds > 1: print(f"\nover {a.train_seeds} training seeds:\n\n" + table(over_seeds(rows)))
    if a.json:
        with open(a.json, 'w') as f: json.dump(rows, f, indent=1)


if __name__ == '__main__': main()
