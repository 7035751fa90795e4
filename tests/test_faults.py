"""Nothing lost under faults (issue 14): atomic files under SIGKILL and injected ENOSPC/EIO, loads that check before
they touch the model, followers that never die, interrupts that leave a run in a known state, and one test for each
numbered case of the issue."""
import _thread, errno, json, os, signal, subprocess, sys, textwrap, threading, time, warnings
import numpy as np, pytest, torch
from torch import nn
import safetensors.torch as st
from gmwidgets.core import atomic_write, load_dataset, load_model
from gmwidgets.autoregressive import RNNLM, RNNConfig
from gmwidgets.sampling import MAX_LENGTH
from gmwidgets.data import TextData
from gmwidgets.follow import HistoryWriter, Follower, follow
from gmwidgets.train import Run

from toys import Ones, Toy, until

torch.set_num_threads(1)
TEXTS = ['the cat sat', 'a dog ran', 'the red cat', 'an old dog', 'the mat'] * 4


def small_lm(hidden=16): return RNNLM(RNNConfig(vocab_size=12, emb=8, hidden=hidden, layers=1))


# ---- crash consistency: SIGKILL at random points while saving in a loop -------------------------------------------

KILL_SCRIPT = textwrap.dedent('''
    import json, os, random, signal, sys, time
    import torch
    torch.set_num_threads(1)
    from gmwidgets.core import load_model
    from gmwidgets.autoregressive import RNNLM, RNNConfig
    from gmwidgets.follow import HistoryWriter, Follower
    from gmwidgets.train import Run

    class Ones:
        def n(self, split): return 8
        def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
            return iter([torch.ones(8, 4, dtype=torch.long)])

    d, kills, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ck, mf, hf = (os.path.join(d, n) for n in ('run.pt', 'model.safetensors', 'history.jsonl'))
    cfg = RNNConfig(vocab_size=200, emb=128, hidden=256, layers=2)   # about 1.5 MB a file: a write takes a while

    def save_forever(child, ready):
        model = RNNLM(cfg); run = Run(model, Ones()); w = HistoryWriter(hf)
        w.write(0, child=child)                       # the first line of each writer: it must never be lost
        k = 0
        while True:
            k += 1
            with torch.no_grad():
                for p in model.parameters(): p.fill_(k)
            run.step_count = k; run._rows.append({'step': k, 'time': 0.1 * k, 'loss': float(k)})
            run.save(ck); model.save(mf); w.write(k, loss=float(k), child=child)
            if k == 1: os.write(ready, b'1')             # one whole round of saves is on disk

    def check():
        "Every file loads, and each is one whole save (all its weights equal its step)."
        problems = []
        try:
            run = Run.load(ck, RNNLM(cfg), Ones())
            vals = {float(v) for p in run.model.parameters() for v in p.detach().flatten()[:3]}
            if vals != {float(run.step_count)}:
                problems.append(f'run.pt mixes saves: {sorted(vals)[:4]}, step {run.step_count}')
        except Exception as e: problems.append(f'run.pt: {e!r}')
        try:
            m = load_model(mf)
            if len({float(p.detach().flatten()[0]) for p in m.parameters()}) != 1:
                problems.append('model file mixes saves')
        except Exception as e: problems.append(f'model file: {e!r}')
        try: rows = Follower(hf).read_new()
        except Exception as e: problems.append(f'history: {e!r}'); rows = []
        return problems, rows

    rng = random.Random(seed)
    survived, lost, firsts = 0, [], 0
    for i in range(kills):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try: os.close(r); save_forever(i, w)
            finally: os._exit(1)
        os.close(w)
        if os.read(r, 1) != b'1': sys.exit(f'child {i} died before its first save')
        os.close(r)
        time.sleep(rng.random() * 0.4)                # somewhere in the loop of saves
        os.kill(pid, signal.SIGKILL); os.waitpid(pid, 0)
        problems, rows = check()
        firsts = sum(1 for r in rows if r['step'] == 0)
        if problems: lost.append(problems)
        else: survived += 1
    print(json.dumps({'kills': kills, 'survived': survived, 'lost': lost, 'first_lines': firsts}))
''')


@pytest.mark.timeout(300)
def test_sigkill_while_saving_never_loses_a_file(tmp_path):
    kills = 12
    out = subprocess.run([sys.executable, '-c', KILL_SCRIPT, str(tmp_path), str(kills), '14'], capture_output=True,
                         text=True, timeout=280, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"kills survived: {res['survived']} of {res['kills']}; files lost: {len(res['lost'])}")
    assert res['lost'] == [] and res['survived'] == kills
    assert res['first_lines'] == kills   # each writer's first line survived the torn line its predecessor left


# ---- injected write errors ---------------------------------------------------------------------------------------

def fail_part_writes(monkeypatch, code):
    "Make `os.write` to a temporary `.part` file write half its bytes, then fail with `code`."
    real = os.write
    def write(fd, data):
        if os.readlink(f'/proc/self/fd/{fd}').endswith('.part'):
            real(fd, bytes(data)[:max(1, len(data) // 2)])
            raise OSError(code, os.strerror(code))
        return real(fd, data)
    monkeypatch.setattr(os, 'write', write)


@pytest.mark.parametrize('code', [errno.ENOSPC, errno.EIO])
def test_run_save_write_error_keeps_old_checkpoint(tmp_path, monkeypatch, code):
    p = tmp_path/'run.pt'
    run = Run(Toy(), Ones(), max_steps=4, batch_size=8)
    run.start().wait(10); run.save(p)
    good = p.read_bytes()
    run._rows.append({'step': 5, 'time': 1.0, 'loss': 0.5})
    fail_part_writes(monkeypatch, code)
    with pytest.raises(OSError, match='run.pt: not written .*previous file, if any, is unchanged') as e: run.save(p)
    assert e.value.errno == code
    monkeypatch.undo()
    assert p.read_bytes() == good and Run.load(p, Toy(), Ones()).step_count == 4
    assert sorted(x.name for x in tmp_path.iterdir()) == ['run.pt']  # no temporary file left behind


@pytest.mark.parametrize('code', [errno.ENOSPC, errno.EIO])
def test_model_save_write_error_keeps_old_file(tmp_path, monkeypatch, code):
    p, m = tmp_path/'m.safetensors', small_lm()
    m.save(p); good = p.read_bytes()
    def half(model, filename, metadata=None):
        open(filename, 'wb').write(b'\0' * 100)
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(st, 'save_model', half)
    with pytest.raises(OSError, match='m.safetensors: not written'): small_lm().save(p)
    monkeypatch.undo()
    assert p.read_bytes() == good and load_model(p) is not None
    assert sorted(x.name for x in tmp_path.iterdir()) == ['m.safetensors']


def test_fsync_error_keeps_old_file(tmp_path, monkeypatch):
    p = atomic_write(tmp_path/'h.csv', b'step,loss\n1,2\n')
    def fsync(fd): raise OSError(errno.EIO, 'Input/output error')
    monkeypatch.setattr(os, 'fsync', fsync)
    with pytest.raises(OSError, match='h.csv: not written'): atomic_write(p, b'step,loss\n')
    monkeypatch.undo()
    assert p.read_bytes() == b'step,loss\n1,2\n'


def test_export_history_is_atomic(tmp_path, monkeypatch):
    from gmwidgets.dashboard import TrainingDashboard
    run = Run(Toy(), Ones(), max_steps=3, batch_size=8); run.start().wait(10)
    dash = TrainingDashboard(run)
    p = dash.export_history(tmp_path/'h.csv'); good = p.read_bytes()
    fail_part_writes(monkeypatch, errno.ENOSPC)
    with pytest.raises(OSError, match='h.csv: not written'): dash.export_history(p)
    monkeypatch.undo()
    assert p.read_bytes() == good
    dash.close()


# ---- case 1: Run.save over an old checkpoint ---------------------------------------------------------------------

def test_case1_failed_save_keeps_previous_checkpoint(tmp_path):
    p = tmp_path/'run.pt'
    run = Run(Toy(), Ones(), max_steps=2, batch_size=8); run.start().wait(10); run.save(p)
    run._rows.append({'step': 3, 'time': 1.0, 'loss': lambda: 0})   # an unserialisable history value
    with pytest.raises(Exception): run.save(p)
    assert Run.load(p, Toy(), Ones()).step_count == 2


# ---- case 2: Run.load into another architecture ------------------------------------------------------------------

def test_case2_load_into_other_architecture_leaves_model_untouched(tmp_path):
    p = tmp_path/'run.pt'
    Run(small_lm(16), Ones()).save(p)
    other = small_lm(24)
    before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError, match='run.pt: config differs in'): Run.load(p, other, Ones())
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in before.items())


def test_load_checks_shapes_of_a_model_without_config(tmp_path):
    p = tmp_path/'run.pt'
    class Lin(nn.Module):
        def __init__(self, n): super().__init__(); self.a, self.b = nn.Linear(3, 3), nn.Linear(3, n)
        def loss(self, batch): return {'loss': self.b(self.a(batch.float())).sum()}
    Run(Lin(2), Ones()).save(p)
    other = Lin(5); before = {k: v.clone() for k, v in other.state_dict().items()}
    with pytest.raises(ValueError, match=r'b.weight: \(2, 3\) in the file, \(5, 3\) in the model'):
        Run.load(p, other, Ones())
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in before.items())   # 'a' was not copied either
    with pytest.raises(ValueError, match='holds a Lin, not a Toy'): Run.load(p, Toy(), Ones())


# ---- case 3: step(2.5) ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize('n', [2.5, True, '2', None])
def test_case3_step_needs_an_integer(n):
    run = Run(Toy(), Ones(), max_steps=10)
    with pytest.raises(TypeError, match='n=.*need an integer'): run.step(n)
    assert run.state == 'idle'


# ---- case 4: the extension's display of a scaled series ------------------------------------------------------------

def test_case4_scaled_series_preview_in_original_units():
    from gmwidgets.ext import dataset_preview
    data = load_dataset('stocks')
    html = dataset_preview(data)
    first = data.decode(next(iter(data.batches('train', batch_size=1, shuffle=False)))[0])  # (T, F) original units
    assert '<table' in html and f'{first[0, 0]:.4g}' in html


# ---- case 5: followers ---------------------------------------------------------------------------------------------

def test_case5_follower_survives_os_errors_and_shows_them(tmp_path, monkeypatch):
    import gmwidgets.follow as fm
    p = tmp_path/'h.jsonl'
    p.write_text('{"step": 1, "loss": 1.0}\n')
    fails = {'n': 3}
    real_open = open
    def flaky_open(path, *a, **k):
        if str(path) == str(p) and fails['n'] > 0:
            fails['n'] -= 1; raise PermissionError(errno.EACCES, 'Permission denied', str(path))
        return real_open(path, *a, **k)
    monkeypatch.setattr(fm, 'open', flaky_open, raising=False)
    f = Follower(p, poll=0.01).start()
    until(lambda: f.errors, timeout=10)
    assert 'PermissionError' in f.chart.status and f.running
    until(lambda: f.rows, timeout=10)                       # the back-off retried, the error is gone
    assert f.running and f.chart.status == '' and [r['step'] for r in f.rows] == [1]
    f.stop()


def test_case5_follower_survives_path_becoming_a_folder(tmp_path):
    p = tmp_path/'h.jsonl'
    p.write_text('{"step": 1, "loss": 1.0}\n')
    chart = follow(p, poll=0.01)
    f = chart.follower
    until(lambda: len(f.rows) == 1, timeout=10)
    p.unlink(); p.mkdir()                            # the path becomes a folder
    until(lambda: 'IsADirectoryError' in chart.status, timeout=10)
    assert f.running
    p.rmdir(); p.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "loss": 1.5}\n')
    until(lambda: len(f.rows) == 3, timeout=10)
    assert f.running and chart.status == ''
    chart.stop()


def test_case5_next_writer_ends_a_torn_line(tmp_path):
    p = tmp_path/'h.jsonl'
    p.write_text('{"step": 1, "loss": 1.0}\n{"step": 2, "lo')   # the writer died mid-line
    w = HistoryWriter(p); w.write(3, loss=0.5); w.close()
    rows = Follower(p).read_new()
    assert [r['step'] for r in rows] == [1, 3]


def test_case5_truncated_and_rewritten_larger_is_a_restart(tmp_path):
    p = tmp_path/'h.jsonl'
    p.write_text('{"step": 1, "loss": 9.0}\n{"step": 2, "loss": 8.0}\n')
    f = Follower(p)
    assert len(f.read_new()) == 2
    p.write_text(''.join(f'{{"step": {i}, "loss": {1 / i:.6f}}}\n' for i in range(1, 6)))  # a new run, larger
    assert [r['step'] for r in f.read_new()] == [1, 2, 3, 4, 5] and f.restarts == 1


# ---- case 6: sampler controls ----------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def names():
    return TextData.from_texts(['anna', 'bob', 'carl', 'dora', 'emma', 'fred', 'gina', 'hank', 'ida', 'jo'] * 3)


@pytest.mark.parametrize('controls, msg', [({'temperature': 0}, 'temperature=0'), ({'top_p': 0}, 'top_p=0'),
                                           ({'length': 0}, 'length=0'), ({'temperature': -1.0}, 'temperature=-1.0'),
                                           ({'top_k': -3}, 'top_k=-3'), ({'length': 10**7}, f'length <= {MAX_LENGTH}')])
def test_case6_sampler_refuses_what_the_model_refuses(names, controls, msg):
    from gmwidgets.sampler import SamplerWidget
    model = RNNLM.for_data(names, emb=8, hidden=8, layers=1)
    with pytest.raises(ValueError, match=msg): SamplerWidget(model, names, controls=controls)
    (k, v), = controls.items()
    with pytest.raises(ValueError, match=msg): model.sample(1, **{k: v})


def test_case6_valid_values_are_shown_as_given(names):
    from gmwidgets.sampler import SamplerWidget
    model = RNNLM.for_data(names, emb=8, hidden=8, layers=1)
    s = SamplerWidget(model, names, n=2, controls={'temperature': 8.0, 'top_p': 0.01, 'length': 300})
    assert (s.temperature.value, s.top_p.value, s.length.value) == (pytest.approx(8.0), 0.01, 300)  # (a log slider)
    assert s.control_values()['temperature'] == pytest.approx(8.0) and s.error is None
    s.close()


# ---- case 7: clear errors --------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def vae_and_words():
    from gmwidgets.vae import SentenceVAE
    words = TextData.from_texts(TEXTS, level='word')
    return SentenceVAE.for_data(words, emb=8, hidden=8, latent=2), words


def test_case7_latent_pick_out_of_range(vae_and_words):
    from gmwidgets.latent import LatentExplorer
    ex = LatentExplorer(*vae_and_words, n_map=10)
    with pytest.raises(ValueError, match='index=1000000: need 0 <= index < 2'): ex.pick(10**6)
    with pytest.raises(ValueError, match='a=-1'): ex.set_endpoints(-1, 0)
    ex.close()


def test_case7_latent_empty_split(vae_and_words):
    from gmwidgets.latent import LatentExplorer
    model, _ = vae_and_words
    tiny = TextData({'train': TEXTS, 'valid': [], 'test': []}, model.vocab)
    with pytest.raises(ValueError, match="split='test' is empty"): LatentExplorer(model, tiny)


def test_case7_corrupt_checkpoint_names_the_file(tmp_path):
    p = tmp_path/'run.pt'
    Run(Toy(), Ones()).save(p)
    p.write_bytes(p.read_bytes()[:100])               # truncated
    with pytest.raises(ValueError, match=f'{p}: not a readable Run checkpoint'): Run.load(p, Toy(), Ones())
    with pytest.raises(FileNotFoundError, match='no such checkpoint file'): Run.load(tmp_path/'nope.pt', Toy(), Ones())


def test_case7_history_writer_takes_numpy_and_torch_scalars(tmp_path):
    w = HistoryWriter(tmp_path/'h.jsonl')
    w.write(np.int64(1), loss=np.float32(1.5), kl=torch.tensor(0.25), n=np.int32(3)); w.close()
    assert json.loads((tmp_path/'h.jsonl').read_text()) == {'step': 1, 'loss': 1.5, 'kl': 0.25, 'n': 3}
    with pytest.raises(TypeError, match=r'loss=\[1, 2\]'): w.write(2, loss=[1, 2])
    with pytest.raises(TypeError, match='step='): w.write('two', loss=1.0)


@pytest.mark.parametrize('n', [1, 2, 3, 4])
def test_case7_few_texts_say_what_is_wrong(n):
    texts = ['abc', 'bcd', 'cde', 'def'][:n]
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        try: data = TextData.from_texts(texts)
        except ValueError as e:
            assert f'{n} texts with split=(0.8, 0.1, 0.1) leave the train split empty' in str(e)
            return
    empty = [k for k in ('valid', 'test') if data.n(k) == 0]
    assert empty and all(any(f'leave the {k} split empty' in str(x.message) for x in w) for k in empty)


# ---- interrupts ------------------------------------------------------------------------------------------------------

@pytest.fixture
def sigint():
    "Ctrl-C raises KeyboardInterrupt, even where SIGINT came in ignored (a shell's background job ignores it)."
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_interrupt_during_wait_leaves_the_run_running(sigint):
    run = Run(Toy(delay=0.01), Ones(), max_steps=100_000, batch_size=8).start()
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt, match='wait\\(\\) interrupted'): run.wait()
    assert run.state == 'running'
    n = run.step_count; until(lambda: run.step_count > n, timeout=10)   # still training
    run.stop(); assert run.wait(10) and run.state == 'stopped'


def test_keyboard_interrupt_inside_the_model_stops_the_run():
    class Interrupting(Toy):
        def loss(self, batch): raise KeyboardInterrupt
    run = Run(Interrupting(), Ones(), max_steps=10, batch_size=8).start()
    assert run.wait(10) and run.state == 'stopped'


def test_interrupt_during_sampler_regeneration_releases_the_run(names, sigint):
    from gmwidgets.sampler import SamplerWidget
    model = RNNLM.for_data(names, emb=8, hidden=8, layers=1)
    run = Run(model, names, max_steps=100_000, batch_size=8)
    s = SamplerWidget(model, names, run=run, n=2, debounce=0)
    old = s.samples
    real = model.sample
    def slow(n, **kw):
        for _ in range(500): time.sleep(0.01)  # a long draw, interruptible between sleeps
        return real(n, **kw)
    model.sample = slow
    run.start(); until(lambda: run.step_count > 0, timeout=10)
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt): s.regenerate()
    assert 'interrupted' in s.status.value and s.samples == old
    n = run.step_count; until(lambda: run.step_count > n, timeout=10)    # the run's lock was released: it trains on
    assert model.training                                          # and the model is back in train mode
    model.sample = real
    assert s.regenerate() is not None and s.error is None
    run.stop(); run.wait(10); s.close()
