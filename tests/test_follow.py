"""HistoryWriter + follow: lines written by a Run or a writer thread reach the chart once each and in order, a partial
last line waits for its end, a truncated or replaced file restarts from the top, a missing file is waited for, and a
training script in another process is followed."""
import json, os, subprocess, sys, textwrap, threading, time
import pytest, torch
from gmwidgets.follow import HistoryWriter, Follower, follow
from gmwidgets.train import Run

from toys import Ones, Toy, until

torch.set_num_threads(1)


def test_writer_lines_match_history(tmp_path):
    p = tmp_path/'sub'/'h.jsonl'
    run = Run(Toy(extra=('aux',)), Ones(), callbacks=[HistoryWriter(p, every=2)], max_steps=10, batch_size=8,
              eval_every=5)
    run.start().wait(10)
    rows = [json.loads(l) for l in p.read_text().splitlines()]
    train = [r for r in rows if 'loss' in r]
    valid = [r for r in rows if 'valid_loss' in r]
    assert [r['step'] for r in train] == [2, 4, 6, 8, 10]
    assert [r['step'] for r in valid] == [5, 10]
    h = run.history.set_index('step')
    for r in train:
        assert r['loss'] == pytest.approx(h.loc[r['step'], 'loss']) and r['time'] == pytest.approx(h.loc[r['step'],
                                                                                                         'time'])
        assert r['epoch'] == h.loc[r['step'], 'epoch'] and {'lr', 'grad_norm', 'aux'} <= set(r)
    assert valid[0]['valid_loss'] == pytest.approx(h.loc[5, 'valid_loss'])
    # append-only: a second run writing to the same file adds to it
    Run(Toy(), Ones(), callbacks=[HistoryWriter(p)], max_steps=2).start().wait(10)
    assert len(p.read_text().splitlines()) == len(rows) + 2


def test_writer_rejects_bad_every_and_writes_nan_as_null(tmp_path):
    with pytest.raises(ValueError, match='every=0'): HistoryWriter(tmp_path/'x', every=0)
    w = HistoryWriter(tmp_path/'n.jsonl'); w.write(1, loss=float('nan')); w.close()
    assert json.loads((tmp_path/'n.jsonl').read_text()) == {'step': 1, 'loss': None}


def test_follow_writer_thread_splitting_lines(tmp_path):
    "A writer that flushes half lines at random points: the follower sees every step exactly once, in order."
    p = tmp_path/'live.jsonl'
    fl = Follower(p, poll=0.002).start()
    def writer():
        with open(p, 'a') as f:
            for s in range(1, 401):
                line = json.dumps({'step': s, 'loss': 1 / s}) + '\n'
                cut = s % len(line)
                f.write(line[:cut]); f.flush()
                if s % 7 == 0: time.sleep(0.003)  # the follower reads the half line here
                f.write(line[cut:]); f.flush()
    t = threading.Thread(target=writer); t.start(); t.join()
    fl.stop()
    assert [r['step'] for r in fl.rows] == list(range(1, 401))
    assert fl.bad_lines == [] and fl.chart.n_points == 400
    assert fl.chart.frame().value.tolist() == pytest.approx([1 / s for s in range(1, 401)])


def test_missing_file_is_waited_for_then_truncation_and_rotation_restart(tmp_path):
    p = tmp_path/'late.jsonl'
    fl = Follower(p, poll=0.01).start()
    time.sleep(0.05)
    assert fl.running and fl.rows == []
    w = HistoryWriter(p)
    for s in (1, 2, 3): w.write(s, loss=float(s))
    until(lambda: len(fl.rows) == 3, timeout=10)
    w.close()
    p.write_text(json.dumps({'step': 1, 'loss': 10.0}) + '\n')  # truncated and rewritten: shorter than before
    until(lambda: len(fl.rows) == 4, timeout=10)
    assert fl.rows[-1] == {'step': 1, 'loss': 10.0} and fl.restarts == 1
    new = tmp_path/'new.jsonl'
    new.write_text(''.join(json.dumps({'step': s, 'loss': 20.0 + s}) + '\n' for s in range(1, 6)))
    os.replace(new, p)  # rotated: a different file at the same path, longer than the old one
    until(lambda: len(fl.rows) == 9, timeout=10)
    assert [r['step'] for r in fl.rows[4:]] == [1, 2, 3, 4, 5] and fl.restarts == 2
    fl.stop()
    assert not fl.running


def test_bad_lines_are_kept_aside(tmp_path):
    p = tmp_path/'b.jsonl'
    p.write_text('not json\n{"no_step": 1}\n{"step": 3, "loss": 1.0, "note": "text", "ok": true}\n')
    fl = Follower(p)
    assert [r['step'] for r in fl.read_new()] == [3]
    assert fl.bad_lines == ['not json', '{"no_step": 1}']
    assert set(fl.chart.frame().series) == {'loss'}  # strings and booleans are not plotted


def test_follow_returns_chart_with_stop(tmp_path):
    p = tmp_path/'f.jsonl'
    chart = follow(p, poll=0.01)
    HistoryWriter(p).write(1, loss=0.5)
    until(lambda: chart.n_points == 1, timeout=10)
    chart.stop()
    assert not chart.follower.running
    with pytest.raises(ValueError, match='poll=0'): follow(p, poll=0)


def test_follow_a_training_script_in_another_process(tmp_path):
    script = tmp_path/'train.py'
    script.write_text(textwrap.dedent('''
        import sys, time, torch
        from torch import nn
        from gmwidgets.train import Run
        from gmwidgets.follow import HistoryWriter
        torch.set_num_threads(1)
        class Toy(nn.Module):
            def __init__(self): super().__init__(); self.w = nn.Parameter(torch.zeros(1))
            def loss(self, b): time.sleep(0.01); return {'loss': (b.mean() - self.w).pow(2).sum()}
        class Ones:
            def n(self, split): return 32
            def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
                return iter(torch.ones(32, 1).split(batch_size))
        Run(Toy(), Ones(), callbacks=[HistoryWriter(sys.argv[1])], max_steps=40, lr=0.1).start().wait()
    '''))
    hist = tmp_path/'script.jsonl'
    chart = follow(hist, poll=0.02)
    proc = subprocess.Popen([sys.executable, str(script), str(hist)])
    try:
        until(lambda: chart.n_points > 0, timeout=60)
        seen_while_running = proc.poll() is None  # points arrive while the script still trains
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None: proc.kill()
    chart.stop()
    loss = chart.frame().query("series == 'loss'")
    assert loss.step.tolist() == list(range(1, 41))
    assert loss.value.iloc[-1] < loss.value.iloc[0]
    assert seen_while_running
