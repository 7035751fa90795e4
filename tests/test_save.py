"""Model files (`Saveable.save`, `load_model`): every built-in model round-trips its weights, buffers, config and
vocabulary through one safetensors file with no pickle; tied weights stay tied; bad files fail naming the file."""
import json
import pytest, torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
import gmwidgets
from gmwidgets.core import (load_model, model_class, register_model, read_model_metadata, config_class, Saveable,
                            MODEL_FORMAT, MODEL_CLASSES)
from gmwidgets.data import TextData, Vocab, sines
from gmwidgets.autoregressive import RNNLM, TransformerLM, SeriesAR, RNNConfig
from gmwidgets.vae import SentenceVAE, SeriesVAE
from gmwidgets.gan import SeriesGAN, GANConfig
from gmwidgets.diffusion import Diffusion
from gmwidgets.train import Run

torch.set_num_threads(1)
TEXTS = ['the cat sat on the mat', 'a dog ran home', 'the big red cat', 'an old dog sat', 'the mat is small'] * 4


@pytest.fixture(scope='module')
def words(): return TextData.from_texts(TEXTS, level='word', name='toy')


@pytest.fixture(scope='module')
def series(): return sines(n=64, seq_len=8, dim=3)


# name -> (build(words, series), sample(model) -> something comparable)
MODELS = {
    'rnn-gru-tied': (lambda w, s: RNNLM.for_data(w, emb=8, hidden=8, layers=1, tie_weights=True),
                     lambda m: m.sample(4, seed=3, length=6)),
    'rnn-lstm':     (lambda w, s: RNNLM.for_data(w, emb=6, hidden=8, layers=2, cell='lstm'),
                     lambda m: m.sample(4, seed=3, length=6, top_k=5)),
    'transformer':  (lambda w, s: TransformerLM.for_data(w, d_model=8, n_heads=2, n_layers=1, block_size=16),
                     lambda m: m.sample(4, seed=3, length=6)),
    'series-ar':    (lambda w, s: SeriesAR.for_data(s, hidden=8, layers=1, head='mdn', n_mix=2),
                     lambda m: m.sample(3, seed=3)),
    'sentence-vae': (lambda w, s: SentenceVAE.for_data(w, emb=8, hidden=8, latent=3),
                     lambda m: m.sample(4, seed=3, length=6)),
    'series-vae':   (lambda w, s: SeriesVAE.for_data(s, hidden=8, latent=3),
                     lambda m: m.sample(3, seed=3)),
    'gan':          (lambda w, s: SeriesGAN.for_data(s, hidden=6, layers=1),
                     lambda m: m.sample(3, seed=3)),
    'diffusion':    (lambda w, s: Diffusion.for_data(s, hidden=8, blocks=2, timesteps=20),
                     lambda m: m.sample(3, seed=3, steps=5)),
}


def perturb(m, seed=0):
    "Move every parameter and buffer off its initial value, so a load that kept fresh weights would fail."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters(): p.add_(torch.randn(p.shape, generator=g) * 0.1)
        if hasattr(m, 'step'): m.step.fill_(1234)
    return m


def same(a, b):
    "Equal samples: nested lists of ids, or tensors."
    if isinstance(a, torch.Tensor): return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    return a == b


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


@pytest.mark.parametrize('name', list(MODELS))
def test_round_trip(name, words, series, tmp_path):
    build, sample = MODELS[name]
    m = perturb(build(words, series))
    p = m.save(tmp_path / f'{name}.safetensors')
    assert p.is_file() and not (tmp_path / f'{name}.safetensors.part').exists()
    m2 = load_model(p)
    assert type(m2) is type(m) and m2 is not m
    assert m2.config == m.config and type(m2.config) is type(m.config)
    assert_same_state(m, m2)
    assert not m2.training
    assert same(sample(m.eval()), sample(m2))
    assert same(sample(m2), sample(type(m).load(p)))              # Cls.load gives the same model
    if getattr(m, 'vocab', None) is not None:
        assert m2.vocab.itos == m.vocab.itos and m2.vocab.level == m.vocab.level and m2.vocab.closed == m.vocab.closed


def test_perturbed_weights_differ_from_fresh(words, series, tmp_path):
    "The round-trip test can fail: a fresh model of the same config samples differently from a trained one."
    build, sample = MODELS['rnn-gru-tied']
    torch.manual_seed(0); m = perturb(build(words, series), seed=1)
    torch.manual_seed(0); fresh = build(words, series)
    assert not same(sample(m.eval()), sample(fresh.eval()))


def test_vae_step_buffer_survives(words, tmp_path):
    m = SentenceVAE.for_data(words, emb=8, hidden=8, latent=3, anneal='linear', anneal_steps=2000)
    m.step.fill_(700)
    m2 = load_model(m.save(tmp_path / 'vae.safetensors'))
    assert int(m2.step) == 700 and m2.step.dtype == torch.long and m2.beta == m.beta > 0


def test_text_model_encodes_prefix_after_load(words, tmp_path):
    m = perturb(RNNLM.for_data(words, emb=8, hidden=8, layers=1))
    m2 = RNNLM.load(m.save(tmp_path / 'lm.safetensors'))
    ids = m2.vocab.encode('the cat', bos=False, eos=False)
    s = m2.sample(3, seed=0, prefix='the cat', length=8)
    assert len(ids) == 2 and all(r[:2] == ids for r in s)
    assert s == m.eval().sample(3, seed=0, prefix='the cat', length=8)
    for model in (m, m2):
        with pytest.raises(ValueError, match='zebra'): model.sample(2, prefix='zebra', length=4)


def test_closed_char_vocab_survives(tmp_path):
    data = TextData.from_texts(['abc', 'abd', 'bcd'] * 3, level='char', name='c',
                               vocab=Vocab.build(['abcd'], 'char', closed=True))
    m = TransformerLM.for_data(data, d_model=8, n_heads=2, n_layers=1, block_size=8)
    m2 = load_model(m.save(tmp_path / 'c.safetensors'))
    assert m2.vocab.closed and m2.vocab.level == 'char' and m2.vocab.itos == data.vocab.itos
    with pytest.raises(ValueError, match='z'): m2.sample(2, prefix='az')
    with pytest.raises(ValueError, match='closed vocabulary'): m2.vocab.encode('az')


def test_tied_weights_stay_tied_and_are_stored_once(words, tmp_path):
    m = perturb(RNNLM.for_data(words, emb=8, hidden=8, layers=1, tie_weights=True))
    p = m.save(tmp_path / 'tied.safetensors')
    assert len({k for k in load_file(str(p))} & {'head.weight', 'wte.weight'}) == 1
    m2 = load_model(p)
    assert m2.head.weight is m2.wte.weight and torch.equal(m2.head.weight, m.wte.weight)
    with torch.no_grad(): m2.wte.weight[0, 0] += 1.0
    assert m2.head.weight[0, 0] == m2.wte.weight[0, 0]


def test_file_holds_no_pickle_and_plain_metadata(words, tmp_path):
    m = RNNLM.for_data(words, emb=8, hidden=8, layers=1)
    p = m.save(tmp_path / 'lm.safetensors')
    raw = p.read_bytes()
    n = int.from_bytes(raw[:8], 'little')
    header = json.loads(raw[8:8 + n])                       # the safetensors header is JSON, then raw tensor bytes
    assert b'\x80\x04' not in raw[:8 + n] and b'torch._utils' not in raw and b'cgmwidgets' not in raw
    with safe_open(str(p), framework='pt') as f:
        meta = f.metadata()
        assert set(f.keys()) == set(m.state_dict())
    assert meta == header['__metadata__']
    assert meta['format'] == MODEL_FORMAT and meta['class'] == 'RNNLM' and meta['version'] == gmwidgets.__version__
    assert json.loads(meta['config']) == {**json.loads(meta['config']), 'vocab_size': len(words.vocab), 'hidden': 8}
    assert json.loads(meta['vocab']) == {'tokens': words.vocab.itos, 'level': 'word', 'closed': False}
    assert sum(v['data_offsets'][1] - v['data_offsets'][0] for k,
               v in header.items() if k != '__metadata__') == len(raw) - 8 - n
    assert read_model_metadata(SeriesAR(2, hidden=4, layers=1).save(tmp_path / 's.safetensors'))['vocab'] is None


def test_tuple_config_field_comes_back_a_tuple(tmp_path):
    m = SeriesGAN(2, hidden=4, layers=1, length=5, betas=(0.25, 0.75), z_dim=3)
    m2 = load_model(m.save(tmp_path / 'g.safetensors'))
    assert m2.config.betas == (0.25, 0.75) and isinstance(m2.config.betas, tuple) and m2.config.z_dim == 3
    m2.optimizers()                                          # Adam accepts the restored betas


def test_wrong_class(words, series, tmp_path):
    p = SeriesVAE.for_data(series, hidden=8, latent=2).save(tmp_path / 'v.safetensors')
    with pytest.raises(ValueError, match=r'v\.safetensors holds a SeriesVAE, not a RNNLM'): RNNLM.load(p)
    with pytest.raises(ValueError, match='not a SentenceVAE'): SentenceVAE.load(p)
    assert type(SeriesVAE.load(p)) is SeriesVAE


def rewrite(p, out, tensors=None, **meta):
    "Copy model file `p` to `out` with tensors and metadata changed."
    with safe_open(str(p), framework='pt') as f: md = dict(f.metadata())
    t = load_file(str(p)) if tensors is None else tensors(load_file(str(p)))
    md.update(meta)
    save_file(t, str(out), metadata={k: v for k, v in md.items() if v is not None})
    return out


def test_class_not_on_allow_list(series, tmp_path):
    p = SeriesAR.for_data(series, hidden=4, layers=1).save(tmp_path / 'a.safetensors')
    for bad in ['Run', 'os.system', 'Vocab', 'builtins.eval']:
        q = rewrite(p, tmp_path / 'bad.safetensors', **{'class': bad})
        with pytest.raises(ValueError, match=f"model class '{bad}' is not allowed"): load_model(q)
    with pytest.raises(ValueError, match='not allowed'): model_class('TokenLM')


def test_missing_extra_and_misshapen_tensors(series, tmp_path):
    p = SeriesAR.for_data(series, hidden=4, layers=1).save(tmp_path / 'a.safetensors')
    def drop(t): t.pop('start'); return t
    def add(t): t['extra.weight'] = torch.zeros(2); return t
    def bend(t): t['start'] = torch.zeros(7); return t
    with pytest.raises(ValueError, match=r"miss\.safetensors: tensors do not match a SeriesAR: missing \['start'\]"):
        load_model(rewrite(p, tmp_path / 'miss.safetensors', drop))
    with pytest.raises(ValueError, match=r"extra\.safetensors: .*unexpected \['extra.weight'\]"):
        load_model(rewrite(p, tmp_path / 'extra.safetensors', add))
    with pytest.raises(ValueError, match=r"bent\.safetensors: tensors do not fit a SeriesAR"):
        load_model(rewrite(p, tmp_path / 'bent.safetensors', bend))
    with pytest.raises(ValueError,
                       match=r"hid\.safetensors: tensors do not fit"):   # config says hidden=5, weights are 4
        load_model(rewrite(p, tmp_path / 'hid.safetensors',
                           config=json.dumps({**read_model_metadata(p)['config'], 'hidden': 5})))


def test_not_a_model_file(series, tmp_path):
    junk = tmp_path / 'junk.safetensors'; junk.write_bytes(b'\x00' * 40)
    with pytest.raises(ValueError, match=r'junk\.safetensors: not a safetensors file'): load_model(junk)
    pt = tmp_path / 'model.pt'; torch.save(SeriesAR(2, hidden=4, layers=1).state_dict(), pt)
    with pytest.raises(ValueError, match=r'model\.pt: not a safetensors file'): load_model(pt)
    other = tmp_path / 'other.safetensors'; save_file({'w': torch.zeros(2)}, str(other), metadata={'x': 'y'})
    with pytest.raises(ValueError, match=r"other\.safetensors: not a gmwidgets model file"): load_model(other)
    bare = tmp_path / 'bare.safetensors'; save_file({'w': torch.zeros(2)}, str(bare))
    with pytest.raises(ValueError, match=r"bare\.safetensors: not a gmwidgets model file"): load_model(bare)
    p = SeriesAR(2, hidden=4, layers=1).save(tmp_path / 'a.safetensors')
    with pytest.raises(ValueError, match=r'broken\.safetensors: damaged gmwidgets metadata'):
        load_model(rewrite(p, tmp_path / 'broken.safetensors', config='{not json'))
    with pytest.raises(ValueError, match=r"future\.safetensors: config fields \['warp'\] are unknown to SeriesConfig"):
        load_model(rewrite(p, tmp_path / 'future.safetensors', config=json.dumps({'n_features': 2, 'warp': 9})))
    with pytest.raises(FileNotFoundError, match='nowhere.safetensors'): load_model(tmp_path / 'nowhere.safetensors')


def test_corrupt_file(series, tmp_path):
    p = SeriesAR.for_data(series, hidden=4, layers=1).save(tmp_path / 'a.safetensors')
    raw = p.read_bytes()
    cut = tmp_path / 'cut.safetensors'; cut.write_bytes(raw[:len(raw) - 10])
    with pytest.raises(ValueError, match=r'cut\.safetensors'): load_model(cut)
    head = tmp_path / 'head.safetensors'; head.write_bytes(raw[:9] + b'x' + raw[10:])   # header JSON broken
    with pytest.raises(ValueError, match=r'head\.safetensors'): load_model(head)


def test_register_model(tmp_path):
    @register_model
    class TinyLM(RNNLM):
        "A user model: an RNNLM under another name."
    try:
        m = perturb(TinyLM(10, emb=4, hidden=4, layers=1))
        m2 = load_model(m.save(tmp_path / 't.safetensors'))
        assert type(m2) is TinyLM
        assert_same_state(m, m2)
        with pytest.raises(ValueError, match="'RNNLM' is taken"):
            register_model(type('RNNLM', (RNNLM,), {}))
        with pytest.raises(TypeError, match='Saveable'): register_model(dict)
    finally: MODEL_CLASSES.pop('TinyLM', None)
    with pytest.raises(ValueError, match="'TinyLM' is not allowed"): load_model(tmp_path / 't.safetensors')


def test_config_class_of_every_builtin():
    for name in ['RNNLM', 'TransformerLM', 'SeriesAR', 'SentenceVAE', 'SeriesVAE', 'SeriesGAN', 'Diffusion']:
        cls = model_class(name)
        assert issubclass(cls, Saveable) and cls.__name__ == name
        assert config_class(cls).__name__.endswith('Config')
    assert config_class(RNNLM) is RNNConfig and config_class(SeriesGAN) is GANConfig


def test_save_overwrites_and_unknown_config_type_refused(words, tmp_path):
    p = tmp_path / 'x.safetensors'
    RNNLM.for_data(words, emb=4, hidden=4, layers=1).save(p)
    SeriesAR(2, hidden=4, layers=1).save(p)
    assert type(load_model(p)) is SeriesAR
    m = SeriesAR(2, hidden=4, layers=1); m.config = {'n_features': 2}
    with pytest.raises(TypeError, match='config dataclass'): m.save(tmp_path / 'y.safetensors')


def test_model_trained_by_run(words, tmp_path):
    m = RNNLM.for_data(words, emb=8, hidden=8, layers=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    run = Run(m, words, batch_size=8, lr=1e-2, max_steps=5).start()
    assert run.wait(60) and run.state == 'finished' and run.step_count == 5
    assert any(not torch.equal(before[k], v) for k, v in m.state_dict().items())
    run.save(tmp_path / 'run.pt')                                  # the resumable checkpoint is another format
    with pytest.raises(ValueError, match=r'run\.pt: not a safetensors file'): load_model(tmp_path / 'run.pt')
    m2 = load_model(run.model.save(tmp_path / 'lm.safetensors'))
    assert_same_state(m, m2)
    assert m2.sample(4, seed=2, prefix='the') == m.eval().sample(4, seed=2, prefix='the')
    r2 = Run.load(tmp_path / 'run.pt', RNNLM.for_data(words, emb=8, hidden=8, layers=1), words)
    assert_same_state(m2, r2.model)


def test_gan_after_train_step(series, tmp_path):
    m = SeriesGAN.for_data(series, hidden=6, layers=1)
    before = {k: v.clone() for k, v in m.state_dict().items()}
    m.train_step(next(series.batches('train', 8, seed=0)))
    assert any(not torch.equal(before[k], v) for k, v in m.state_dict().items())
    m2 = load_model(m.save(tmp_path / 'g.safetensors'))
    assert_same_state(m, m2)
    assert torch.equal(m.sample(3, seed=0), m2.sample(3, seed=0))
    assert m._opt_g is not None and m2._opt_g is None               # a model file has no optimizer state
