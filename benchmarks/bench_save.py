"""The cost of crash-safe files: `Run.save` and `model.save` (temporary file, fsync, rename, fsync of the folder)
side by side with a plain `torch.save` / `safetensors.save_model` over the file in place, which a crash can leave
half written. Prints milliseconds per save (median of `--n`) and the ratio.

    python benchmarks/bench_save.py  # a 2-layer GRU of hidden 256 (about 9 MB a checkpoint, 3 MB a model file)
"""
import argparse, os, statistics, tempfile, time
import safetensors.torch as st
import torch
from gmwidgets.autoregressive import RNNLM, RNNConfig
from gmwidgets.train import Run, _FORMAT


class Ones:
    def n(self, split): return 8
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter([torch.ones(8, 4, dtype=torch.long)])


def ms(f, n:int) -> float:
    "Median milliseconds of `n` calls of `f`."
    ts = []
    for _ in range(n):
        t = time.perf_counter(); f(); ts.append(1e3 * (time.perf_counter() - t))
    return statistics.median(ts)


def main(n:int, hidden:int):
    torch.set_num_threads(1)
    model = RNNLM(RNNConfig(vocab_size=200, emb=128, hidden=hidden, layers=2))
    run = Run(model, Ones(), max_steps=2, batch_size=8); run.start().wait(60)
    d = tempfile.mkdtemp()
    ck, mf = os.path.join(d, 'run.pt'), os.path.join(d, 'model.safetensors')
    plain_ck = lambda: torch.save(dict(format=_FORMAT, model=model.state_dict(), optimizer=run.opt.state_dict(),
                                       history=run._rows[:]), ck)
    rows = [('Run.save', ms(lambda: run.save(ck), n), ms(plain_ck, n)),
            ('model.save', ms(lambda: model.save(mf), n), ms(lambda: st.save_model(model, mf), n))]
    size = os.path.getsize(ck) / 2**20
    print(f"checkpoint {size:.1f} MB, model file {os.path.getsize(mf) / 2**20:.1f} MB, median of {n}")
    for name, atomic, plain in rows:
        print(f"{name:11s} atomic {atomic:7.1f} ms   in place {plain:7.1f} ms   ratio {atomic / plain:.2f}")


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--n', type=int, default=15, help='saves per measurement')
    ap.add_argument('--hidden', type=int, default=256, help='GRU state size (sets the file size)')
    main(**vars(ap.parse_args()))
