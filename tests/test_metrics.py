"Metrics are exact: known values on known cases, token-weighted over a split, independent of batch size."
import math
import pytest
import torch
import torch.nn as nn
from gmwidgets.autoregressive import RNNLM, SeriesAR
from gmwidgets.metrics import nll, perplexity, bits_per_char, batch_nll, n_targets, Likelihood

torch.set_num_threads(1)


class Split:
    "A dataset whose every split is the tensor `x`."
    def __init__(self, x, kind='text'): self.x, self.kind = x, kind
    def batches(self, split='train', batch_size=64, shuffle=True, seed=None):
        assert shuffle is False, "metrics must read a split in order"
        yield from self.x.split(batch_size)


class UniformLM(RNNLM):
    "An RNNLM whose head outputs zeros: uniform logits over V."
    def __init__(self, V):
        super().__init__(V, emb=4, hidden=4, layers=1)
        with torch.no_grad():
            for p in self.head.parameters(): p.zero_()


def names(n=7, T=9, V=27, seed=0):
    "Rows <bos> x.. <eos> <pad>.. of random lengths."
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, T, dtype=torch.long)
    for i in range(n):
        L = int(torch.randint(1, T - 1, (1,), generator=g))
        x[i, 0], x[i, L + 1] = 1, 2
        x[i, 1:L + 1] = torch.randint(4, V, (L,), generator=g)
    return x


def test_uniform_is_log_v():
    x = names()
    for bs in (1, 3, 100):
        r = nll(UniformLM(27), Split(x), batch_size=bs)
        assert r.nll == pytest.approx(math.log(27), abs=1e-6)
        assert r.n == int((x[:, 1:] != 0).sum())
    assert perplexity(UniformLM(27), Split(x)) == pytest.approx(27, rel=1e-6)
    assert bits_per_char(UniformLM(27), Split(x)) == pytest.approx(math.log2(27), abs=1e-6)


def test_token_weighted_not_mean_of_batch_means():
    torch.manual_seed(0)
    m = RNNLM(27, emb=8, hidden=16, layers=1).eval()
    x = names(n=5)
    x[4, 2:] = 0; x[4, 1] = 2  # a short last row: one target only
    per_batch = [(m.loss(b)['loss'].item(), int((b[:, 1:] != 0).sum())) for b in x.split(2)]
    weighted = sum(v * k for v, k in per_batch) / sum(k for _, k in per_batch)
    mean_of_means = sum(v for v, _ in per_batch) / len(per_batch)
    r = nll(m, Split(x), batch_size=2)
    assert r.nll == pytest.approx(weighted, abs=1e-5)
    assert r.nll == pytest.approx(m.loss(x)['loss'].item(), abs=1e-5)
    assert abs(weighted - mean_of_means) > 1e-3  # the test would catch a mean of batch means


def test_eval_mode_and_restored():
    torch.manual_seed(0)
    m = RNNLM(27, emb=8, hidden=16, layers=2, dropout=0.5)
    x = names()
    a, b = nll(m, Split(x)).nll, nll(m, Split(x)).nll
    assert a == b and m.training  # no dropout inside, training mode given back


def test_series_nll_exact_and_batch_size_free():
    torch.manual_seed(0)
    m = SeriesAR(3, hidden=8, layers=1, head='mdn', n_mix=2)
    x = torch.rand(7, 6, 3)
    r1, r3 = nll(m, Split(x, 'series'), batch_size=1), nll(m, Split(x, 'series'), batch_size=3)
    assert r1.n == r3.n == 42
    assert r1.nll == pytest.approx(r3.nll, abs=1e-5)
    assert r1.nll == pytest.approx(-m.step_logp(x).mean().item(), abs=1e-5)


def test_model_without_nll_sum_uses_loss_weighted():
    class Const(nn.Module):
        "Reports a per-batch nll equal to the number of rows: weights matter."
        def loss(self, b): return {'loss': torch.tensor(float(len(b))), 'nll': torch.tensor(float(len(b)))}
    x = names(n=5)
    counts = [n_targets(b) for b in x.split(2)]
    want = sum(len(b) * k for b, k in zip(x.split(2), counts)) / sum(counts)
    assert nll(Const(), Split(x), batch_size=2).nll == pytest.approx(want)
    class NoNLL(nn.Module):
        def loss(self, b): return {'loss': torch.tensor(1.)}
    with pytest.raises(KeyError, match="expected an 'nll' term"): batch_nll(NoNLL(), x)


def test_likelihood_conversions_and_empty_split():
    r = Likelihood(nll=math.log(4), n=10, split='test')
    assert r.perplexity == pytest.approx(4) and r.bits == pytest.approx(2)
    with pytest.raises(ValueError, match="split='test' .* has no targets"):
        nll(UniformLM(27), Split(names()[:0]))


def test_uniform_on_names_test_split():
    from gmwidgets.core import load_dataset
    import gmwidgets.data  # noqa: F401  (registers the built-in datasets)
    data = load_dataset('names')
    m = UniformLM(len(data.vocab))
    r = nll(m, data, 'test', batch_size=1000)
    assert r.nll == pytest.approx(math.log(len(data.vocab)), abs=1e-6)
    assert r.n == sum(len(t) + 1 for t in data.texts('test'))  # every character and the <eos>
