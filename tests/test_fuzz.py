"""Fuzz tier (hypothesis) over the public constructors and controls: every input either works or raises a
`TypeError`/`ValueError` that names the argument; never a bare IndexError/AttributeError, a hang or a dead thread.
Widgets take exactly the control values the models take (one rule, `check_controls`)."""
import math, tempfile, time, warnings
from pathlib import Path
import numpy as np, pytest, torch
from hypothesis import given, settings, HealthCheck, strategies as st
from gmwidgets.autoregressive import RNNLM
from gmwidgets.sampling import check_controls
from gmwidgets.data import TextData, SeriesData
from gmwidgets.follow import Follower, HistoryWriter
from gmwidgets.train import Run
from toys import Ones, Toy

torch.set_num_threads(1)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CASES = {'n': 0}  # hypothesis examples run in this module, printed at the end


@pytest.fixture(scope='module', autouse=True)
def count_cases():
    yield
    print(f"\nfuzz: {CASES['n']} cases run")


# any value a user might type: numbers of every kind, strings, containers, None
ANY = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                st.text(max_size=4), st.lists(st.integers(0, 3), max_size=2), st.just(np.float32(0.5)),
                st.just(np.int64(3)))


def works_or_names(f, *names):
    "Call `f`: fine, or a TypeError/ValueError whose message names one of `names`. Returns 'ok' or 'refused'."
    CASES['n'] += 1
    try: f()
    except (TypeError, ValueError) as e:
        assert any(n in str(e) for n in names), f"{type(e).__name__}: {e} names none of {names}"
        return 'refused'
    return 'ok'


@pytest.fixture(scope='module')
def names():
    return TextData.from_texts(['anna', 'bob', 'carl', 'dora', 'emma', 'fred', 'gina', 'hank', 'ida', 'jo'] * 3)


@pytest.fixture(scope='module')
def lm(names): return RNNLM.for_data(names, emb=8, hidden=8, layers=1)


CONTROL_VALUES = {'temperature': st.one_of(ANY, st.floats(1e-3, 50)), 'top_k': st.one_of(ANY, st.integers(-3, 30)),
                  'top_p': st.one_of(ANY, st.floats(-0.5, 1.5)),
                  'length': st.one_of(ANY, st.integers(-3, 40), st.just(10**7)),
                  'seed': st.one_of(ANY, st.integers(-5, 2**64))}


# ---- controls: the models and the widgets -------------------------------------------------------------------------

@FAST
@given(st.sampled_from(sorted(CONTROL_VALUES)).flatmap(lambda k: st.tuples(st.just(k), CONTROL_VALUES[k])))
def test_model_sample_controls(lm, kv):
    k, v = kv
    works_or_names(lambda: lm.sample(2, **{k: v}), k)


@FAST
@given(st.sampled_from(sorted(CONTROL_VALUES)).flatmap(lambda k: st.tuples(st.just(k), CONTROL_VALUES[k])))
def test_sampler_takes_what_the_model_takes(lm, names, kv):
    "One rule: the widget refuses a control value exactly when the model refuses it, and shows it as given."
    from gmwidgets.sampler import SamplerWidget
    k, v = kv
    if v is None: return  # None in a sampler's `controls` means the model's default (RNNLM has no None length)
    model_says = works_or_names(lambda: lm.sample(1, **{k: v}), k)
    box = {}
    widget_says = works_or_names(lambda: box.setdefault('w', SamplerWidget(lm, names, n=1, controls={k: v})), k)
    assert widget_says == model_says, (k, v, model_says, widget_says)
    if 'w' in box:
        w = box['w']
        assert getattr(w, k).value == pytest.approx(v) and w.error is None
        w.close()


@FAST
@given(n=ANY, debounce=ANY, path_frames=ANY)
def test_sampler_arguments(lm, names, n, debounce, path_frames):
    from gmwidgets.sampler import SamplerWidget
    box = {}
    works_or_names(lambda: box.setdefault('w',
                                          SamplerWidget(lm, names, n=n, debounce=debounce, path_frames=path_frames)),
                   'n=', 'debounce', 'path_frames')
    if 'w' in box: box['w'].close()


@FAST
@given(temperature=ANY, top_k=ANY, top_p=ANY, length=ANY, seed=ANY, steps=ANY)
def test_check_controls(temperature, top_k, top_p, length, seed, steps):
    works_or_names(lambda: check_controls(temperature, top_k, top_p, length, seed, steps),
                   'temperature', 'top_k', 'top_p', 'length', 'seed', 'steps')


# ---- the latent explorer ------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def vae_words():
    from gmwidgets.vae import SentenceVAE
    words = TextData.from_texts(['the cat sat', 'a dog ran', 'the red cat', 'an old dog', 'the mat'] * 4, level='word')
    return SentenceVAE.for_data(words, emb=8, hidden=8, latent=2), words


@pytest.fixture(scope='module')
def explorer(vae_words):
    from gmwidgets.latent import LatentExplorer
    ex = LatentExplorer(*vae_words, n_map=10)
    yield ex
    ex.close()


@FAST
@given(index=ANY, a=st.one_of(ANY, st.integers(-3, 5)), b=st.one_of(ANY, st.integers(-3, 5)))
def test_latent_pick_and_endpoints(explorer, index, a, b):
    works_or_names(lambda: explorer.pick(index), 'index')
    works_or_names(lambda: explorer.set_endpoints(a, b), 'a=', 'b=')


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split=st.one_of(ANY, st.sampled_from(['train', 'valid', 'test'])), n_map=st.one_of(ANY, st.integers(-1, 5)),
       steps=st.one_of(ANY, st.integers(0, 4)), seed=ANY, map_method=st.one_of(ANY, st.sampled_from(['pca', 'dims'])),
       controls=st.dictionaries(st.sampled_from(['temperature', 'top_k', 'length']), ANY, max_size=1))
def test_latent_explorer_arguments(vae_words, split, n_map, steps, seed, map_method, controls):
    from gmwidgets.latent import LatentExplorer
    box = {}
    works_or_names(lambda: box.setdefault('x',
                                          LatentExplorer(*vae_words, split=split, n_map=n_map, steps=steps, seed=seed,
                                                              map_method=map_method, decode_controls=controls)),
                   'split', 'n_map', 'steps', 'seed', 'map_method', *controls)
    if 'x' in box: box['x'].close()


# ---- data constructors --------------------------------------------------------------------------------------------

SPLIT = st.one_of(ANY, st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.floats(-1, 1)), st.just((0.8, 0.1, 0.1)))


@FAST
@given(texts=st.one_of(ANY, st.lists(st.one_of(st.text(max_size=6), st.integers()), max_size=6)),
       level=st.one_of(ANY, st.sampled_from(['char', 'word'])), split=SPLIT, seed=st.integers(0, 5),
       max_len=st.one_of(st.none(), st.integers(-1, 5)))
def test_text_data(texts, level, split, seed, max_len):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # a few texts may leave valid/test empty: a warning, tested in test_faults
        works_or_names(lambda: TextData.from_texts(texts, level=level, split=split, seed=seed, max_len=max_len),
                       'texts', 'level', 'split', 'max_len')


@FAST
@given(shape=st.tuples(st.integers(0, 30), st.integers(0, 3)), nan=st.booleans(),
       window=st.one_of(ANY, st.integers(-1, 40)),
       stride=st.one_of(ANY, st.integers(-1, 5)), scaler=st.one_of(ANY, st.sampled_from(['minmax', 'standard'])),
       split=SPLIT)
def test_series_data(shape, nan, window, stride, scaler, split):
    x = np.random.default_rng(0).normal(size=shape)
    if nan and x.size: x[0, 0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        works_or_names(lambda: SeriesData.from_array(x, window=window, stride=stride, scaler=scaler, split=split),
                       'x ', 'x has', 'window', 'stride', 'scaler', 'split', 'series', 'windows', 'features')


# ---- Run arguments and controls --------------------------------------------------------------------------------------

RUN_FIELDS = ['lr', 'optimizer', 'weight_decay', 'batch_size', 'max_steps', 'epochs', 'grad_clip', 'schedule', 'warmup',
              'eval_every', 'eval_batches', 'seed', 'num_threads', 'name']


@FAST
@given(field=st.sampled_from(RUN_FIELDS), value=ANY, n=st.one_of(ANY, st.integers(-2, 3)))
def test_run_arguments_and_step(field, value, n):
    box = {}
    works_or_names(lambda: box.setdefault('r', Run(Toy(), Ones(16), **{field: value})), field)
    run = box.get('r') or Run(Toy(), Ones(16), max_steps=2)
    if works_or_names(lambda: run.step(n), 'n=') == 'ok':   # it trains, then stops when asked: never wedged
        t = time.monotonic()
        while run.state == 'running' and run.step_count < min(n, 2) and time.monotonic() - t < 10: time.sleep(0.01)
        assert run.state != 'running' or run.step_count >= min(n, 2), (run.state, run.step_count)
        run.stop()
        assert run.wait(10) and run.state in ('stopped', 'finished', 'failed'), run.state


# ---- LiveLoss.log --------------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def liveloss():
    from gmwidgets.livechart import LiveLoss
    d = LiveLoss()
    yield d
    d.close()


@FAST
@given(step=st.one_of(st.none(), ANY), name=st.text(min_size=1, max_size=5),
       value=st.one_of(ANY, st.just(torch.tensor(0.5)),
                                                                                         st.just(torch.ones(2))))
def test_liveloss_log(liveloss, step, name, value):
    works_or_names(lambda: liveloss.log(step, **{name: value}), 'step', name)


# ---- follow and the history writer ----------------------------------------------------------------------------------

@FAST
@given(path=st.one_of(ANY, st.just('h.jsonl')), poll=st.one_of(ANY, st.floats(1e-3, 1)),
       chart=st.one_of(st.none(), ANY))
def test_follower_arguments(path, poll, chart):
    works_or_names(lambda: Follower(path, chart=chart, poll=poll), 'path', 'poll', 'chart')


@FAST
@given(value=st.one_of(ANY, st.just(np.float32(1.5)), st.just(torch.tensor(2.0)), st.just(np.ones(3)),
                       st.just(object())),
       step=st.one_of(ANY, st.integers(0, 10)))
def test_history_writer_values(value, step):
    with tempfile.TemporaryDirectory() as d:
        w = HistoryWriter(Path(d)/'h.jsonl')
        works_or_names(lambda: w.write(step, loss=value), 'loss', 'step')
        w.close()


FILE_OPS = st.lists(st.one_of(st.binary(max_size=40),
                              st.sampled_from([b'{"step": 1, "loss": 1}\n', 'truncate', 'delete',
                                                                         'folder', 'rewrite'])), max_size=8)


def apply(op, p: Path):
    "Do one file operation to `p` (bytes are appended)."
    if p.is_dir() and op != 'folder': p.rmdir()
    if op == 'truncate': p.write_bytes(b'')
    elif op == 'delete': p.unlink(missing_ok=True)
    elif op == 'folder':
        if not p.is_dir(): p.unlink(missing_ok=True); p.mkdir()
    elif op == 'rewrite': p.write_bytes(b'{"step": 1, "loss": 2}\n{"step": 2, "loss": 1}\n{"step": 3, "loss": 0.5}\n')
    else:
        with open(p, 'ab') as f: f.write(op)


@FAST
@given(ops=FILE_OPS)
def test_follower_polls_never_raise(ops):
    "Whatever happens to the file between polls, a poll returns a delay and rows are well formed."
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'h.jsonl'
        f = Follower(p, poll=0.01)
        for op in ops:
            CASES['n'] += 1
            apply(op, p)
            assert 0 < f.poll_once() <= 5.0
            assert all(isinstance(r['step'], (int, float)) and math.isfinite(r['step']) for r in f.rows)
        f.chart.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=FILE_OPS)
def test_follower_thread_never_dies(ops):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d)/'h.jsonl'
        f = Follower(p, poll=0.005).start()
        for op in ops:
            CASES['n'] += 1
            apply(op, p); time.sleep(0.01)
            assert f.running
        if p.is_dir(): p.rmdir()
        p.write_bytes(b'\n{"step": 99, "loss": 1}\n')   # a fresh file after everything: it is read
        t = time.monotonic()
        while not any(r['step'] == 99 for r in f.rows) and time.monotonic() - t < 10: time.sleep(0.01)
        assert f.running and any(r['step'] == 99 for r in f.rows)
        f.stop(); f.chart.close()
