"Behaviour of gmwidgets.data: vocabularies, text and series datasets, scalers, windows, built-in datasets."
import fnmatch, gzip, math, re
from collections import Counter
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from gmwidgets.core import load_dataset, SeqData, batch_kind
from gmwidgets.data import (SPLITS, Vocab, TextData, SeriesData, MinMaxScaler, StandardScaler, sliding_windows,
                            split_indices, tokenize, sine_data, datasets, sines, stocks, energy)

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
quick = settings(max_examples=60, deadline=None)

# ---------------------------------------------------------------- splits

def test_split_sizes_cover_all_items_once():
    s = split_indices(103, (0.7, 0.2, 0.1), seed=3)
    assert [len(s[k]) for k in SPLITS] == [72, 20, 11]
    assert sorted(np.concatenate([s[k] for k in SPLITS]).tolist()) == list(range(103))

def test_split_is_deterministic_by_seed():
    a, b, c = split_indices(50, seed=1), split_indices(50, seed=1), split_indices(50, seed=2)
    assert all((a[k] == b[k]).all() for k in SPLITS)
    assert not (a['train'] == c['train']).all()

@pytest.mark.parametrize('bad', [(0.8, 0.1), (0.8, 0.3, 0.1), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1), 'abc', None])
def test_bad_split_fractions_raise(bad):
    with pytest.raises(ValueError, match=re.escape(f"split={bad!r}")): split_indices(10, bad)

# ---------------------------------------------------------------- vocabulary

def test_vocab_specials_have_fixed_ids():
    v = Vocab('abc')
    assert v.itos[:4] == ['<pad>', '<bos>', '<eos>', '<unk>']
    assert (v.pad_id, v.bos_id, v.eos_id, v.unk_id) == (0, 1, 2, 3)
    assert [v.stoi[c] for c in 'abc'] == [4, 5, 6] and len(v) == 7
    assert Vocab(['<pad>', 'x', 'x']).itos == ['<pad>', '<bos>', '<eos>', '<unk>', 'x']  # specials and repeats dropped

def test_vocab_build_min_freq_and_max_size():
    texts = ['the cat', 'the dog', 'the cat sat']
    assert Vocab.build(texts, 'word').itos[4:] == ['the', 'cat', 'dog', 'sat']  # by frequency, ties alphabetical
    assert Vocab.build(texts, 'word', min_freq=2).itos[4:] == ['the', 'cat']
    assert Vocab.build(texts, 'word', max_size=1).itos[4:] == ['the']
    assert Vocab.build(['cab', 'a'], 'char').itos[4:] == ['a', 'b', 'c']  # characters sorted

def test_encode_decode_frame_and_strip():
    v = Vocab.build(['hello'])
    ids = v.encode('hello')
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id and len(ids) == 7
    assert v.decode(ids + [v.pad_id] * 3) == 'hello'
    assert v.decode(ids + [v.stoi['h']]) == 'hello'  # stops at <eos>
    assert v.decode(np.array(ids)) == v.decode(torch.tensor(ids)) == 'hello'
    assert v.decode([v.bos_id, v.stoi['h'], v.eos_id, v.pad_id], strip=False) == '<bos>h<eos><pad>'
    assert v.encode('he', bos=False, eos=False) == [v.stoi['h'], v.stoi['e']]

def test_word_tokenizer_lowercases_and_splits_punctuation():
    assert tokenize("O Romeo, Romeo! wherefore art thou Romeo?", 'word') == \
        ['o', 'romeo', ',', 'romeo', '!', 'wherefore', 'art', 'thou', 'romeo', '?']
    assert tokenize("'Tis fortune's wheel", 'word') == ["'", 'tis', "fortune's", 'wheel']

def test_open_vocab_counts_unknowns_closed_vocab_names_them():
    v = Vocab.build(['abc'])
    assert v.encode('abz') == [1, 4, 5, 3, 2] and v.unk_count == 1
    v.encode('zzq'); assert v.unk_count == 4
    c = Vocab.build(['abc'], closed=True)
    with pytest.raises(ValueError, match=r"unknown char tokens \['q', 'z'\] in 'zaq'.*closed"): c.encode('zaq')
    assert c.unk_count == 0

@pytest.mark.parametrize('call',
                         [lambda v: v.encode(5), lambda v: v.tokenize(b'ab'), lambda v: Vocab.build(['a', None]),
                                  lambda v: Vocab.build('abc')])
def test_non_string_text_raises_type_error(call):
    with pytest.raises(TypeError, match=r"(is int|is bytes|is NoneType|is a str): expected"): call(Vocab('ab'))

def test_decode_rejects_ids_out_of_range():
    with pytest.raises(ValueError, match=r"token id 7: expected an integer in 0..5"): Vocab('ab').decode([1, 7])

def test_bad_level_raises():
    with pytest.raises(ValueError, match="level='bytes'"): Vocab('ab', level='bytes')

# Property tests: tokenizer round trips.
texts = st.text(max_size=40)

@quick
@given(texts, st.booleans())
def test_char_round_trip_with_own_vocab(text, closed):
    v = Vocab.build([text], closed=closed)
    assert v.decode(v.encode(text)) == text and v.unk_count == 0

@quick
@given(texts, st.text(min_size=1, max_size=10))
def test_char_open_vocab_maps_unknowns_to_unk(text, alphabet):
    v = Vocab.build([alphabet])
    assert v.decode(v.encode(text)) == ''.join(c if c in alphabet else '<unk>' for c in text)
    assert v.unk_count == sum(c not in alphabet for c in text)

@quick
@given(texts, st.text(min_size=1, max_size=10))
def test_char_closed_vocab_raises_on_any_unknown(text, alphabet):
    v = Vocab.build([alphabet], closed=True)
    if set(text) <= set(alphabet): assert v.decode(v.encode(text)) == text
    else:
        with pytest.raises(ValueError, match='closed vocabulary'): v.encode(text)

@quick
@given(texts, st.booleans())
def test_word_round_trip_gives_tokens_joined_by_spaces(text, closed):
    v = Vocab.build([text], 'word', closed=closed)
    toks = tokenize(text, 'word')
    out = v.decode(v.encode(text))
    assert out == ' '.join(toks)
    assert tokenize(out, 'word') == toks  # decoding is a fixed point of tokenizing

@quick
@given(st.lists(st.sampled_from(['to', 'be', 'or', 'not', ',', '!', "'tis", 'Be']), max_size=12),
       st.sampled_from(['to', 'be', 'or', 'not']))
def test_word_open_and_closed_vocab_with_unknowns(words, missing):
    text = ' '.join(words)
    known = [w for w in ['to', 'be', 'or', 'not', ',', '!', "'", 'tis'] if w != missing]
    toks = tokenize(text, 'word')
    v = Vocab(known, 'word')
    assert v.decode(v.encode(text)) == ' '.join(t if t != missing else '<unk>' for t in toks)
    assert v.unk_count == toks.count(missing)
    c = Vocab(known, 'word', closed=True)
    if missing in toks:
        with pytest.raises(ValueError, match=repr(missing)): c.encode(text)
    else: assert c.decode(c.encode(text)) == ' '.join(toks)

# ---------------------------------------------------------------- text datasets

NAMES = ['ada', 'bo', 'cy', 'dee', 'eli', 'flo', 'gil', 'hal', 'ivo', 'jan', 'kai', 'lea', 'max', 'ned', 'ola',
         'pia', 'quinn', 'rex', 'sam', 'tom'] * 5  # 100 texts, 20 distinct

def test_text_split_sizes_and_determinism():
    a = TextData.from_texts(NAMES, seed=1)
    assert [a.n(k) for k in SPLITS] == [80, 10, 10]
    assert a.texts('test') == TextData.from_texts(NAMES, seed=1).texts('test')
    assert a.texts('train') != TextData.from_texts(NAMES, seed=2).texts('train')
    assert sorted(sum((a.texts(k) for k in SPLITS), [])) == sorted(NAMES)

def test_batches_are_padded_rows_bos_text_eos():
    d = TextData.from_texts(NAMES, seed=0)
    bs = list(d.batches('train', batch_size=32, seed=0))
    assert [b.shape[0] for b in bs] == [32, 32, 16]
    for b in bs:
        assert b.dtype == torch.long and batch_kind(b) == 'tokens'
        assert (b[:, 0] == d.vocab.bos_id).all()
        lens = (b != d.vocab.pad_id).sum(1)
        assert b.shape[1] == int(lens.max())  # padded to the longest row of the batch, no more
        assert all(b[i, lens[i] - 1] == d.vocab.eos_id and (b[i,
                                                              lens[i]:] == d.vocab.pad_id).all() for i in range(len(b)))
    assert sorted(sum((d.decode(b) for b in bs), [])) == sorted(d.texts('train'))  # one epoch = every text once

def test_batch_order_by_seed_and_shuffle_flag():
    d = TextData.from_texts(NAMES)
    first = lambda **kw: next(d.batches(batch_size=8, **kw)).tolist()
    assert first(seed=5) == first(seed=5) and first(seed=5) != first(seed=6)
    assert d.decode(torch.tensor(first(shuffle=False))) == d.texts('train')[:8]

@pytest.mark.parametrize('make, err, msg', [
    (lambda: TextData.from_texts(NAMES).batches(batch_size=2.0), TypeError, r'batch_size=2\.0: need an integer >= 1'),
    (lambda: TextData.from_texts(NAMES).batches(batch_size=True), TypeError, 'batch_size=True: need an integer >= 1'),
    (lambda: TextData.from_texts(NAMES).bucketed(8).batches(batch_size=0), ValueError,
     'batch_size=0: need an integer >= 1'),
    (lambda: TextData.from_texts(NAMES).bucketed(1.5), TypeError, r'bucket=1\.5: need an integer >= 0'),
    (lambda: TextData.from_texts(NAMES).bucketed(False), TypeError, 'bucket=False: need an integer >= 0'),
    (lambda: TextData.from_texts(NAMES).bucketed(-1), ValueError, 'bucket=-1: need an integer >= 0'),
    (lambda: sliding_windows(np.zeros((10, 2)), 4.0), TypeError, r'window=4\.0: need an integer >= 1'),
    (lambda: sliding_windows(np.zeros((10, 2)), 4, stride=True), TypeError, 'stride=True: need an integer >= 1'),
])
def test_counts_that_are_not_whole_numbers_are_type_errors(make, err, msg):
    "A size that is not a whole number (a float, a bool) is a TypeError, one below its bound a ValueError: both say so."
    with pytest.raises(err, match=msg): make()

def test_counts_take_numpy_integers():
    d = TextData.from_texts(NAMES).bucketed(np.int64(4))
    assert d.bucket == 4 and type(d.bucket) is int
    assert [len(b) for b in d.batches('train', batch_size=np.int64(40), shuffle=False)] == [40, 40]
    assert sliding_windows(np.zeros((10, 2)), np.int32(4), stride=np.int64(3)).shape == (3, 4, 2)

def test_n_batches_counts_the_batches_an_epoch_yields():
    "A length-bucketed epoch has more batches than n / batch_size, by an amount that depends on its shuffle."
    plain = TextData.from_texts(['x' * (i % 13 + 1) for i in range(500)])
    for d in (plain, plain.bucketed(4)):
        for bs, seed in [(8, 0), (8, 1), (32, 2), (64, 3)]:
            assert d.n_batches('train', bs, seed=seed) == len(list(d.batches('train', bs, seed=seed))), (d.bucket, bs)
        assert d.n_batches('valid', 8, shuffle=False) == len(list(d.batches('valid', 8, shuffle=False)))
    counts = {plain.bucketed(4).n_batches('train', 16, seed=s) for s in range(8)}
    assert min(counts) > math.ceil(plain.n('train') / 16) and len(counts) > 1, counts

def test_collate_pads_with_pad_id():
    d = TextData.from_texts(NAMES)
    x = d.collate([[1, 5, 2], [1, 2], [1, 6, 7, 8, 2]])
    assert x.shape == (3, 5) and x[1].tolist() == [1, 2, 0, 0, 0]
    assert d.ids('train')[0][0] == d.vocab.bos_id and d.ids('train')[0][-1] == d.vocab.eos_id
    with pytest.raises(ValueError, match='seqs is empty'): d.collate([])

def test_vocab_is_built_on_the_training_split():
    texts = ['ab'] * 9 + ['az']  # 'z' only in one text
    for seed in range(20):
        d = TextData.from_texts(texts, seed=seed)
        if 'az' not in d.texts('train'): break
    assert 'z' not in d.vocab
    assert any(d.vocab.unk_id in r for r in d.ids('valid') + d.ids('test'))  # 'z' became <unk>

def test_contains_checks_training_texts_only():
    d = TextData.from_texts([f"name{i}" for i in range(50)])
    assert all(d.contains(t) for t in d.texts('train'))
    assert not any(d.contains(t) for t in d.texts('valid') + d.texts('test'))
    w = TextData.from_texts([f"To be, or not {i}." for i in range(30)], level='word')
    t = w.texts('train')[0]
    assert w.contains(t.upper()) and w.contains(w.decode([w.vocab.encode(t)])[0])

def test_max_len_drops_long_texts():
    d = TextData.from_texts(['a' * n for n in range(1, 21)], max_len=10)
    assert sum(d.n(k) for k in SPLITS) == 10 and d.max_len == 10
    with pytest.raises(ValueError, match='max_len=0'): TextData.from_texts(['ab'], max_len=0)

def test_given_vocab_and_level_mismatch():
    v = Vocab.build(NAMES, closed=True)
    assert TextData.from_texts(NAMES, vocab=v).vocab is v
    with pytest.raises(ValueError, match="level='word'"): TextData.from_texts(NAMES, level='word', vocab=v)
    with pytest.raises(ValueError, match='closed vocabulary'): TextData.from_texts(NAMES + ['xyz'], vocab=v)

def test_from_file_reads_lines_plain_and_gzipped(tmp_path):
    (tmp_path / 'pets.txt').write_text('rex\nfido\n\nbella\n' * 10)
    (tmp_path / 'pets.txt.gz').write_bytes(gzip.compress(('rex\nfido\n\nbella\n' * 10).encode()))
    for p in ['pets.txt', 'pets.txt.gz']:
        d = TextData.from_file(tmp_path / p, seed=1)
        assert d.name == 'pets' and sum(d.n(k) for k in SPLITS) == 30 and set(d.texts('train')) <= {'rex', 'fido',
                                                                                                    'bella'}

def test_repr_previews_and_html_is_escaped():
    d = TextData.from_texts(['<script>alert(1)</script>'] * 5, name='x')
    assert "TextData 'x'" in repr(d) and '<script>' in repr(d)
    h = d._repr_html_()
    assert '<script>' not in h and '&lt;script&gt;' in h

@pytest.mark.parametrize('make, err, msg', [
    (lambda: TextData.from_texts([]), ValueError, 'texts is empty'),
    (lambda: TextData.from_texts(['ok', 3]), TypeError, r'texts\[1\] is int: expected str'),
    (lambda: TextData.from_texts('abc'), TypeError, 'texts is a str'),
    (lambda: TextData.from_texts(NAMES, split=(0.5, 0.5, 0.5)), ValueError, 'summing to 1'),
    (lambda: TextData.from_texts(NAMES).texts('dev'), ValueError, "split='dev': expected one of"),
    (lambda: TextData.from_texts(NAMES).batches(batch_size=0), ValueError, 'batch_size=0'),
    (lambda: TextData.from_texts(NAMES).decode(torch.tensor([1, 2])), ValueError, r'shape \(2,\): expected \(B, T\)'),
    (lambda: TextData.from_texts(NAMES).contains(None), TypeError, 'NoneType'),
])
def test_text_errors(make, err, msg):
    with pytest.raises(err, match=msg): make()

def test_text_data_meets_the_protocol():
    d = TextData.from_texts(NAMES)
    assert isinstance(d, SeqData) and d.kind == 'text'

# ---------------------------------------------------------------- windows and scalers

def test_sliding_windows_count_and_content():
    x = np.arange(20.).reshape(10, 2)
    w = sliding_windows(x, 4)
    assert w.shape == (7, 4, 2)
    assert all((w[i] == x[i:i + 4]).all() for i in range(7))
    assert sliding_windows(x, 4, stride=3).shape == (3, 4, 2)  # starts 0, 3, 6
    assert sliding_windows(np.arange(5), 5).shape == (1, 5, 1)

@pytest.mark.parametrize('args, msg', [
    ((np.zeros((10, 2)), 11), r'window=11 is longer than the series \(10 steps\)'),
    ((np.zeros((10, 2)), 0), 'window=0'),
    ((np.zeros((10, 2)), 3, 0), 'stride=0'),
    ((np.zeros((2, 3, 4)), 2), r'series of shape \(2, 3, 4\): expected \(L, F\)'),
])
def test_sliding_window_errors(args, msg):
    with pytest.raises(ValueError, match=msg): sliding_windows(*args)

def test_scalers_map_features_and_invert():
    x = np.array([[1., -5., 7.], [3., 5., 7.], [2., 0., 7.]])
    mm = MinMaxScaler().fit(x)
    assert np.allclose(mm.transform(x).min(0), [0, 0, 0]) and np.allclose(mm.transform(x).max(0), [1, 1, 0])
    sd = StandardScaler().fit(x)
    assert np.allclose(sd.transform(x).mean(0), 0) and np.allclose(sd.transform(x).std(0), [1, 1, 0])
    for s in (mm, sd): assert np.allclose(s.inverse_transform(s.transform(x)), x)

def test_scalers_work_on_windows_and_tensors():
    x = np.random.default_rng(0).normal(size=(50, 3)) * [1, 10, 100]
    w = sliding_windows(x, 5)  # (46, 5, 3)
    s = MinMaxScaler().fit(w)
    assert np.allclose(s.shift, x.min(0)) and np.allclose(s.transform(w)[:, 0], s.transform(x[:46]))
    t = torch.tensor(w, dtype=torch.float32)
    out = s.transform(t)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == t.shape
    assert torch.allclose(s.inverse_transform(out), t, atol=1e-4)

def test_scaler_errors():
    with pytest.raises(ValueError, match='MinMaxScaler is not fitted'): MinMaxScaler().transform(np.zeros((2, 2)))
    s = StandardScaler().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match='x has 2 features.*fitted on 3'): s.transform(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r'first at \[row 1, feature 0\]'): MinMaxScaler().fit([[1.], [np.nan]])
    with pytest.raises(ValueError, match='need at least one value'): MinMaxScaler().fit(np.zeros((0, 3)))

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)

@quick
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=finite),
       st.sampled_from([MinMaxScaler, StandardScaler]))
def test_scaler_inverse_property(x, cls):
    s = cls().fit(x)
    y = s.transform(x)
    assert np.isfinite(y).all()
    assert np.allclose(s.inverse_transform(y), x, rtol=1e-9, atol=1e-9 * (1 + np.abs(x).max()))
    if cls is MinMaxScaler: assert y.min() >= -1e-12 and y.max() <= 1 + 1e-12

# ---------------------------------------------------------------- series datasets

def ramp(L=40):
    return pd.DataFrame({'up': np.arange(L, dtype=float), 'sq': np.arange(L, dtype=float) ** 2, 'flat': np.full(L, 3.)})

def test_series_windows_split_and_scale():
    d = SeriesData.from_array(ramp(), window=8, split_by='timegan')
    assert (d.kind, d.window, d.n_features, d.features) == ('series', 8, 3, ['up', 'sq', 'flat'])
    assert [d.n(k) for k in SPLITS] == [26, 3, 4]  # 33 windows
    w = d.windows('train')
    assert w.shape == (26, 8, 3) and w.dtype == torch.float32 and batch_kind(w) == 'series'
    allw = torch.cat([d.windows(k) for k in SPLITS])
    assert float(allw.min()) == 0 and float(allw[..., :2].max()) == 1 and (allw[..., 2] == 0).all()
    assert isinstance(d, SeqData)

def test_series_decode_restores_original_windows():
    x = ramp()
    d = SeriesData.from_array(x, window=8, scaler='standard', seed=4, split_by='timegan')
    got = d.decode(d.windows('valid'))
    raw = sliding_windows(x.to_numpy(), 8)
    starts = got[:, 0, 0].round().astype(int)  # column 'up' is the step number
    assert np.allclose(got, raw[starts], rtol=1e-5, atol=1e-4)
    assert np.allclose(d.decode(d.windows('valid')[0]), got[0])  # one window (T, F)

def test_series_split_determinism_and_batches():
    x = ramp(100)
    shuffled = lambda seed: SeriesData.from_array(x, window=5, seed=seed, split_by='timegan')
    a, b = shuffled(7), shuffled(7)
    assert torch.equal(a.windows('test'), b.windows('test'))
    assert not torch.equal(a.windows('test'), shuffled(8).windows('test'))
    bs = list(a.batches(batch_size=16, seed=0))
    assert [t.shape for t in bs] == [(16, 5, 3)] * 4 + [(12, 5, 3)]
    assert sorted(torch.cat(bs)[:, 0, 0].tolist()) == sorted(a.windows()[:, 0, 0].tolist())
    assert torch.equal(next(a.batches(batch_size=4, shuffle=False)), a.windows()[:4])

def test_series_from_windows_and_stride():
    w = np.random.default_rng(0).random((30, 12, 2))
    d = SeriesData.from_array(w, scaler=None)
    assert d.window == 12 and sum(d.n(k) for k in SPLITS) == 30
    assert np.allclose(np.sort(torch.cat([d.windows(k) for k in SPLITS]).numpy(), 0), np.sort(w, 0), atol=1e-6)
    assert sum(SeriesData.from_array(ramp(), window=10, stride=10, split_by='timegan').n(k) for k in SPLITS) == 4
    assert SeriesData.from_array(np.sin(np.arange(50.)), window=10).features == ['x0']

def steps(d, split):
    "The set of series steps that the windows of `split` cover."
    return set((d._starts[d._splits[split]][:, None] + np.arange(d.window)).ravel().tolist())

@pytest.mark.parametrize('L,window,stride', [(60, 4, 1), (100, 5, 3), (1000, 24, 1), (57, 1, 1)])
def test_series_split_in_time_shares_no_step(L, window, stride):
    d = SeriesData.from_array(ramp(L), window=window, stride=stride)
    tr, va, te = (steps(d, k) for k in SPLITS)
    assert tr and not (tr & va) and not (tr & te) and not (va & te)
    assert max(tr) < min(va or te) and (not va or not te or max(va) < min(te))  # train, then valid, then test
    got = d.decode(d.windows('test'))[:, :, 0].round().astype(int)  # column 'up' is the step number
    assert set(got.ravel().tolist()) == te and (np.diff(got, axis=1) == 1).all()
    if stride == 1: assert sum(d.n(k) for k in SPLITS) == L - window + 1 - 2 * (window - 1)  # the cuts' windows

def test_series_split_by_checks_and_windows_are_shuffled():
    with pytest.raises(ValueError, match="split_by='random'"): SeriesData.from_array(ramp(), split_by='random')
    w = np.arange(30.)[:, None, None] + np.zeros((30, 4, 1))  # 30 separate samples, numbered
    d = SeriesData.from_array(w, scaler=None, seed=1)
    assert sorted(d.windows('train')[:, 0, 0].tolist()) != list(range(24))  # no time between samples: shuffled

def test_to_frame_is_tidy_in_original_units():
    d = SeriesData.from_array(ramp(), window=6)
    x = d.windows('train')[:3]
    f = d.to_frame(x, index=10)
    assert list(f.columns) == ['sample', 't', 'feature', 'value'] and len(f) == 3 * 6 * 3
    assert sorted(f['sample'].unique()) == [10, 11, 12] and set(f.feature) == {'up', 'sq', 'flat'}
    one = f[(f['sample'] == 11)].pivot(index='t', columns='feature', values='value')[d.features].to_numpy()
    assert np.allclose(one, d.decode(x)[1]) and (f[f.feature == 'flat'].value.round(4) == 3).all()
    assert len(d.to_frame(x[0])) == 18

@pytest.mark.parametrize('make, err, msg', [
    (lambda: SeriesData.from_array(np.zeros((0, 3))), ValueError, 'is empty'),
    (lambda: SeriesData.from_array(ramp(10), window=11), ValueError,
     r'window=11 is longer than the series \(10 steps\)'),
    (lambda: SeriesData.from_array(ramp().assign(sq=lambda d: d.sq.where(d.up != 17))), ValueError,
     r"1 NaN/inf value\(s\), the first at \[row 17, feature 'sq'\]"),
    (lambda: SeriesData.from_array(np.array([[[0., np.inf]]]), scaler=None), ValueError,
     r"\[window 0, t 0, feature 'x1'\]"),
    (lambda: SeriesData.from_array(np.zeros((2, 3, 4, 5))), ValueError, r'expected a series \(L, F\) or windows \(N, '
                                                                        r'T, F\)'),
    (lambda: SeriesData.from_array(np.zeros((30, 2)), features=['a']), ValueError, 'features has 1 names: x has 2'),
    (lambda: SeriesData.from_array(ramp().assign(day='mon')), TypeError, r"columns \['day'\] are not numeric"),
    (lambda: SeriesData.from_array(ramp(), scaler='robust'), ValueError, "scaler='robust'"),
    (lambda: SeriesData.from_array(ramp(), split=(0.9, 0.2, 0.1)), ValueError, 'summing to 1'),
    (lambda: SeriesData.from_array(ramp()).windows('dev'), ValueError, "split='dev'"),
    (lambda: SeriesData.from_array(ramp(), window=5).decode(np.zeros((2, 5, 4))), ValueError, r'expected \(B, T, 3\)'),
])
def test_series_errors(make, err, msg):
    with pytest.raises(err, match=msg): make()

# ---------------------------------------------------------------- built-in datasets

def timegan_sine_data_generation(no, seq_len, dim):
    "TimeGAN's `sine_data_generation` (data_loading.py), verbatim apart from layout."
    data = list()
    for i in range(no):
        temp = list()
        for k in range(dim):
            freq = np.random.uniform(0, 0.1)
            phase = np.random.uniform(0, 0.1)
            temp_data = [np.sin(freq * j + phase) for j in range(seq_len)]
            temp.append(temp_data)
        temp = np.transpose(np.asarray(temp))
        temp = (temp + 1) * 0.5
        data.append(temp)
    return data

def test_sine_data_equals_timegan_generator():
    np.random.seed(11)
    ref = np.stack(timegan_sine_data_generation(20, 24, 5))
    assert np.allclose(sine_data(20, 24, 5, seed=11), ref, rtol=0, atol=1e-12)

def test_sines_shape_and_range():
    d = sines()
    x = torch.cat([d.windows(k) for k in SPLITS])
    assert x.shape == (10000, 24, 5) and d.scaler is None
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    assert [d.n(k) for k in SPLITS] == [8000, 1000, 1000]
    assert sines(n=10, seq_len=8, dim=2).windows().shape == (8, 8, 2)

def test_names_builtin_matches_the_reference_split():
    d = load_dataset('names')
    assert [d.n(k) for k in SPLITS] == [23928, 2991, 2991] and len(d.vocab) == 30 and d.vocab.level == 'char'
    assert all(re.fullmatch('[a-z]{2,15}', t) for k in SPLITS for t in d.texts(k))
    # DATA.md's reference figure: a bigram with add-1 smoothing over the 27 outcomes (a-z, end) scores 2.4645 nats
    # per predicted character on the test split
    pairs = lambda rows: (np.concatenate([r[:-1] for r in rows]), np.concatenate([r[1:] for r in rows]))
    outcomes = [d.vocab.eos_id] + list(range(4, 30))
    C = np.zeros((30, 30))
    np.add.at(C, pairs(d.ids('train')), 1)
    P = (C[:, outcomes] + 1) / (C[:, outcomes] + 1).sum(1, keepdims=True)
    col = np.full(30, -1); col[outcomes] = np.arange(27)
    prev, nxt = pairs(d.ids('test'))
    assert abs(-np.log(P[prev, col[nxt]]).mean() - 2.4645) < 5e-5

def test_sentences_builtin():
    d = load_dataset('sentences')
    assert d.vocab.level == 'word' and sum(d.n(k) for k in SPLITS) == 34989
    counts = Counter(t for s in d.texts('train') for t in tokenize(s, 'word'))
    assert all(counts[t] >= 2 for t in d.vocab.itos[4:]) and len(d.vocab) == 4 + sum(c >= 2 for c in counts.values())
    assert all(5 <= len(re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)*", s)) <= 30 for s in d.texts('test'))
    b = next(d.batches(batch_size=8, seed=0))
    assert b.shape[0] == 8 and all(len(s.split()) >= 5 for s in d.decode(b))

def test_stocks_builtin_is_chronological_unless_reversed():
    d = stocks()
    assert d.features == ['Open', 'High', 'Low', 'Close', 'Adj_Close', 'Volume']
    assert sum(d.n(k) for k in SPLITS) == 3685 - 23 - 2 * 23 and isinstance(d.scaler, MinMaxScaler)
    raw = pd.read_csv(files('gmwidgets') / 'vendored' / 'stock_data.csv.gz').to_numpy()
    assert raw.shape == (3685, 6) and abs(raw[0, 0] - 49.676899) < 1e-6  # 2004-08-19, GOOG's first trading day
    whole = lambda **kw: (lambda s: s.decode(s.windows('train'))[0])(stocks(window=3685, split=(1, 0, 0), **kw))
    assert np.allclose(whole(), raw, rtol=1e-5)
    assert np.allclose(whole(reverse=True), raw[::-1], rtol=1e-5)  # TimeGAN's order

def test_energy_builtin():
    d = load_dataset('energy', window=24)
    assert d.n_features == 28 and d.features[:2] == ['Appliances', 'lights']
    assert sum(d.n(k) for k in SPLITS) == 19735 - 23 - 2 * 23

@pytest.mark.parametrize('load', [stocks, energy])
def test_real_series_test_windows_share_no_step_with_training(load):
    d = load()
    tr, va, te = (steps(d, k) for k in SPLITS)
    assert max(tr) < min(va) and max(va) < min(te) and min(te) >= 0.9 * (max(te) + 1) - 1  # test: the last 10 %
    shuffled = load(split_by='timegan')  # TimeGAN's protocol: all windows, overlapping across the splits
    assert sum(shuffled.n(k) for k in SPLITS) == sum(d.n(k) for k in SPLITS) + 2 * 23
    assert steps(shuffled, 'test') & steps(shuffled, 'train')

def test_datasets_table_lists_every_builtin():
    t = datasets()
    assert list(t.columns) == ['name', 'kind', 'size', 'description', 'source']
    assert list(t.name) == ['energy', 'names', 'sentences', 'sines', 'stocks']
    assert dict(zip(t.name, t.kind)) == dict(energy='series', names='text', sentences='text', sines='series',
                                             stocks='series')
    assert (t['size'] != '').all() and (t.source != '').all()

def test_vendored_files_are_package_data():
    try: import tomllib
    except ImportError: tomllib = pytest.importorskip('tomli')  # Python 3.10
    cfg = tomllib.loads((ROOT / 'pyproject.toml').read_text())
    globs = cfg['tool']['setuptools']['package-data']['gmwidgets']
    shipped = [p.name for p in (files('gmwidgets') / 'vendored').iterdir() if not p.name.startswith('__')]
    assert {'names.txt', 'sentences.txt.gz', 'stock_data.csv.gz', 'energy_data.csv.gz', 'SOURCES.md'} <= set(shipped)
    assert all(any(fnmatch.fnmatch(f'vendored/{n}', g) for g in globs) for n in shipped)


@pytest.mark.parametrize('scaler', [[], {}, 'robust', 3])
def test_a_scaler_that_is_not_a_name_or_a_scaler_is_named(scaler):
    with pytest.raises(ValueError, match='scaler='):
        SeriesData.from_array(np.zeros((50, 2)), window=5, scaler=scaler)
