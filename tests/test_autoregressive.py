"Behaviour of the autoregressive models: causality, sampling controls, KV cache, training, save/load."
import math
import pytest
import torch
from gmwidgets.autoregressive import RNNLM, TransformerLM, SeriesAR
from gmwidgets.sampling import filter_logits, next_token, make_generator, encode_prefix

torch.set_num_threads(1)
V = 12  # 4 specials + 8 letters


class Vocab:
    "A minimal char vocabulary with the data layer's interface (pad 0, bos 1, eos 2, unk 3)."
    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3
    def __init__(self, chars='abcdefgh'):
        self.itos = ['<pad>', '<bos>', '<eos>', '<unk>', *chars]
        self.stoi = {s: i for i, s in enumerate(self.itos)}
    def __len__(self): return len(self.itos)
    def decode(self, ids): return ''.join(self.itos[i] for i in ids if i > 3)


class Data:
    "A tiny text dataset exposing `vocab` and `decode`."
    vocab = Vocab()
    def decode(self, rows): return [self.vocab.decode(r) for r in rows]


def text_models():
    torch.manual_seed(0)
    return [RNNLM(V, emb=8, hidden=16, layers=2, dropout=0.1),
            RNNLM(V, emb=8, hidden=16, layers=1, cell='lstm'),
            TransformerLM(V, d_model=16, n_layers=2, n_heads=2, block_size=16),
            TransformerLM(V, d_model=16, n_layers=2, n_heads=2, block_size=16, pos='sinusoidal')]

def ids(n=3, T=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(3, V, (n, T), generator=g)


@pytest.mark.parametrize('m', text_models())
def test_text_shapes_and_loss(m):
    m.eval()  # no dropout: two calls agree
    b = torch.tensor([[1, 5, 6, 7, 2, 0], [1, 4, 2, 0, 0, 0]])
    assert m(b).shape == (2, 6, V)
    t = m.loss(b)
    assert set(t) == {'loss'} and t['loss'].dim() == 0
    total, n = m.nll_sum(b)
    assert n.item() == 6  # 4 + 2 non-pad targets, <eos> included
    assert torch.allclose(t['loss'], total / 6)


@pytest.mark.parametrize('m', text_models())
def test_text_causal(m):
    m.eval()
    x = ids()
    base = m(x)
    for t in (0, 4, 9):
        x2 = x.clone(); x2[:, t] = (x2[:, t] + 1 - 3) % (V - 3) + 3
        out = m(x2)
        assert torch.allclose(base[:, :t], out[:, :t], atol=1e-6), f"logits before position {t} changed"
        assert not torch.allclose(base[:, t], out[:, t]), "the changed token must matter"


def test_series_causal():
    for head in ('gaussian', 'mdn'):
        m = SeriesAR(3, hidden=16, layers=2, head=head, n_mix=3).eval()
        x = torch.rand(2, 8, 3)
        base = [a.detach() for a in m(x)]
        for t in (0, 3, 7):
            x2 = x.clone(); x2[:, t] += 0.5
            out = m(x2)
            for a, b in zip(base, out):  # params of p(x_s | x_<s) for s <= t unchanged
                assert torch.allclose(a[:, :t + 1], b[:, :t + 1], atol=1e-6)
                if t < 7: assert not torch.allclose(a[:, t + 1], b[:, t + 1])


@pytest.mark.parametrize('m', text_models())
def test_sampling_seed_determinism_and_eos(m):
    a, b, c = m.sample(6, seed=1, length=12), m.sample(6, seed=1, length=12), m.sample(6, seed=2, length=12)
    assert a == b and a != c
    assert all(len(r) <= 12 and all(3 <= i < V for i in r) for r in a)  # no <pad>, <bos>, <eos> in the output


def test_stops_at_eos():
    m = RNNLM(V, emb=8, hidden=16, layers=1)
    with torch.no_grad(): m.head.bias[2] = 50.  # <eos> almost surely next
    assert m.sample(4, seed=0, length=10) == [[]] * 4
    assert m.sample(2, seed=0, length=10, prefix=[5, 6]) == [[5, 6]] * 2
    with torch.no_grad(): m.head.bias[2] = -50.  # <eos> never: samples run to length
    assert all(len(r) == 10 for r in m.sample(4, seed=0, length=10))


def greedy(m, n_steps):
    "Greedy decoding by full recompute, for reference."
    idx = torch.tensor([[1]])
    with torch.no_grad():
        for _ in range(n_steps):
            lg = m.eval()(idx)[:, -1]
            lg[:, [0, 1]] = float('-inf')
            tok = lg.argmax(-1)
            if tok.item() == 2: break
            idx = torch.cat([idx, tok[:, None]], 1)
    return idx[0, 1:].tolist()

@pytest.mark.parametrize('m', text_models())
def test_low_temperature_is_greedy(m):
    g = greedy(m, 12)
    assert m.sample(3, seed=5, length=12, temperature=1e-4) == [g] * 3
    assert m.sample(3, seed=6, length=12, top_k=1) == [g] * 3


def test_filter_logits_keeps_only_allowed():
    g = torch.Generator().manual_seed(0)
    lg = torch.randn(5, 20, generator=g)
    k = filter_logits(lg, top_k=3)
    assert (k.isfinite().sum(-1) == 3).all()
    assert (k.isfinite() == (lg >= lg.topk(3).values[:, [-1]])).all()
    p = filter_logits(lg, top_p=0.6)
    probs = lg.softmax(-1)
    for row, keep in zip(probs, p.isfinite()):
        kept = row[keep]
        assert kept.sum() >= 0.6 - 1e-6                                # the nucleus reaches top_p
        assert kept.sum() - kept.min() < 0.6                           # ... and is the smallest such set
        assert row[~keep].max() <= kept.min() if (~keep).any() else True  # kept tokens are the most likely
    gen = make_generator(0)
    draws = torch.stack([next_token(lg, gen, top_k=2, top_p=0.9) for _ in range(300)])  # (300, 5)
    allowed = filter_logits(filter_logits(lg, top_k=2), top_p=0.9).isfinite()
    assert all(allowed[i, draws[:, i]].all() for i in range(5))


@pytest.mark.parametrize('m', text_models())
def test_top_k_top_p_sampling_restricts_tokens(m):
    m.eval()
    for row in m.sample(8, seed=0, length=6, top_k=2):
        idx = torch.tensor([[1] + row])
        lg = m(idx)[0].detach()
        lg[:, [0, 1]] = float('-inf')
        for t, tok in enumerate(row):
            assert tok in lg[t].topk(2).indices.tolist()


@pytest.mark.parametrize('m', text_models())
def test_cache_equals_full_recompute(m):
    for length in (10, 30):  # 30 > block_size: the Transformer crops the context
        kw = dict(seed=3, length=length, prefix=[4, 5, 6])
        assert m.sample(5, **kw) == m.sample(5, use_cache=False, **kw)


def test_kv_cache_logits_match():
    m = TransformerLM(V, d_model=16, n_layers=2, n_heads=2, block_size=16).eval()
    x = ids(2, 9)
    full, _ = m._run(x)
    lg, cache = m._run(x[:, :4])             # a prefix at once
    steps = [lg]
    for t in range(4, 9):
        lg, cache = m._run(x[:, t:t + 1], cache)
        steps.append(lg)
    assert torch.allclose(full, torch.cat(steps, 1), atol=1e-5)
    lg2, _ = m._run(x[:, 6:], m._run(x[:, :6])[1])  # several new tokens on a cache
    assert torch.allclose(full[:, 6:], lg2, atol=1e-5)


def test_controls_errors():
    m = text_models()[0]
    for kw, msg in [(dict(temperature=0), 'temperature=0'), (dict(temperature=-1.), 'temperature=-1.0'),
                    (dict(top_p=0), 'top_p=0'), (dict(top_p=1.2), 'top_p=1.2'), (dict(top_k=0), 'top_k=0'),
                    (dict(length=0), 'length=0'), (dict(length=2, prefix=[4, 5]), 'length=2'),
                    (dict(prefix=[99]), 'prefix ids [99]'), (dict(prefix='ab'), 'has no vocab')]:
        with pytest.raises(ValueError, match=msg.replace('[', r'\[').replace(']', r'\]')): m.sample(2, **kw)
    with pytest.raises(TypeError, match='top_q'): m.sample(2, top_q=0.5)
    with pytest.raises(TypeError, match='steps'): SeriesAR(2).sample(2, steps=3)
    with pytest.raises(ValueError, match='n=0'): m.sample(0)
    with pytest.raises(ValueError, match="cell='rnn'"): RNNLM(V, cell='rnn')
    with pytest.raises(ValueError, match='tie_weights'): RNNLM(V, emb=8, hidden=16, tie_weights=True)
    with pytest.raises(ValueError, match='vocab_size=0'): RNNLM()
    with pytest.raises(ValueError, match='d_model=10, n_heads=4'): TransformerLM(V, d_model=10)
    with pytest.raises(ValueError, match='expected \\(B, T\\) token ids'): m.loss(torch.rand(2, 3, 1))


def test_string_prefix_and_generate_text():
    data = Data()
    m = RNNLM.for_data(data, emb=8, hidden=16, layers=1)
    assert m.config.vocab_size == V and m.vocab is data.vocab
    s = m.sample(4, seed=0, length=8, prefix='cab')
    assert all(r[:3] == [6, 4, 5] for r in s)
    texts = m.generate_text(data, 4, seed=0, length=8, prefix='cab')
    assert texts == data.decode(s) and all(t.startswith('cab') for t in texts)
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['X', 'z'\]"): m.sample(2, prefix='azX')
    with pytest.raises(ValueError, match='not in the vocabulary'): RNNLM(V).generate_text(data, 2, prefix='q')
    assert encode_prefix('', data.vocab) == []
    tied = RNNLM.for_data(data, emb=16, hidden=16, tie_weights=True)
    assert tied.head.weight is tied.wte.weight


def toy_batches(n_steps, B=16):
    "Batches of names drawn from a tiny language: 'ab..' repeated, variable length."
    g = torch.Generator().manual_seed(0)
    for _ in range(n_steps):
        L = torch.randint(2, 8, (B,), generator=g)
        x = torch.zeros(B, 10, dtype=torch.long)
        for i, l in enumerate(L.tolist()):
            x[i, 0] = 1
            x[i, 1:l + 1] = torch.tensor([4, 5] * 4)[:l]
            x[i, l + 1] = 2
        yield x

@pytest.mark.parametrize('m', text_models()[:3])
def test_training_lowers_loss(m):
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    losses = []
    for b in toy_batches(40):
        loss = m.loss(b)['loss']
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert all(set(r) <= {4, 5} for r in m.sample(8, seed=0, length=10, temperature=0.5))


def test_series_training_lowers_loss():
    torch.manual_seed(0)
    t = torch.linspace(0, 6, 16)
    m = SeriesAR(2, hidden=16, layers=1, head='mdn', n_mix=2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(60):
        ph = torch.rand(32, 1, 1) * 6
        x = 0.5 + 0.4 * torch.stack([torch.sin(t + ph[:, :, 0]), torch.cos(t + ph[:, :, 0])], -1)  # (B, T, 2)
        loss = m.loss(x)['loss']
        opt.zero_grad(); loss.backward(); opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] - 1.0


@pytest.mark.parametrize('m', [*text_models(), SeriesAR(3, hidden=8, head='mdn'), SeriesAR(3, hidden=8)])
def test_save_load_identical_samples(m, tmp_path):
    torch.save(m.state_dict(), tmp_path / 'w.pt')
    m2 = type(m)(m.config)
    m2.load_state_dict(torch.load(tmp_path / 'w.pt', weights_only=True))
    a, b = m.sample(4, seed=7, length=9), m2.sample(4, seed=7, length=9)
    assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b
    assert m.training  # sampling restores the training mode


def test_series_sampling():
    m = SeriesAR(3, hidden=16, layers=2, head='gaussian')
    x = m.sample(5, seed=0)
    assert x.shape == (5, 24, 3) and x.dtype == torch.float32
    assert torch.equal(x, m.sample(5, seed=0)) and not torch.equal(x, m.sample(5, seed=1))
    pre = torch.rand(5, 4, 3)
    y = m.sample(5, seed=0, length=10, prefix=pre)
    assert y.shape == (5, 10, 3) and torch.equal(y[:, :4], pre)
    # temperature -> 0: the mean path (teacher-forced on itself)
    z = m.sample(2, seed=0, length=6, temperature=1e-6)
    mu = m.eval()(z)[1][:, :, 0]  # (B, T, F): the means given the sample's own past
    assert torch.allclose(z, mu, atol=1e-4)
    with pytest.raises(ValueError, match='expected \\(T0, F=3\\)'): m.sample(2, prefix=torch.zeros(3, 2))
    with pytest.raises(ValueError, match='length=4 with a prefix of 4'): m.sample(5, length=4, prefix=pre)
    with pytest.raises(ValueError, match='temperature=0'): m.sample(2, temperature=0)
    with pytest.raises(ValueError, match='expected \\(B, T, F=3\\)'): m.loss(torch.rand(2, 5, 2))


def test_series_gaussian_nll_exact():
    "With zero weights the head predicts N(0, (softplus(0) + min_std)^2) for every feature."
    m = SeriesAR(2, hidden=4, layers=1)
    with torch.no_grad():
        for p in m.out.parameters(): p.zero_()
    x = torch.rand(3, 5, 2)
    std = math.log(2) + m.config.min_std
    want = (0.5 * (x / std) ** 2 + math.log(std) + 0.5 * math.log(2 * math.pi)).sum(-1).mean()
    assert torch.allclose(m.loss(x)['loss'], want, atol=1e-5)


def test_with_the_data_layer():
    from gmwidgets.data import TextData, sines
    data = TextData.from_texts(['anna', 'bob', 'maria', 'mark', 'marta', 'tom'] * 5, level='char')
    torch.manual_seed(0)
    m = RNNLM.for_data(data, emb=8, hidden=16, layers=1)
    b = next(data.batches('train', batch_size=4, shuffle=False))
    assert m.loss(b)['loss'].item() == pytest.approx(math.log(len(data.vocab)), abs=0.5)
    texts = m.generate_text(data, 6, seed=0, prefix='ma', length=7)
    ids = m.sample(6, seed=0, prefix='ma', length=7)
    assert texts == data.decode(ids) and all(t.startswith('ma') for t in texts)
    assert all(len(r) <= 7 for r in ids)
    with pytest.raises(ValueError, match=r"characters not in the vocabulary: \['Z', 'e'\]"): m.sample(1, prefix='Zoe')
    words = TextData.from_texts(['the cat sat', 'the dog ran', 'a cat ran'] * 4, level='word')
    w = TransformerLM.for_data(words, d_model=16, n_layers=1, n_heads=2, block_size=8)
    assert w.sample(2, seed=0, prefix='the cat', length=5)[0][:2] == words.vocab.encode('the cat', bos=False, eos=False)
    with pytest.raises(ValueError, match=r"words not in the vocabulary: \['zebra'\]"): w.sample(1, prefix='the zebra')
    s = sines(n=64)
    sm = SeriesAR.for_data(s, hidden=8, layers=1)
    assert sm.sample(3, seed=0).shape == (3, s.window, s.n_features)
    assert sm.loss(next(s.batches('train', batch_size=8)))['loss'].dim() == 0
