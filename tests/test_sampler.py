("Behaviour of `SamplerWidget`: controls from the signature, debounced redraws, seeds, escaping, errors, export, "
 "locking.")
import base64, html, importlib.util, threading, time
import numpy as np, pandas as pd, pytest, torch
from gmwidgets.sampler import SamplerWidget, sample_controls, text_samples_html
from toys import until

torch.set_num_threads(1)
CHARS = 'abcdefgh'


class CharLM(torch.nn.Module):
    "A bigram model over CHARS (id 0 ends a sample) that counts its calls and records the controls it got."
    def __init__(self, delay=0.0):
        super().__init__()
        self.logits = torch.nn.Parameter(torch.randn(9, 9, generator=torch.Generator().manual_seed(0)))  # (V, V)
        self.delay, self.calls, self.seen = delay, 0, []
    @torch.no_grad()
    def sample(self, n, seed=0, temperature=1.0, top_k=None, top_p=None, length=10, prefix=''):
        self.calls += 1
        self.seen.append(dict(seed=seed, temperature=temperature, top_k=top_k, top_p=top_p, length=length,
                              prefix=prefix, training=self.training))
        time.sleep(self.delay)
        bad = sorted(set(prefix) - set(CHARS))
        if bad: raise ValueError(f"prefix {prefix!r} has unknown characters {bad}")
        g = torch.Generator().manual_seed(seed)
        ids = torch.tensor([[0] + [CHARS.index(c) + 1 for c in prefix]] * n)  # (B, T0)
        for _ in range(length):
            p = (self.logits[ids[:, -1]] / temperature).softmax(-1)  # (B, V)
            ids = torch.cat([ids, torch.multinomial(p, 1, generator=g)], 1)
        return [[i for i in r[1:]] for r in ids.tolist()]


class CharData:
    "Decodes CharLM ids (0 dropped); `train` is the training split; `hostile` maps 'a' to markup."
    kind = 'text'
    def __init__(self, train=(), hostile=False): self.train, self.hostile = set(train), hostile
    def decode(self, ids):
        out = [''.join(CHARS[i - 1] for i in r if i) for r in ids]
        return [t.replace('a', '<script>alert(1)</script>') for t in out] if self.hostile else out
    def contains(self, text): return text in self.train


class SeriesModel(torch.nn.Module):
    "A seeded random walk (n, length, 2): a diffusion-like sampler with `steps`."
    def sample(self, n, seed=0, length=6, steps=10):
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, length, 2, generator=g).cumsum(1) / steps  # (N, T, F)


@pytest.fixture
def text_sampler():
    s = SamplerWidget(CharLM(), CharData(), n=6, debounce=0.05)
    yield s
    s.close()


# --- controls follow the signature

def test_controls_follow_signature():
    class OnlySeed:
        def sample(self, n, seed=None): return [[1]] * n
    class Diffusion:
        def sample(self, n, seed=0, steps=100, length=24): return torch.zeros(n, length, 1)
    test_cases = [(CharLM(), ['seed', 'temperature', 'top_k', 'top_p', 'length', 'prefix']),
                  (OnlySeed(), ['seed']), (Diffusion(), ['seed', 'length', 'steps'])]
    for model, names in test_cases: assert list(sample_controls(model)) == names
    s = SamplerWidget(OnlySeed(), debounce=0.01)
    assert list(s.controls) == ['seed'] and s.temperature is None and s.prefix is None and s.steps is None


def test_series_length_defaults_to_data_window():
    class Walk:
        def sample(self, n, seed=0, length=None): return torch.zeros(n, length or 99, 1)
    data = type('D', (), {'kind': 'series', 'window': 24})()
    s = SamplerWidget(Walk(), data=data, debounce=0.01)
    assert s.length.value == 24
    s.close()


def test_series_controls_take_model_defaults():
    class Diffusion:
        def sample(self, n, seed=0, steps=100, length=24, prefix=None): return torch.zeros(n, length, 1)
    s = SamplerWidget(Diffusion(), data=type('D', (), {'kind': 'series'})(), debounce=0.01)
    assert list(s.controls) == ['seed', 'length', 'steps']  # no text box for a series prefix
    assert s.steps.value == 100 and s.length.value == 24  # the model's defaults
    s.close()


def test_initial_values_and_unknown_controls():
    s = SamplerWidget(CharLM(), CharData(), controls={'temperature': 0.5, 'top_k': 3})
    assert s.temperature.value == pytest.approx(0.5) and s.top_k.value == 3
    assert s.control_values() == {'seed': 0, 'temperature': pytest.approx(0.5), 'top_k': 3, 'top_p': 1.0, 'length': 10}
    s.close()
    with pytest.raises(ValueError, match=r"controls \['beam'\]"): SamplerWidget(CharLM(), controls={'beam': 4})


def test_off_values_left_out(text_sampler):
    s = text_sampler
    assert 'top_k' not in s.control_values() and 'prefix' not in s.control_values()
    s.top_k.value, s.prefix.value = 4, 'ab'
    assert s.control_values()['top_k'] == 4 and s.control_values()['prefix'] == 'ab'


# --- redraws

def test_control_change_redraws_after_debounce(text_sampler):
    s = text_sampler
    before, calls = s.view.value, s.model.calls
    s.temperature.value = 3.0
    assert until(lambda: s.view.value != before), "samples did not change after moving the temperature"
    assert s.model.calls == calls + 1 and s.model.seen[-1]['temperature'] == pytest.approx(3.0)


def test_rapid_changes_coalesce():
    s = SamplerWidget(CharLM(), CharData(), n=6, debounce=0.2)
    calls = s.model.calls
    for l in range(2, 12): s.length.value = l; time.sleep(0.01)
    assert until(lambda: s.model.seen[-1]['length'] == 11)
    time.sleep(0.3)
    assert s.model.calls <= calls + 2, (f"{s.model.calls - calls} draws for a burst of 10 changes: expected the first "
                                        "and the last")
    assert s.model.seen[-1]['length'] == 11 and all(len(t) <= 11 for t in s.samples)
    assert any(len(t) > 2 for t in s.samples)  # the last draw is what is shown, not the first (length 2)
    s.close()


def test_lone_change_drawn_without_waiting_for_debounce():
    s = SamplerWidget(CharLM(), CharData(), n=6, debounce=2.0)
    t0 = time.monotonic(); s.seed.value = 9
    assert until(lambda: s.model.seen[-1]['seed'] == 9 and s.timing, timeout=1.5)
    assert time.monotonic() - t0 < 1.0, 'a lone change waited for the debounce timer'
    s.close()


def test_change_does_not_block_the_caller():
    s = SamplerWidget(CharLM(delay=0.4), CharData(), debounce=0.02)
    t0 = time.perf_counter(); s.seed.value = 5; dt = time.perf_counter() - t0
    assert dt < 0.1, f"setting a control took {dt:.2f} s: the draw ran on the caller's thread"
    assert until(lambda: s.model.seen[-1]['seed'] == 5 and s.timing.get('sample_ms', 0) > 300)
    s.close()


def test_dice_picks_new_seed_and_samples(text_sampler):
    s = text_sampler
    seed, samples = s.seed.value, s.samples
    s.dice_button.click()
    assert s.seed.value != seed
    assert until(lambda: s.samples != samples)


def test_same_seed_same_samples(text_sampler):
    s = text_sampler
    s.seed.value = 7; a = s.regenerate()
    s.seed.value = 8; b = s.regenerate()
    s.seed.value = 7; c = s.regenerate()
    assert a == c and a != b and len(a) == 6


def test_n_controls_sample_count(text_sampler):
    s = text_sampler
    s.n.value = 3
    assert len(s.regenerate()) == 3 and s.view.value.count('<li>') == 3


# --- what is shown

def test_html_escapes_samples():
    s = SamplerWidget(CharLM(), CharData(hostile=True), n=20, debounce=0.01)
    assert any('<script>' in t for t in s.samples)  # the decoded text really holds markup
    assert '<script>' not in s.view.value and '&lt;script&gt;' in s.view.value
    assert '<script>' not in s.download.value
    s.close()
    h = text_samples_html(['<b onclick="x">&amp;</b>'])
    assert '<b ' not in h and '&lt;b onclick=&quot;x&quot;&gt;&amp;amp;&lt;/b&gt;' in h


def test_novelty_marks():
    s = SamplerWidget(CharLM(), n=8, debounce=0.01, data=CharData())
    s.data.train = {s.samples[0]}  # the first sample is "in the training set"
    s.regenerate()
    f = s.to_frame()
    assert f.novel.tolist() == [t != s.samples[0] for t in s.samples]
    assert s.view.value.count('>seen<') == (~f.novel).sum() and s.view.value.count('>new<') == f.novel.sum()
    s.close()


def test_error_shown_and_old_samples_kept(text_sampler):
    s = text_sampler
    old, old_html = s.regenerate(), s.view.value
    s.prefix.value = 'a<z'
    assert until(lambda: s.error is not None), "bad prefix gave no error"
    assert isinstance(s.error, ValueError) and 'unknown characters' in s.status.value
    assert '&lt;' in s.status.value and 'a<z' not in s.status.value  # the message is escaped too
    assert s.samples == old and s.view.value == old_html
    s.prefix.value = 'ab'
    assert until(lambda: s.error is None)
    assert all(t.startswith('ab') for t in s.samples) and 'samples in' in s.status.value


def test_error_before_any_sample():
    s = SamplerWidget(CharLM(), CharData(), controls={'prefix': 'xyz'}, debounce=0.01)
    assert s.samples is None and isinstance(s.error, ValueError) and "['x', 'y', 'z']" in html.unescape(s.status.value)
    with pytest.raises(ValueError, match='no samples yet'): s.to_frame()
    s.close()


# --- export

def data_url_text(a):
    return base64.b64decode(a.split('base64,')[1].split('"')[0]).decode()


def test_export_text(text_sampler):
    s = text_sampler
    s.regenerate()
    f = s.to_frame()
    assert list(f.columns) == ['sample', 'text', 'novel'] and f.text.tolist() == s.samples
    assert 'download="samples.txt"' in s.download.value
    assert data_url_text(s.download.value).splitlines() == s.samples


needs_vegachart = pytest.mark.skipif(importlib.util.find_spec('gmwidgets.livechart') is None,
                                     reason='gmwidgets.livechart (VegaChart) not written yet')


@needs_vegachart
def test_export_series_without_data():
    s = SamplerWidget(SeriesModel(), n=3, debounce=0.01)
    assert list(s.controls) == ['seed', 'length', 'steps'] and s.kind == 'series'
    assert isinstance(s.samples, np.ndarray) and s.samples.shape == (3, 6, 2)
    f = s.to_frame()
    assert list(f.columns) == ['sample', 't', 'feature', 'value'] and len(f) == 3 * 6 * 2
    csv = pd.read_csv(pd.io.common.StringIO(data_url_text(s.download.value)))
    assert 'download="samples.csv"' in s.download.value and np.allclose(csv.value, f.value)
    assert len(s.chart.children) == 1
    s.close()


@needs_vegachart
def test_series_chart_updated_in_place():
    s = SamplerWidget(SeriesModel(), n=2, debounce=0.01)
    chart, spec = s.chart.children[0], s.chart.children[0].spec
    s.seed.value = 3; s.regenerate()
    assert s.chart.children == (chart,) and chart.spec != spec  # one chart, its spec replaced
    s.close()


@needs_vegachart
def test_series_with_data_overlays_real_windows():
    from gmwidgets.data import SeriesData
    t = np.arange(300)
    data = SeriesData.from_array(np.stack([np.sin(t / 7), 100 + 10 * np.cos(t / 3)], 1), window=6)
    s = SamplerWidget(SeriesModel(), data, n=3, debounce=0.01)
    assert s.length.value == 6
    f = s.to_frame()
    assert np.allclose(s.samples, data.decode(s.raw))  # original units
    assert f.value.max() > 50  # the second feature is back near 100
    rows = s.chart.children[0].spec
    values = [r for d in rows.get('datasets', {}).values() for r in d]
    assert {r['kind'] for r in values} == {'synthetic', 'real'}
    assert sum(r['kind'] == 'real' for r in values) == 3 * 6 * 2
    s.close()


# --- training runs

class FakeRun:
    "Just the part of a Run the sampler uses: its lock."
    def __init__(self): self.lock = threading.RLock()


def test_samples_under_run_lock_in_eval_mode():
    run, model = FakeRun(), CharLM()
    held = []
    orig = model.sample
    def sample(n, **kw):  # same signature as far as the sampler can see: wrap and record whether the lock is held
        held.append(run.lock._is_owned()); return orig(n, **kw)
    model.sample = sample
    model.sample.__signature__ = __import__('inspect').signature(orig)
    model.train()
    s = SamplerWidget(model, CharData(), run=run, debounce=0.01)
    # eval while sampling, train mode restored
    assert held == [True] and model.seen[-1]['training'] is False and model.training
    with run.lock:  # a training step in progress: the debounced draw waits for it
        s.seed.value = 4
        time.sleep(0.15)
        assert len(held) == 1
    assert until(lambda: len(held) == 2)
    s.close()


NAMES = ['anna', 'bob', 'cleo', 'dan', 'eve', 'finn', 'gus', 'hana', 'ida', 'jon', 'kai', 'lena', 'max', 'nina',
         'otto', 'pia']


class TinyNames:
    ("A stand-in for `gmwidgets.data.TextData` (char level; ids 0-3 are <pad> <bos> <eos> <unk>), enough for RNNLM "
     "and Run.")
    kind = 'text'
    def __init__(self):
        self.itos = ['<pad>', '<bos>', '<eos>', '<unk>'] + sorted(set(''.join(NAMES)))
        self.vocab = type('Vocab', (),
                          dict(stoi={c: i for i, c in enumerate(self.itos)}, pad_id=0, bos_id=1, eos_id=2, unk_id=3,
                                            __len__=lambda v: len(self.itos)))()
    def decode(self, ids): return [''.join(self.itos[i] for i in r if i > 3) for r in ids]
    def contains(self, text): return text in NAMES
    def n(self, split='train'): return len(NAMES)
    def batches(self, split='train', batch_size=64, shuffle=True, seed=None):
        rows = [[1] + [self.vocab.stoi[c] for c in t] + [2] for t in NAMES]
        T = max(map(len, rows))
        yield torch.tensor([r + [0] * (T - len(r)) for r in rows])  # (B, T): one batch an epoch


def test_rnnlm_text_sampler():
    ar = pytest.importorskip('gmwidgets.autoregressive', reason='gmwidgets.autoregressive not written yet')
    data = TinyNames()
    model = ar.RNNLM.for_data(data, hidden=32, emb=16, layers=1)
    s = SamplerWidget(model, data, n=5, controls={'seed': 1, 'length': 12}, debounce=0.01)
    assert list(s.controls) == ['seed', 'temperature', 'top_k', 'top_p', 'length', 'prefix']
    s.prefix.value, s.top_k.value, s.top_p.value = 'an', 3, 0.9
    assert all(t.startswith('an') for t in s.regenerate()) and s.error is None
    s.prefix.value = 'a!'
    s.regenerate()
    assert isinstance(s.error, ValueError) and all(t.startswith('an') for t in s.samples)
    s.close()


def test_with_running_training():
    train = pytest.importorskip('gmwidgets.train', reason='gmwidgets.train (Run) not written yet')
    ar = pytest.importorskip('gmwidgets.autoregressive', reason='gmwidgets.autoregressive not written yet')
    data = TinyNames()
    model = ar.RNNLM.for_data(data, hidden=64, emb=16, layers=1, dropout=0.0)
    run = train.Run(model, data, lr=1e-2, max_steps=100_000)
    orig, torn = model.sample, []
    def sample(n, **kw):  # record whether the weights changed while a sample was drawn
        w0 = model.head.weight.clone() if hasattr(model, 'head') else next(model.parameters()).clone()
        out = orig(n, **kw)
        w1 = model.head.weight if hasattr(model, 'head') else next(model.parameters())
        torn.append(not torch.equal(w0, w1))
        return out
    sample.__signature__ = __import__('inspect').signature(orig)
    model.sample = sample
    s = SamplerWidget(model, data, run=run, n=4, controls={'length': 24}, debounce=0.01)
    run.start()
    try:
        assert until(lambda: run.step_count >= 3)
        steps = []
        for seed in range(1, 7):
            s.seed.value = seed
            assert until(lambda: len(torn) >= seed + 1), 'no redraw while training'
            steps.append(run.step_count)
        assert steps[-1] > steps[0], 'training did not advance while sampling'
        assert until(lambda: s.seed.value == 6 and 'samples in' in s.status.value)
        assert not any(torn), 'weights changed during a draw: the sampler did not hold run.lock'
        assert s.error is None and run.error is None and run.state == 'running' and model.training
    finally:
        run.stop(); run.wait(10)
        s.close()


# --- denoising steps (models whose sample takes return_path)

class PathModel(torch.nn.Module):
    ("A diffusion-like sampler: seeded noise (the path's first state) moved linearly to a seeded walk (its last); "
     "counts calls.")
    def __init__(self): super().__init__(); self.calls = 0
    def sample(self, n, seed=0, steps=10, return_path=False):
        self.calls += 1
        g = torch.Generator().manual_seed(seed)
        noise = 3 * torch.randn(n, 6, 2, generator=g)  # (N, T, F): wider than the samples, as x_T is
        x = 0.5 + torch.randn(n, 6, 2, generator=g).cumsum(1) / 10  # (N, T, F)
        w = torch.linspace(0, 1, steps + 1)[:, None, None, None]
        path = (1 - w) * noise + w * x  # (S + 1, N, T, F)
        return (x, path) if return_path else x

    def noise(self, n, seed=0):
        g = torch.Generator().manual_seed(seed)
        return 3 * torch.randn(n, 6, 2, generator=g)


def synthetic_rows(s):
    "The synthetic rows of the spec the sampler's chart shows."
    (rows,) = s.chart.children[0].spec['datasets'].values()
    return [r for r in rows if r.get('kind') == 'synthetic']


def all_widgets(w):
    "`w` and every widget under it."
    out, todo = [], [w]
    while todo:
        x = todo.pop(); out.append(x); todo.extend(getattr(x, 'children', ()))
    return out


@needs_vegachart
def test_step_slider_only_for_path_models():
    plain, path = SamplerWidget(SeriesModel(), n=2, debounce=0.01), SamplerWidget(PathModel(), n=2, debounce=0.01)
    assert not plain.has_path and plain.denoise_step is None and plain.denoise_play is None
    assert len(plain.children) == 5 and not any(isinstance(w,
                                                           (__import__('ipywidgets').Play)) for w in all_widgets(plain))
    assert path.has_path and path.denoise_step in all_widgets(path) and path.denoise_play in all_widgets(path)
    assert list(path.controls) == ['seed', 'steps']  # return_path is not a control
    assert path._play_link.source == (path.denoise_play, 'value') and path._play_link.target == (path.denoise_step,
                                                                                                 'value')
    assert path._path_row.layout.display is None  # shown once a path arrived
    plain.close(); path.close()


@needs_vegachart
def test_moving_step_changes_chart_without_sampling():
    m = PathModel()
    s = SamplerWidget(m, n=3, controls={'steps': 8}, debounce=0.01)
    assert m.calls == 1 and s.denoise_step.max == 8 and s.denoise_step.value == 8
    last = synthetic_rows(s)
    s.denoise_step.value = 4
    mid = synthetic_rows(s)
    s.denoise_play.value = 0  # the play button drives the same slider in the page; in the kernel: the slider itself
    s.denoise_step.value = 0
    first = synthetic_rows(s)
    time.sleep(0.05)
    assert m.calls == 1, 'moving the step slider sampled again'
    assert len(last) == len(mid) == len(first) == 3 * 6 * 2
    values = lambda rows: [r['value'] for r in rows]
    assert values(mid) != values(last) and values(first) != values(mid)
    label = s.denoise_label.value
    assert 'step 0 of 8' in label and 'x_t' in label and 'pure noise' in label
    assert s.timing['step_ms'] > 0
    s.close()


@needs_vegachart
def test_last_step_is_samples_first_is_noise():
    m = PathModel()
    s = SamplerWidget(m, n=3, controls={'seed': 5, 'steps': 8}, debounce=0.01)
    assert np.array_equal(s.path[-1], s.raw.numpy()) and np.array_equal(s.path[0], m.noise(3, seed=5).numpy())
    assert list(s.path_steps) == list(range(9))
    shown_last = synthetic_rows(s)  # the slider starts on the last step: the chart shows the samples
    assert np.allclose([r['value'] for r in shown_last], s.to_frame().value)
    assert np.allclose(s.step_frame(-1).value, s.to_frame().value)
    s.denoise_step.value = 0  # the noise, clipped per feature to the range of the samples on show
    lo, hi = s.samples.min((0, 1)), s.samples.max((0, 1))  # (F,)
    assert np.allclose(s.step_frame(0).value, np.clip(m.noise(3, seed=5).numpy(), lo, hi).ravel())
    assert np.allclose([r['value'] for r in synthetic_rows(s)], s.step_frame(0).value)
    assert (np.abs(m.noise(3, seed=5).numpy()) > hi.max()).any()  # the clip did something
    s.close()


@needs_vegachart
def test_new_generation_resets_to_last_step():
    m = PathModel()
    s = SamplerWidget(m, n=2, controls={'steps': 8}, debounce=0.01)
    s.denoise_step.value = 2
    s.steps.value = 4
    assert until(lambda: m.calls == 2 and s.denoise_step.max == 4)
    assert s.denoise_step.value == 4 and s.denoise_play.max == 4 and s.path.shape[0] == 5
    assert np.allclose([r['value'] for r in synthetic_rows(s)], s.to_frame().value)
    s.close()


@needs_vegachart
def test_path_memory_bounded():
    s = SamplerWidget(PathModel(), n=2, controls={'steps': 1000}, path_frames=11, debounce=0.01)
    assert s.path.shape == (11, 2, 6, 2) and s.path.dtype == np.float32
    assert list(s.path_steps) == list(range(0, 1001, 100))
    assert '11 of 1001 steps kept' in s.denoise_label.value
    s.denoise_step.value = 1
    assert 'step 100 of 1000' in s.denoise_label.value
    s.close()


def test_path_frames_caps():
    from gmwidgets.sampler import path_frames
    assert list(path_frames(10, 6)) == list(range(11))
    assert list(path_frames(100, 10, max_frames=101, max_values=50)) == [0, 25, 50, 75, 100]  # 5 states of 10 floats
    assert list(path_frames(100, 10**9)) == [0, 100]  # noise and samples, whatever the cap


@needs_vegachart
def test_diffusion_path_from_noise_to_samples():
    diffusion = pytest.importorskip('gmwidgets.diffusion', reason='gmwidgets.diffusion not written yet')
    from gmwidgets.data import SeriesData
    t = np.arange(300)
    data = SeriesData.from_array(np.stack([np.sin(t / 7), 100 + 10 * np.cos(t / 3)], 1), window=8)
    torch.manual_seed(0)
    model = diffusion.Diffusion(2, length=8, hidden=8, blocks=1, timesteps=30)
    s = SamplerWidget(model, data, n=3, controls={'seed': 2, 'steps': 10}, debounce=0.01)
    x, path = model.sample(3, seed=2, steps=10, return_path=True)
    assert list(s.controls) == ['seed', 'steps'] and s.error is None
    assert np.array_equal(s.path[0], path[0].numpy()) and np.array_equal(s.path[-1], x.numpy())
    assert np.allclose(s.step_frame(-1).value, s.to_frame().value)  # original units
    s.denoise_step.value = 0
    rows = synthetic_rows(s)
    assert np.allclose([r['value'] for r in rows], s.step_frame(0).value) and max(r['value'] for r in rows) > 50
    s.close()


@needs_vegachart
def test_bad_path_shown_as_error_and_old_path_kept():
    m = PathModel()
    s = SamplerWidget(m, n=2, controls={'steps': 4}, debounce=0.01)
    good, step = s.path.copy(), s.denoise_step.value
    orig = m.sample
    m.sample = lambda n, seed=0, steps=10, return_path=False: (orig(n, seed, steps, True)[0],
                                                               torch.zeros(steps + 1, n, 5, 2))
    s.seed.value = 3; s.regenerate()
    assert isinstance(s.error, ValueError) and 'path of shape (5, 2, 5, 2)' in html.unescape(s.status.value)
    assert np.array_equal(s.path, good) and s.denoise_step.value == step
    m.sample = lambda n, seed=0, steps=10, return_path=False: orig(n, seed, steps)  # ignores return_path
    s.seed.value = 4; s.regenerate()
    assert isinstance(s.error, TypeError) and 'expected (samples, path)' in s.status.value and np.array_equal(s.path,
                                                                                                              good)
    s.close()
