"""The IPython extension in a real in-process shell: load/unload, the displays (escaped), the run registry and the
magics."""
import gc, time
import pytest, torch
from torch import nn
from IPython.core.interactiveshell import InteractiveShell
from gmwidgets import ext
from gmwidgets.train import Run
from gmwidgets.core import load_dataset
from toys import Ones, Toy

torch.set_num_threads(1)
WIDGET = 'application/vnd.jupyter.widget-view+json'


@pytest.fixture
def ip():
    shell = InteractiveShell.instance()
    shell.run_line_magic('load_ext', 'gmwidgets')
    yield shell
    if id(shell) in ext._state: shell.run_line_magic('unload_ext', 'gmwidgets')
    for k in [k for k, v in shell.user_ns.items() if isinstance(v, Run)]: shell.user_ns.pop(k)


def run_cell(ip, code):
    r = ip.run_cell(code)
    r.raise_error()
    return r.result


def test_load_registers_magics_and_unload_removes_them(ip, capsys):
    line = ip.magics_manager.magics['line']
    assert {'gm_runs', 'gm_stop', 'gm_train'} <= set(line) and 'gm_train' in ip.magics_manager.magics['cell']
    ip.run_line_magic('load_ext', 'gmwidgets')  # twice: no second registry
    assert len([k for k in ext._state if k == id(ip)]) == 1
    ip.run_line_magic('unload_ext', 'gmwidgets')
    assert not {'gm_runs', 'gm_stop', 'gm_train'} & set(ip.magics_manager.magics['line'])
    assert 'no live runs' in capsys.readouterr().out
    m = nn.Module(); m.loss = lambda b: {}
    assert 'text/html' not in ip.display_formatter.format(m)[0]  # formatter gone


def test_model_card_counts_params_lists_methods_and_escapes(ip):
    class Net(nn.Module):
        def __init__(self): super().__init__(); self.l = nn.Linear(3, 2)  # 8 parameters
        def loss(self, b): return {'loss': self.l(b).sum()}
        def sample(self, n): return []
    Net.__name__ = 'Net<img src=x onerror=alert(1)>'
    data, _ = ip.display_formatter.format(Net())
    h = data['text/html']
    assert '8 parameters' in h and '<img' not in h and '&lt;img' in h
    assert '✓ loss' in h and '✓ sample' in h and '✗ encode' in h
    assert 'text/html' not in ip.display_formatter.format(nn.Linear(2, 2))[0]  # no loss: not a gmwidgets model


def test_dataset_preview_escapes_and_shows_items(ip):
    from gmwidgets.data import TextData
    d = TextData.from_texts(['<b>bold</b> hello', 'plain text here'] * 20, level='char', name='x<y')
    h = ip.display_formatter.format(d)[0]['text/html']
    assert '&lt;b&gt;bold' in h and '<b>bold' not in h and 'x&lt;y' in h
    s = ip.display_formatter.format(load_dataset('sines', n=50))[0]['text/html']
    assert '<table' in s and s.count('<tr') >= 6  # header + 5 rows of the first window


def test_run_displays_as_its_dashboard_and_its_picture(ip):
    from unittest import mock
    run = Run(Toy(), Ones(), max_steps=2, name='shown')
    shown = []
    with mock.patch.object(ip.display_pub, 'publish', lambda data, metadata=None, transient=None, **kw:
                           shown.append((data, transient or {}))):
        data, _ = ip.display_formatter.format(run)
    assert data == {}  # shown by display calls: the dashboard, then the picture of its chart
    dash, = [c for c in run.callbacks if type(c).__name__ == 'TrainingDashboard']  # it listens to the run
    (widget, _), (picture, transient) = shown
    assert widget[WIDGET]['model_id'] == dash.model_id
    assert transient['display_id'] == dash.chart._picture_id and 'image/svg+xml' in picture  # updated in place later


def test_registry_scans_namespace_weakly_and_tracks_last_loss(ip):
    run_cell(ip, "from gmwidgets.train import Run\nfrom test_ext import Toy, Ones\n"
                 "a = Run(Toy(), Ones(), max_steps=3, name='a'); runs = [Run(Toy(), Ones(), max_steps=2, name='b')]")
    reg = ext.registry(ip)
    assert [r.name for r in reg.runs] == ['a', 'b']
    a = ip.user_ns['a']; a.start().wait(10)
    assert reg.last_terms(a)['loss'] == pytest.approx(a.history['loss'].iloc[-1])
    run_cell(ip, "del a, runs")
    del a; gc.collect()
    assert reg.runs == []


def test_gm_runs_table_updates_in_place_and_stop_button(ip):
    run_cell(ip, "from gmwidgets.train import Run\nfrom test_ext import Toy, Ones\n"
                 "r = Run(Toy(delay=0.01), Ones(), max_steps=100_000, name='long').start()")
    table = ip.run_line_magic('gm_runs', '')
    r = ip.user_ns['r']
    (name, state, step, loss), = table.rows()
    assert (name, state) == ('long', 'running')
    b = table.button_for(r)
    assert b.disabled is False
    step_cell = table.grid.children[5 + 2]  # header row, then name, state, step
    t = time.monotonic()
    while step_cell.value in ('', '0') and time.monotonic() - t < 5: time.sleep(0.05)
    time.sleep(1.2)  # the table refreshes itself at most once a second while the run trains
    assert int(step_cell.value.replace(',', '')) > 0 and table.grid.children[5 + 3].value != '-'
    b.click()
    assert r.wait(5) and r.state == 'stopped'
    time.sleep(0.05)
    assert table.rows()[0][1] == 'stopped' and table.grid.children[5 + 1].value == 'stopped'
    assert table.button_for(r) is b and b.disabled  # the same widgets, updated in place
    n = len(table.grid.children); table.refresh_button.click()
    assert len(table.grid.children) == n and table.button_for(r) is b


def test_gm_stop_by_name_all_and_unknown(ip, capsys):
    run_cell(ip, "from gmwidgets.train import Run\nfrom test_ext import Toy, Ones\n"
                 "x = Run(Toy(0.01), Ones(), max_steps=100_000, name='x').start(); y = Run(Toy(0.01), Ones(), "
                 "max_steps=100_000, name='y').start()")
    x, y = ip.user_ns['x'], ip.user_ns['y']
    ip.run_line_magic('gm_stop', 'x')
    assert x.wait(5) and x.state == 'stopped' and y.state == 'running'
    assert 'stopping: x' in capsys.readouterr().out
    from IPython.core.error import UsageError
    with pytest.raises(UsageError, match="no run called 'z'"): ip.run_line_magic('gm_stop', 'z')
    ip.run_line_magic('gm_stop', '--all')
    assert y.wait(5) and y.state == 'stopped'
    assert 'stopping: y' in capsys.readouterr().out


def test_gm_train_line_and_cell(ip):
    run = ip.run_line_magic('gm_train', 'names rnn --steps 3 --batch-size 8 --name lm')
    assert run.wait(60) and run.state == 'finished' and run.step_count == 3 and run.name == 'lm'
    assert ext.registry(ip).find('lm') == [run]
    run2 = ip.run_cell_magic('gm_train', 'sines rnn --name s', "max_steps = 2\nbatch_size = 4\nhidden = 8  # model "
                                                               "config\n")
    assert run2.wait(60) and run2.step_count == 2 and run2.model.config.hidden == 8
    with pytest.raises(KeyError, match="unknown dataset 'nope'"): ip.run_line_magic('gm_train', 'nope rnn')
    with pytest.raises(ValueError, match="has no series version"): ip.run_line_magic('gm_train', 'sines transformer')


def test_unload_stops_live_runs_and_prints_them(ip, capsys):
    run_cell(ip, "from gmwidgets.train import Run\nfrom test_ext import Toy, Ones\n"
                 "live = Run(Toy(0.01), Ones(), max_steps=100_000, name='live').start(); done = Run(Toy(), Ones(), "
                 "max_steps=1, name='done')")
    live = ip.user_ns['live']
    ip.run_line_magic('unload_ext', 'gmwidgets')
    assert 'live' in capsys.readouterr().out.split('stop:')[-1]
    assert live.wait(5) and live.state == 'stopped'
    assert not any(type(c).__name__ == '_Tracker' for c in live.callbacks)  # its tracker is gone
