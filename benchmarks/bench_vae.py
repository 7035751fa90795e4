"""Sequence VAEs on CPU: KL, active units, ELBO parts, importance-sampled NLL vs an RNNLM given the same wall time,
posterior collapse without annealing, a SeriesVAE on sines, and the LatentExplorer's slider -> decoded latency.

    python benchmarks/bench_vae.py                    # names, 90 s a text model, 60 s for sines
    python benchmarks/bench_vae.py --data sentences --budget 300
    python benchmarks/bench_vae.py --budget 20 --k 10 # a quick look
    # on a GPU, where one is lent:
    python benchmarks/bench_vae.py --data sentences --budget 75 --device cuda --threads 2 --early-stop

Terms are nats per sequence (`recon`, `kl`, `elbo`) and nats per token, `<eos>` included (`nll`), as `metrics.nll`
reports them for `RNNLM`. The VAE's `nll` is the importance-sampled bound (Burda et al. 2016) with k samples."""
import argparse, statistics, time
import torch
from gmwidgets.core import load_dataset
from gmwidgets.autoregressive import RNNLM, evaluating
from gmwidgets.metrics import nll
from gmwidgets.vae import SentenceVAE, SeriesVAE, importance_nll, is_collapsed, active_units


class OnDevice:
    "A dataset whose batches land on `device`; everything else is the wrapped dataset's."
    def __init__(self, data, device): self.data, self.device = data, torch.device(device)
    def batches(self, *args, **kw): return (x.to(self.device) for x in self.data.batches(*args, **kw))
    def __getattr__(self, name): return getattr(self.data, name)


def train_for(model, data, seconds:float, lr:float=3e-3, batch_size:int=128, seed:int=0, valid=None) -> list[dict]:
    """AdamW steps until `seconds` of wall time have passed; the history of loss terms (floats) per step. With `valid`
    (model -> a number, lower is better), it is scored after every epoch and at the end, and the best weights are kept
    (early stopping, so a fast device does not just overfit)."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    hist, t0, epoch, best = [], time.perf_counter(), 0, (float('inf'), None)
    def keep_best():
        nonlocal best
        v = valid(model); model.train()
        if v < best[0]: best = (v, {k: t.detach().clone() for k, t in model.state_dict().items()})
    model.train()
    while time.perf_counter() - t0 < seconds:
        for x in data.batches('train', batch_size, shuffle=True, seed=seed + epoch):
            terms = model.loss(x)
            opt.zero_grad(); terms['loss'].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
            hist.append({k: float(v.detach()) for k, v in terms.items()})
            if time.perf_counter() - t0 >= seconds: break
        epoch += 1
        if valid is not None: keep_best()
    if valid is not None and best[1] is not None: model.load_state_dict(best[1])
    return hist


def evaluate(model, data, split='valid') -> dict:
    "Mean ELBO terms per sequence over `split` in eval mode, and active units over its posterior means."
    sums, n, mus = {}, 0, []
    with evaluating(model):
        for x in data.batches(split, 256, shuffle=False):
            t = model.loss(x)
            for k in ('recon', 'kl'): sums[k] = sums.get(k, 0.0) + float(t[k]) * x.size(0)
            n += x.size(0); mus.append(model.encode(x)[0])
    out = {k: v / n for k, v in sums.items()}
    out['elbo'] = -(out['recon'] + out['kl'])
    out['active_units'] = active_units(torch.cat(mus))
    return out


def slider_latency(model, data, moves:int=25) -> float:
    "Median ms from setting the explorer's t slider to the decoded output being in its widgets."
    from gmwidgets.latent import LatentExplorer  # the widget layer, imported only here
    ex = LatentExplorer(model, data, n_map=200)
    ms = []
    for i in range(moves):
        ex.t.value = (i + 1) / (moves + 1)
        ms.append(ex.latency_ms)
    return statistics.median(ms)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--data', default='names'); p.add_argument('--budget', type=float, default=90.0)
    p.add_argument('--series-budget', type=float, default=60.0); p.add_argument('--k', type=int, default=50)
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--no-slider', action='store_true', help="skip the slider latency (it needs the widget layer)")
    p.add_argument('--early-stop', action='store_true',
                   help="score 'valid' after every epoch and keep each model's best weights")
    p.add_argument('--device', default='cpu',
                   help="where the text models train and are scored ('cuda' on a GPU); sampling and sliders stay on "
                        "the CPU")
    a = p.parse_args()
    torch.set_num_threads(a.threads); torch.manual_seed(0)
    host = load_dataset(a.data)
    data = OnDevice(host, a.device)
    gpu = torch.cuda.get_device_name() if a.device.startswith('cuda') else 'none'
    print(f'{a.data}: {data.n("train")} train / {data.n("test")} test, vocab {len(data.vocab)}; '
          f'{a.budget:.0f} s a text model, {a.threads} thread(s), device {a.device} (GPU: {gpu})')
    size = dict(emb=64, hidden=256, latent=16) if a.data == 'names' else dict(emb=128, hidden=256, latent=32)
    rows = []
    variants = [('VAE sigmoid anneal + word dropout 0.3', dict(anneal='sigmoid', anneal_steps=300, word_dropout=0.3)),
                ('VAE no annealing, no word dropout', dict(anneal='none', word_dropout=0.0))]
    if a.device != 'cpu':  # cores to spare: the other cures too
        variants[1:1] = [('VAE sigmoid anneal, no word dropout',
                          dict(anneal='sigmoid', anneal_steps=300, word_dropout=0.0)),
                         ('VAE cyclical anneal + free bits 0.1',
                          dict(anneal='cyclical', anneal_steps=1000, free_bits=0.1, word_dropout=0.0))]
    vae = None
    for name, cfg in variants:
        torch.manual_seed(0)
        m = SentenceVAE.for_data(host, **size, **cfg).to(a.device)
        h = train_for(m, data, a.budget,
                      valid=(lambda m: (lambda e: e['recon'] + e['kl'])(evaluate(m, data))) if a.early_stop else None)
        ev = evaluate(m, data)
        t1 = time.perf_counter(); inll = importance_nll(m, data, 'test', k=a.k); t_is = time.perf_counter() - t1
        kl = [r['kl'] for r in h]
        path = ' -> '.join(f"{statistics.mean(kl[max(0, int(q * len(kl)) - 20):int(q * len(kl))]):.2f}"
                           for q in (0.25, 0.5, 0.75, 1.0))
        rows.append(dict(model=name, steps=len(h), **ev, collapsed=is_collapsed(kl, 0.05, 50),
                         nll=inll.nll, note=f'IS k={a.k} ({t_is:.0f} s); train KL at 1/4..4/4 of the run: {path}'))
        if vae is None and cfg['anneal'] != 'none': vae = m
        print(f'  {name}: {len(h)} steps; last train terms {({k: round(v, 3) for k, v in h[-1].items()})}')
    torch.manual_seed(0)
    lm = RNNLM.for_data(host, emb=size['emb'], hidden=256, layers=1, cell='gru', dropout=0.1).to(a.device)
    h = train_for(lm, data, a.budget, valid=(lambda m: nll(m, data, 'valid').nll) if a.early_stop else None)
    rows.append(dict(model='RNNLM GRU 1x256 (same wall time)', steps=len(h), nll=nll(lm, data, 'test').nll,
                     note='exact'))
    print('\n| model | steps | valid recon | valid KL | valid ELBO | active units | collapsed | test NLL/token | '
          'note |')
    print('|---|---|---|---|---|---|---|---|---|')
    f = lambda r, k, fmt='.3f': format(r[k], fmt) if k in r else ''
    for r in rows:
        print(f"| {r['model']} | {r['steps']} | {f(r, 'recon')} | {f(r, 'kl')} | {f(r, 'elbo')} | "
              f"{r.get('active_units', '')} | {r.get('collapsed', '')} | {f(r, 'nll', '.4f')} | {r['note']} |")
    vae = vae.cpu()
    print('\nsamples (annealed VAE, greedy from prior):', host.decode(vae.sample(5, seed=0, greedy=True)))
    print('reconstructions:', list(zip(host.texts('test')[:4], host.decode(vae.reconstruct(host.texts('test')[:4])))))

    torch.manual_seed(0)
    sines = load_dataset('sines')
    sv = SeriesVAE.for_data(sines, hidden=64, latent=8, anneal='linear', anneal_steps=300)
    h = train_for(sv, sines, a.series_budget)
    ev = evaluate(sv, sines)
    x = sines.windows('test')[:512]
    mse = float((sv.reconstruct(x) - x).pow(2).mean())
    print(f'\nSeriesVAE on sines ({len(h)} steps, {a.series_budget:.0f} s): valid recon {ev["recon"]:.2f}, '
          f'KL {ev["kl"]:.2f} nats/window, active units {ev["active_units"]}/8, '
          f'test NLL bound (IS k={a.k}) {importance_nll(sv, sines, "test", k=a.k).nll:.3f} nats/step, '
          f'reconstruction MSE {mse:.5f} (data in [0, 1], var {float(x.var()):.4f})')

    if a.no_slider: return
    print('\nslider -> decoded output, median ms (LatentExplorer, CPU, 1 thread):')
    print(f'  SentenceVAE on {a.data} (trained): {slider_latency(vae, host):.1f} ms')
    if a.data != 'sentences':
        big = load_dataset('sentences')
        print(f'  SentenceVAE on sentences (vocab {len(big.vocab)}, emb 128, hidden 256, untrained): '
              f'{slider_latency(SentenceVAE.for_data(big, emb=128, hidden=256, latent=32), big):.1f} ms')
    print(f'  SeriesVAE on sines: {slider_latency(sv, sines):.1f} ms')


if __name__ == '__main__':
    main()
