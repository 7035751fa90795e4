"""The Runs panel's kernel and server sides without a browser: a `Run` reports to its status files (at most once a
second while it trains, at once on a change of state), obeys Stop/Pause/Resume written to its control file within
one step, a failing hook never stops training, GMWIDGETS_RUNS_PANEL=0 turns reporting off, and the server lists
kernel and file runs, reads rows from an offset, and refuses paths outside the runs directory (`..`, absolute,
symlinks), malformed files becoming error rows."""
import json, os, time
import pytest, torch
from torch import nn
import gmwidgets
from gmwidgets.train import Run
from gmwidgets.runspanel import REPORT_ENV, RunReporter, STATUS_ENV, report
from gmwidgets.runsapi import RunsPanel, inside, read_rows
from harness import wait_until
from toys import Ones

torch.set_num_threads(1)


class Slow(nn.Module):
    "A one-weight model whose step takes `dt` seconds."
    def __init__(self, dt=0.02): super().__init__(); self.w, self.dt, self.calls = nn.Parameter(torch.ones(1)), dt, 0
    def loss(self, batch):
        self.calls += 1; time.sleep(self.dt)
        return {'loss': (self.w ** 2).sum() + batch.mean() * 0}


@pytest.fixture
def status(tmp_path, monkeypatch):
    "A fresh status folder for the runs of this test."
    d = tmp_path/'status'
    monkeypatch.setenv(STATUS_ENV, str(d))
    return d


def reporter(run) -> RunReporter:
    return next(ob for ob in run.observers if isinstance(ob, RunReporter))


def read_status(rep) -> dict: return json.loads(rep.path('json').read_text())


def test_every_run_reports_and_the_files_match_its_history(status):
    run = Run(nn.Linear(1, 1), Ones(), loss_fn=lambda m, b: m(b).pow(2).mean(), max_steps=12, batch_size=8, name='lin')
    run.start().wait(20)
    rep = reporter(run)
    st = read_status(rep)
    assert (st['name'], st['state'], st['step'], st['total'], st['pid']) == ('lin', 'finished', 12, 12, os.getpid())
    assert st['loss'] == pytest.approx(run.history['loss'].iloc[-1]) and len(st['spark']) == 12
    rows = [json.loads(l) for l in rep.path('jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows] == list(range(1, 13))
    assert [r['loss'] for r in rows] == pytest.approx(run.history['loss'].tolist())


def test_a_run_reports_once_only_and_keeps_its_callbacks(status):
    run = Run(Slow(0), Ones(), max_steps=3, batch_size=8)
    run.start().wait(20)
    assert report(run) is None  # a second report of the same run adds nothing
    assert sum(isinstance(ob, RunReporter) for ob in run.observers) == 1 and run.callbacks == []


def test_stop_in_the_control_file_acts_within_one_step(status):
    model = Slow(0.05)
    run = Run(model, Ones(), epochs=10_000, batch_size=8, name='stoppable').start()
    wait_until(lambda: run.step_count >= 3, what='three steps')
    rep = reporter(run)
    rep.path('control').write_text(json.dumps({'action': 'stop'}))
    at = model.calls
    assert run.wait(10)
    assert run.state == 'stopped' and model.calls <= at + 2  # the step under way, then one more at most
    assert read_status(rep)['state'] == 'stopped'


def test_pause_and_resume_through_the_control_file(status):
    run = Run(Slow(0.02), Ones(), epochs=10_000, batch_size=8).start()
    rep = reporter(run)
    wait_until(lambda: run.step_count >= 2, what='two steps')
    panel = RunsPanel(root_dir=status.parent)
    panel.control('k:' + rep.id, 'pause')
    wait_until(lambda: run.state == 'paused', what='paused')
    wait_until(lambda: read_status(rep)['state'] == 'paused', what='status says paused')
    at = run.step_count
    time.sleep(0.3)
    assert run.step_count == at
    time.sleep(0.01)  # a new mtime for the control file
    panel.control('k:' + rep.id, 'resume')  # a paused run makes no steps: the watcher thread sees this
    wait_until(lambda: run.step_count > at + 2, what='steps after resume')
    assert panel.control('*', 'stop') == ['k:' + rep.id]
    assert run.wait(10) and run.state == 'stopped'


def test_a_failing_hook_warns_and_the_run_trains(status):
    def bad(run): raise OSError('disk full')
    gmwidgets.run_hooks.append(bad)
    try:
        with pytest.warns(RuntimeWarning, match='disk full'):
            run = Run(Slow(0), Ones(), max_steps=3, batch_size=8).start()
        run.wait(20)
    finally: gmwidgets.run_hooks.remove(bad)
    assert run.state == 'finished'


def test_the_environment_switch_turns_reporting_off(status, monkeypatch):
    monkeypatch.setenv(REPORT_ENV, 'off')
    run = Run(Slow(0), Ones(), max_steps=3, batch_size=8).start(); run.wait(20)
    assert run.state == 'finished' and not any(isinstance(ob, RunReporter) for ob in getattr(run, 'observers', ()))
    assert not status.exists() or not list(status.iterdir())
    monkeypatch.setenv(REPORT_ENV, 'maybe')  # a bad value: one clear warning naming it, and the run trains
    with pytest.warns(RuntimeWarning, match="GMWIDGETS_RUNS_PANEL='maybe'"):
        run = Run(Slow(0), Ones(), max_steps=3, batch_size=8).start()
    run.wait(20)
    assert run.state == 'finished' and (not status.exists() or not list(status.iterdir()))
    monkeypatch.setenv(REPORT_ENV, '1')
    run = Run(Slow(0), Ones(), max_steps=3, batch_size=8).start(); run.wait(20)
    assert reporter(run).path('json').exists()


def test_status_writes_are_throttled_while_a_run_trains(status):
    run = Run(Slow(0.01), Ones(), epochs=10_000, batch_size=8).start()
    rep = reporter(run)
    wait_until(lambda: rep.path('json').exists(), what='a status file')
    seen = set()
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        seen.add(rep.path('json').stat().st_mtime_ns); time.sleep(0.01)
    run.stop().wait(10)
    assert 2 <= len(seen) <= 5, seen  # about one write a second, not one a step (~200 steps were made)
    assert run.step_count > 50


def test_server_lists_kernel_and_file_runs(status, tmp_path):
    run = Run(Slow(0), Ones(), max_steps=4, batch_size=8, name='k<b>').start(); run.wait(20)
    runs = tmp_path/'root'/'runs'
    (runs/'sub').mkdir(parents=True)
    (runs/'sub'/'script.jsonl').write_text(''.join(json.dumps({'step': i, 'loss': 1 / i}) + '\n' for i in range(1, 6)))
    (runs/'broken.jsonl').write_text('{"step": 1}\nnot json\n')
    (runs/'dir.jsonl').mkdir()
    (status/'99-0000000a.json').write_text('{"name": ')
    panel = RunsPanel(root_dir=tmp_path/'root')
    rows = {r['id']: r for r in panel.runs()}
    kr = rows['k:' + reporter(run).id]
    assert (kr['name'], kr['state'], kr['step'], kr['kind']) == ('k<b>', 'finished', 4, 'kernel')
    fr = rows['f:sub/script.jsonl']
    assert (fr['name'], fr['step'], fr['loss'], fr['state'], fr['kind']) == ('script', 5, 0.2, 'running', 'file')
    assert rows['f:broken.jsonl']['state'] == 'error' and 'JSONDecodeError' in rows['f:broken.jsonl']['error']
    assert rows['f:dir.jsonl']['state'] == 'error' and rows['k:99-0000000a']['state'] == 'error'
    # a file that grows is read from where the last listing stopped
    with open(runs/'sub'/'script.jsonl', 'a') as f: f.write(json.dumps({'step': 6, 'loss': 0.1}) + '\n')
    assert {r['id']: r for r in panel.runs()}['f:sub/script.jsonl']['step'] == 6


def test_rows_from_an_offset(tmp_path):
    p = tmp_path/'h.jsonl'
    p.write_text('{"step": 1}\n{"step": 2}\n')
    rows, off = read_rows(p)
    assert [r['step'] for r in rows] == [1, 2] and off == p.stat().st_size
    with open(p, 'a') as f: f.write('{"step": 3}\n{"step"')
    rows, off2 = read_rows(p, off)
    assert rows == [{'step': 3}] and off2 == off + len('{"step": 3}\n')


def test_paths_outside_the_runs_directory_are_refused(tmp_path):
    root = tmp_path/'runs'; root.mkdir()
    (tmp_path/'secret.jsonl').write_text('{"step": 1}\n')
    (root/'ok.jsonl').write_text('{"step": 1}\n')
    (root/'escape.jsonl').symlink_to(tmp_path/'secret.jsonl')
    (root/'d').symlink_to(tmp_path, target_is_directory=True)
    assert inside(root, 'ok.jsonl') == (root/'ok.jsonl').resolve()
    bad_paths = ['../secret.jsonl', str(tmp_path/'secret.jsonl'), 'escape.jsonl', 'd/secret.jsonl',
                 'x/../../secret.jsonl']
    for bad in bad_paths:
        with pytest.raises(ValueError, match='path='): inside(root, bad)
    panel = RunsPanel(root_dir=tmp_path)
    with pytest.raises(ValueError, match='id='): panel.rows_file('k:1-0000000a/../../x')
    with pytest.raises(ValueError, match='only kernel runs'): panel.control('f:ok.jsonl', 'stop')
    with pytest.raises(ValueError, match='action='): panel.control('k:1-0000000a', 'kill')
