("Behaviour of `gmwidgets.train.Run`: controls, limits, evaluation, errors, NaN handling, callbacks, checkpoints, "
 "train_step.")
import math, threading, time, warnings
import pytest, torch
from gmwidgets.train import Run, RunError
from toys import until

torch.set_num_threads(1)


class Counting:
    "Token sequences counting up modulo `V` (the `SeqData` protocol: `batches`, `n`, `decode`)."
    kind = 'text'
    def __init__(self, n=96, T=12, V=7, seed=0):
        g = torch.Generator().manual_seed(seed)
        x = (torch.randint(0, V, (n, 1), generator=g) + torch.arange(T)) % V  # (N, T)
        self.splits = dict(train=x[:64], valid=x[64:80], test=x[80:])
    def n(self, split): return len(self.splits[split])
    def batches(self, split='train', batch_size=64, shuffle=True, seed=None):
        x = self.splits[split]
        g = torch.Generator().manual_seed(seed) if seed is not None else None
        idx = torch.randperm(len(x), generator=g) if shuffle else torch.arange(len(x))
        for i in range(0, len(x), batch_size): yield x[idx[i:i + batch_size]]
    def decode(self, x): return [' '.join(map(str, r.tolist())) for r in x]


class TinyGRU(torch.nn.Module):
    def __init__(self, V=7, C=16, seed=0):
        super().__init__()
        torch.manual_seed(seed)
        self.emb, self.rnn, self.head = torch.nn.Embedding(V, C), torch.nn.GRU(C, C,
                                                                               batch_first=True), torch.nn.Linear(C, V)
        self.calls = 0
    def loss(self, batch):
        self.calls += 1
        h, _ = self.rnn(self.emb(batch[:, :-1]))  # (B, T-1, C)
        logits = self.head(h)                       # (B, T-1, V)
        return {'loss': torch.nn.functional.cross_entropy(logits.flatten(0, 1), batch[:, 1:].flatten()),
                'tokens': torch.tensor(float(batch[:, 1:].numel()))}


class Slow(TinyGRU):
    "A step that takes at least `dt` seconds, so control timing is observable."
    def __init__(self, dt=0.005, **kw): super().__init__(**kw); self.dt = dt
    def loss(self, batch): time.sleep(self.dt); return super().loss(batch)


def weights(m): return [p.detach().clone() for p in m.parameters()]
def same(a, b): return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.fixture
def data(): return Counting()


def test_start_returns_at_once_while_training_goes_on(data):
    run = Run(Slow(0.01), data, batch_size=16, max_steps=30, name='bg')
    t = time.perf_counter()
    run.start()
    assert time.perf_counter() - t < 0.1  # 30 steps take >= 0.3 s
    assert run.state == 'running' and run._thread.daemon and run._thread.name == 'gmwidgets-run-bg'
    until(lambda: run.step_count >= 3)
    assert run._thread.is_alive()
    assert run.wait(10) and run.state == 'finished' and run.step_count == 30


def test_pause_really_pauses_and_resume_continues(data):
    run = Run(Slow(0.002), data, batch_size=16).start()
    until(lambda: run.step_count >= 3)
    run.pause()
    until(lambda: run.state == 'paused')
    k = run.step_count
    time.sleep(0.1)  # ~50 steps' worth
    assert run.step_count == k and run.state == 'paused'
    run.pause()  # a no-op on a paused run
    run.resume()
    until(lambda: run.step_count >= k + 5)
    assert run.state == 'running'
    with pytest.raises(RuntimeError, match="resume\\(\\) needs a paused run"): run.resume()
    run.stop(); run.wait(10)


def test_stop_ends_the_run(data):
    run = Run(Slow(0.002), data, batch_size=16).start()
    until(lambda: run.step_count >= 2)
    run.stop()
    assert run.wait(5) and run.state == 'stopped'
    k = run.step_count
    run.stop()  # a no-op once ended
    time.sleep(0.02)
    assert run.step_count == k and not run._thread.is_alive()
    with pytest.raises(RuntimeError, match="is 'stopped': start\\(\\) needs an idle run"): run.start()


def test_stop_while_paused(data):
    run = Run(TinyGRU(), data, batch_size=16).step(3)
    until(lambda: run.state == 'paused')
    run.stop()
    assert run.wait(5) and run.state == 'stopped' and run.step_count == 3


def test_step_n_advances_exactly_n(data):
    run = Run(TinyGRU(), data, batch_size=16)
    run.step(7)
    until(lambda: run.state == 'paused')
    assert run.step_count == 7 and len(run.history) == 7
    time.sleep(0.05)
    assert run.step_count == 7
    run.step(5)
    until(lambda: run.step_count >= 12 and run.state == 'paused')
    time.sleep(0.05)
    assert run.step_count == 12
    with pytest.raises(ValueError, match="n=0: need n >= 1"): run.step(0)
    run.resume()
    until(lambda: run.step_count >= 15)
    with pytest.raises(RuntimeError, match="step\\(n\\) needs an idle or paused run"): run.step(2)
    run.stop(); run.wait(5)


def test_start_twice_is_an_error(data):
    run = Run(Slow(0.002), data, batch_size=16).start()
    with pytest.raises(RuntimeError, match="is 'running': start\\(\\) needs an idle run"): run.start()
    run.pause(); until(lambda: run.state == 'paused')
    with pytest.raises(RuntimeError, match="use resume\\(\\)"): run.start()
    run.stop(); run.wait(5)
    with pytest.raises(RuntimeError, match="start\\(\\) it before wait\\(\\)"): Run(TinyGRU(), data).wait()


@pytest.mark.parametrize('bs,epochs,steps',
                         [(16, 3, 12), (20, 2, 8)])  # 64 train sequences: 4 batches an epoch (20, 20, 20, 4)
def test_epochs_honoured(data, bs, epochs, steps):
    run = Run(TinyGRU(), data, batch_size=bs, epochs=epochs).start()
    assert run.wait(10) and run.state == 'finished'
    assert run.step_count == steps and run.epoch == epochs
    h = run.history
    assert list(h.epoch.value_counts().sort_index()) == [steps // epochs] * epochs


def test_epochs_of_bucketed_text_end_the_cosine_schedule_with_the_last_batch():
    ("A length-bucketed epoch has more batches than n / batch_size (how many depends on its shuffle): `total_steps` "
     "counts the batches the epochs really give, so the cosine reaches its end with the run's last step, not before.")
    from gmwidgets.autoregressive import RNNLM
    from gmwidgets.data import TextData
    d = TextData.from_texts(['x' * (i % 13 + 1) for i in range(200)]).bucketed(4)  # 160 train texts
    yields = [len(list(d.batches('train', 16, seed=5 + e))) for e in range(3)]     # what each epoch really gives
    assert sum(yields) > 3 * math.ceil(d.n('train') / 16)  # more than n / batch_size an epoch
    run = Run(RNNLM.for_data(d, emb=8, hidden=8, layers=1), d, batch_size=16, epochs=3, seed=5, schedule='cosine',
              lr=0.01)
    assert run.total_steps == sum(yields)
    assert run.start().wait(30) and run.state == 'finished'
    assert run.step_count == run.total_steps == sum(yields)
    assert list(run.history.epoch.value_counts().sort_index()) == yields
    T = sum(yields)  # the update after k updates has lr * (1 + cos(pi k / T)) / 2: above 0 up to the last (k = T - 1)
    assert run.history.lr.tolist() == pytest.approx([0.01 * (1 + math.cos(math.pi * k / T)) / 2 for k in range(T)])

def test_max_steps_honoured_and_history_columns(data):
    run = Run(TinyGRU(), data, batch_size=16, max_steps=10, schedule='linear', warmup=2, lr=0.01).start()
    assert run.wait(10) and run.state == 'finished' and run.step_count == 10
    h = run.history
    assert list(h.step) == list(range(1, 11))
    for c in ('step', 'epoch', 'time', 'loss', 'tokens', 'grad_norm', 'lr', 'samples_per_s'): assert c in h, c
    assert h.time.is_monotonic_increasing and (h.samples_per_s > 0).all()
    assert h.lr.round(6).tolist() == [0.005, 0.01, 0.01, 0.00875, 0.0075, 0.00625, 0.005, 0.00375, 0.0025, 0.00125]
    assert h.dtypes['loss'] == float


def test_time_excludes_pauses(data):
    run = Run(TinyGRU(), data, batch_size=16).step(3)
    until(lambda: run.state == 'paused')
    time.sleep(0.3)
    run.step(2); until(lambda: run.step_count == 5 and run.state == 'paused')
    run.stop(); run.wait(5)
    assert run.history.time.iloc[-1] < 0.25


def test_eval_rows_every_k_steps(data):
    run = Run(TinyGRU(), data, batch_size=16, max_steps=12, eval_every=5, eval_batches=1).start()
    run.wait(10)
    h = run.history
    assert list(h.dropna(subset=['valid_loss']).step) == [5, 10]
    assert {'valid_loss', 'valid_tokens'} <= set(h.columns)
    assert h.valid_tokens.dropna().tolist() == [16 * 11] * 2  # one batch of 16 sequences of 11 targets


def test_evaluate_weights_batches_and_restores_mode(data):
    m = TinyGRU()
    run = Run(m, data, batch_size=6)  # 16 valid sequences: batches of 6, 6, 4
    m.train()
    ev = run.evaluate('valid')
    assert m.training
    with torch.no_grad():
        m.eval(); full = m.loss(data.splits['valid'])['loss'].item(); m.train()
    assert ev['loss'] == pytest.approx(full, rel=1e-5)  # size-weighted mean of batch means == full mean
    one = run.evaluate('valid', max_batches=1)
    assert one['tokens'] == 6 * 11
    m.eval(); run.evaluate('test'); assert not m.training


def test_exception_in_loss_is_kept_and_reraised(data):
    class Bad(TinyGRU):
        def loss(self, batch):
            if self.calls == 3: raise ValueError("boom")
            return super().loss(batch)
    seen = []
    class Rec:
        def on_error(self, run, e): seen.append(e)
    run = Run(Bad(), data, batch_size=16, callbacks=[Rec()]).start()
    with pytest.raises(RunError,
                       match=r"step 4, on a batch of shape \(16, 12\) \(torch.int64\): ValueError: boom") as ei:
        run.wait(10)
    assert run.state == 'failed' and isinstance(run.error, ValueError) and ei.value.__cause__ is run.error
    assert seen == [run.error] and 'boom' in run.traceback and 'Traceback' in run.traceback
    assert run.step_count == 3 and threading.main_thread().is_alive()
    with pytest.raises(RunError): run.wait()  # again: still raises


def test_shape_error_names_the_batch_shape():
    class Series:
        kind = 'series'
        def n(self, split): return 8
        def batches(self, split='train', batch_size=64, shuffle=True, seed=None): yield torch.zeros(4, 24, 5)
    class Lin(torch.nn.Module):
        def __init__(self): super().__init__(); self.f = torch.nn.Linear(3, 1)
        def loss(self, x): return {'loss': self.f(x).mean()}
    run = Run(Lin(), Series()).start()
    with pytest.raises(RunError, match=r"model.loss\(\) at step 1, on a batch of shape \(4, 24, 5\) "
                                       r"\(torch.float32\): RuntimeError"):
        run.wait(10)


def test_bad_terms_fail_clearly(data):
    class NoLoss(TinyGRU):
        def loss(self, batch): return {'nll': super().loss(batch)['loss']}
    run = Run(NoLoss(), data).start()
    with pytest.raises(RunError, match="expected a key 'loss'"): run.wait(10)


def test_empty_data_fails_clearly():
    class Empty(Counting):
        def batches(self, *a, **k): return iter(())
    run = Run(TinyGRU(), Empty()).start()
    with pytest.raises(RunError, match="gave no batches in epoch 0"): run.wait(10)


@pytest.mark.parametrize('bad', [float('nan'), float('inf')])
def test_nan_loss_stops_with_last_good_weights(data, bad):
    class NaNAt(TinyGRU):
        def loss(self, batch):
            t = super().loss(batch)
            return {**t, 'loss': t['loss'] * bad} if self.calls == 6 else t
    class Snap:
        def on_step(self, run, step, terms): self.w = weights(run.model)
    snap = Snap()
    run = Run(NaNAt(), data, batch_size=16, callbacks=[snap], weight_decay=0.1).start()
    with pytest.raises(RunError, match=f"step 6: loss term 'loss' is {bad}") as ei: run.wait(10)
    assert isinstance(ei.value.__cause__, FloatingPointError)
    assert run.state == 'failed' and run.step_count == 5
    assert same(weights(run.model), snap.w)  # exactly the weights after step 5


def test_nan_gradient_stops_before_the_update(data):
    class NaNGrad(TinyGRU):
        def loss(self, batch):
            t = super().loss(batch)
            if self.calls == 4:  # finite loss, NaN gradient: sqrt'(0) * 0 -> nan
                t['loss'] = t['loss'] + (torch.sqrt(self.head.bias.sum() * 0) * 0)
            return t
    w = {}
    class Snap:
        def on_step(self, run, step, terms): w['w'] = weights(run.model)
    run = Run(NaNGrad(), data, batch_size=16, callbacks=[Snap()], grad_clip=None).start()
    with pytest.raises(RunError, match="step 4: gradient 'grad_norm' is nan"): run.wait(10)
    assert run.step_count == 3 and same(weights(run.model), w['w'])


def test_callbacks_in_order_and_failing_callback_does_not_kill(data):
    log = []
    class Rec:
        def on_start(self, run): log.append('start')
        def on_state(self, run, s): log.append(s)
        def on_step(self, run, step, terms): log.append(('step', step, sorted(terms)))
        def on_eval(self, run, step, terms): log.append(('eval', step, sorted(terms)))
        def on_end(self, run): log.append('end'); assert threading.current_thread() is run._thread
    class Broken:
        def on_step(self, run, step, terms): raise RuntimeError("callback bug")
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter('always')
        run = Run(TinyGRU(), data, batch_size=16, max_steps=4, eval_every=2, callbacks=[Broken(), Rec()]).start()
        assert run.wait(10)
    keys = ['grad_norm', 'loss', 'lr', 'tokens']
    assert log == ['start', 'running', ('step', 1, keys), ('step', 2, keys), ('eval', 2, ['loss', 'tokens']),
                   ('step', 3, keys), ('step', 4, keys), ('eval', 4, ['loss', 'tokens']), 'finished', 'end']
    assert run.state == 'finished' and run.step_count == 4
    assert len(run.callback_errors) == 4 and all(h == 'on_step' for _, h, _ in run.callback_errors)
    assert len([w for w in ws if 'callback bug' in str(w.message)]) == 1  # warned once


def test_pause_and_state_callbacks(data):
    states = []
    class Rec:
        def on_state(self, run, s): states.append(s)
    run = Run(TinyGRU(), data, batch_size=16).step(2)
    until(lambda: run.state == 'paused')
    run.add_callback(Rec()).resume()
    until(lambda: run.step_count >= 4)
    run.stop(); run.wait(5)
    assert states == ['running', 'stopped']
    cb = run.callbacks[0]
    run.remove_callback(cb)
    assert run.callbacks == []
    with pytest.raises(ValueError, match="is not in this run's callbacks"): run.remove_callback(cb)


def test_lock_gives_consistent_weights(data):
    run = Run(TinyGRU(), data, batch_size=16, max_steps=40).start()
    reads = 0
    while run._thread.is_alive():
        with run.lock:
            a = weights(run.model); time.sleep(0.001); b = weights(run.model)
        assert same(a, b); reads += 1
    run.wait(5)
    assert reads > 0 and run.step_count == 40


def test_lock_lets_a_waiting_reader_in_between_steps(data):
    run = Run(TinyGRU(), data, batch_size=16, max_steps=300).start()
    until(lambda: run.step_count >= 2)
    skipped = []
    for _ in range(30):
        k = run.step_count
        with run.lock: skipped.append(run.step_count - k)
    run.stop(); run.wait(5)
    assert max(skipped) <= 2, skipped  # the step in progress, and at most one that began as we asked


def test_save_load_round_trip(data, tmp_path):
    kw = dict(batch_size=20, max_steps=14, schedule='cosine', warmup=2, weight_decay=0.01,
              eval_every=4)  # 4 batches an epoch
    ref = Run(TinyGRU(), data, **kw).start(); ref.wait(10)
    run = Run(TinyGRU(), data, **kw).step(6)  # stops in the middle of epoch 1
    until(lambda: run.state == 'paused')
    run.save(tmp_path / 'run.pt')
    run.stop(); run.wait(5)
    m = TinyGRU(seed=1)
    assert not same(weights(m), weights(run.model))
    back = Run.load(tmp_path / 'run.pt', m, data)
    assert back.state == 'idle' and (back.step_count, back.epoch, back.name) == (6, 1, run.name)
    assert same(weights(m), weights(run.model))
    assert back.history.equals(run.history)
    assert back.config == run.config
    back.start(); back.wait(10)
    assert back.state == 'finished' and back.step_count == 14
    cols = ['step', 'epoch', 'loss', 'lr', 'grad_norm', 'valid_loss']
    assert back.history[cols].equals(ref.history[cols])  # same batches, same updates, same optimizer state
    assert same(weights(back.model), weights(ref.model))
    assert back.history.time.is_monotonic_increasing


def test_load_needs_callables_again(data, tmp_path):
    run = Run(TinyGRU(), data, schedule=lambda s: 0.5, optimizer=lambda p: torch.optim.SGD(p, lr=0.1))
    run.save(tmp_path / 'r.pt')
    with pytest.raises(ValueError, match=r"\['optimizer', 'schedule'\] were callables"):
        Run.load(tmp_path / 'r.pt', TinyGRU(), data)
    back = Run.load(tmp_path / 'r.pt', TinyGRU(), data, schedule=lambda s: 0.5,
                    optimizer=lambda p: torch.optim.SGD(p, lr=0.1))
    back.step(2); until(lambda: back.state == 'paused')
    assert back.history.lr.tolist() == [0.05, 0.05]
    back.stop()
    torch.save({'x': 1}, tmp_path / 'other.pt')
    with pytest.raises(ValueError, match="not a gmwidgets Run checkpoint"):
        Run.load(tmp_path / 'other.pt', TinyGRU(), data)


def test_train_step_path(data):
    class OwnOpt(TinyGRU):
        "Makes its own update (like a GAN): Run must not call backward itself."
        def __init__(self): super().__init__(); self.steps = 0
        def train_step(self, batch, opt):
            opt.zero_grad()
            l = self.loss(batch)['loss']
            l.backward(); opt.step(); self.steps += 1
            return {'loss': l.detach(), 'd_loss': 0.5, 'g_loss': torch.tensor(1.5)}
    m = OwnOpt()
    w0 = weights(m)
    backward_calls = []
    m.head.weight.register_hook(lambda g: backward_calls.append(1))
    run = Run(m, data, batch_size=16, max_steps=5, optimizer='sgd', lr=0.1, eval_every=5).start()
    assert run.wait(10)
    assert m.steps == 5 and len(backward_calls) == 5 and not same(w0,
                                                                  weights(m))  # one backward a step: the model's own
    h = run.history
    assert h.d_loss.tolist() == [0.5] * 5 and h.g_loss.tolist() == [1.5] * 5 and h.lr.tolist() == [0.1] * 5
    assert h.valid_loss.notna().sum() == 1


def test_schedule_drives_the_models_own_optimizers(data):
    "A model with `train_step` and `optimizers()` (a GAN) gets the schedule on its own optimisers; `lr` logs the first."
    class TwoOpts(TinyGRU):
        def __init__(self):
            super().__init__()
            self.opts = (torch.optim.Adam(self.head.parameters(), lr=1e-3),
                         torch.optim.Adam(self.rnn.parameters(), lr=4e-3))
            self.seen = []
        def optimizers(self): return self.opts
        def train_step(self, batch, opt):
            self.seen.append([o.param_groups[0]['lr'] for o in self.opts])
            for o in self.opts: o.zero_grad()
            l = self.loss(batch)['loss']; l.backward()
            for o in self.opts: o.step()
            return {'loss': l.detach()}
    m = TwoOpts()
    run = Run(m, data, batch_size=16, max_steps=4, lr=0.1, schedule='linear').start()
    assert run.wait(10)
    factors = [1.0, 0.75, 0.5, 0.25]  # linear decay to 0 over 4 steps
    assert m.seen == [pytest.approx([1e-3 * f, 4e-3 * f]) for f in factors]
    assert run.history.lr.tolist() == pytest.approx([1e-3 * f for f in factors])  # the model's, not Run's unused 0.1


def test_train_step_nan_fails(data):
    class Diverges(TinyGRU):
        def train_step(self, batch, opt):
            self.calls += 1
            return {'d_loss': float('inf') if self.calls == 3 else 1.0, 'g_loss': 1.0}
    run = Run(Diverges(), data).start()
    with pytest.raises(RunError, match="step 3: train_step\\(\\) term 'd_loss' is inf"): run.wait(10)


def test_config_is_validated(data):
    with pytest.raises(ValueError, match="lr=0: need lr > 0"): Run(TinyGRU(), data, lr=0)
    with pytest.raises(ValueError, match="optimizer='lbfgs'"): Run(TinyGRU(), data, optimizer='lbfgs')
    with pytest.raises(ValueError, match="grad_clip=-1"): Run(TinyGRU(), data, grad_clip=-1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_step'"): Run(TinyGRU(), data, max_step=3)
    with pytest.raises(TypeError, match="has no loss"): Run(torch.nn.Linear(2, 2), data)
    run = Run(TinyGRU(), data, schedule='cosine').start()  # no max_steps/epochs: the cosine has no end
    with pytest.raises(RunError, match="set max_steps or epochs"): run.wait(10)


def test_learns(data):
    run = Run(TinyGRU(C=32), data, batch_size=16, max_steps=80, lr=1e-2).start()
    run.wait(30)
    assert run.evaluate('test')['loss'] < 0.5 * math.log(7)


def test_headless_import():
    import subprocess, sys
    code = ("import sys, gmwidgets.train; bad = [m for m in ('ipywidgets', 'anywidget', 'altair') if m in "
            "sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == '[]'


def test_python_exits_cleanly_with_a_run_going():
    "A script that ends while a run trains exits with 0: the exit hook stops the run after its step (no C++ abort)."
    import subprocess, sys, textwrap
    script = textwrap.dedent('''
        import time
        from gmwidgets.core import load_dataset
        from gmwidgets.autoregressive import RNNLM
        from gmwidgets.train import Run
        names = load_dataset('names')
        run = Run(RNNLM.for_data(names, emb=16, hidden=16), names, max_steps=100_000).start()
        while run.step_count < 3: time.sleep(0.01)
        print('leaving at step', run.step_count, flush=True)
    ''')
    p = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert 'leaving at step' in p.stdout and 'terminate called' not in p.stderr
