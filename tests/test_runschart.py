"`RunsChart`: runs of this kernel (also while they train), followed files and saved histories overlaid in one chart."
import time
import numpy as np, pandas as pd, pytest, torch
from torch.utils.data import DataLoader, TensorDataset
import vl_convert as vlc
from gmwidgets.train import Run
from gmwidgets.follow import HistoryWriter
from gmwidgets.runschart import RunsChart, runs_spec, series_name, split_name, SEP
from gmwidgets.charts import DATA_NAME

torch.set_num_threads(1)


class Regressor(torch.nn.Module):
    def __init__(self, delay=0.0):
        super().__init__(); torch.manual_seed(0); self.f, self.delay = torch.nn.Linear(3, 1), delay
    def forward(self, x): time.sleep(self.delay); return self.f(x).squeeze(1)


def mse(model, batch): x, y = batch; return torch.nn.functional.mse_loss(model(x), y)


def loader(n=64):
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    return DataLoader(TensorDataset(x, x.sum(1)), batch_size=8)


def runs_of(chart): return sorted({split_name(s)[0] for s in chart.frame().series})


def series(chart, run, term): return chart.frame().query('series == @n', local_dict={'n': series_name(run, term)})


def test_runs_trained_side_by_side_while_the_chart_follows_them():
    runs = [Run(Regressor(delay=0.002), loader(), loss_fn=mse, lr=lr, max_steps=40, eval_every=10, name=f"lr={lr:g}",
                valid=loader(16)) for lr in (1e-3, 1e-2, 1e-1)]
    runs[0].step(5); runs[0]._thread.join(10)  # one run has history before the chart exists
    chart = RunsChart(*runs, rate_hz=50)
    for r in runs: r.resume() if r.state == 'paused' else r.start()
    for r in runs: assert r.wait(60)
    chart.flush()
    assert list(chart.runs) == ['lr=0.001', 'lr=0.01', 'lr=0.1'] and runs_of(chart) == sorted(chart.runs)
    for r in runs:  # every step exactly once, in order, with the run's own values
        s = series(chart, r.name, 'loss')
        assert s.step.tolist() == list(range(1, 41)) and np.allclose(s.value, r.history.loss)
        assert series(chart, r.name, 'valid_loss').step.tolist() == [10, 20, 30, 40]
    assert chart.sends > 0
    chart.close()
    assert not any(isinstance(c, type(chart.runs['lr=0.1'])) for r in runs for c in r.callbacks)  # detached


def test_spec_colours_by_run_panels_by_term_and_legend_toggles():
    spec = runs_spec(['a', 'b'], ['loss', 'valid_loss', 'kl'])
    params = {p['name']: p for p in spec['params']}
    assert params['shown_runs']['bind'] == 'legend' and params['shown_runs']['select']['fields'] == ['run']
    assert 'smooth_on' in params
    titles = [c['title'] for c in spec['concat']]
    assert 'loss' in titles and 'KL' in titles  # the single-run chart's grouping: loss & valid_loss share a panel
    enc = spec['concat'][0]['layer'][0]['encoding']
    assert enc['color']['field'] == 'run' and enc['color']['scale']['domain'] == ['a', 'b']
    assert enc['strokeOpacity']['condition']['param'] == 'shown_runs'
    vlc.vegalite_to_vega(spec)  # compiles
    pts = [dict(step=s, series=series_name(r, t), run=r, term=t, value=1.0 + s, ema=1.0 + s)
           for s in range(3) for r in 'ab'
           for t in ('loss', 'valid_loss', 'kl')]
    png = vlc.vegalite_to_png({**spec, 'data': {'name': DATA_NAME, 'values': pts}})
    assert png[:4] == b'\x89PNG'


def test_log_scale_and_smoothing_act_on_the_overlay():
    h = pd.DataFrame({'step': range(1, 101), 'loss': np.linspace(5, 1, 100)})
    chart = RunsChart(h, h.assign(loss=h.loss * 2), log_scale=True)
    chart.flush()  # a new series rebuilds the spec at the next flush
    assert chart.spec['concat'][0]['layer'][0]['encoding']['y']['scale']['type'] == 'log'
    chart.smooth = 0.5
    s = series(chart, 'run 2', 'loss')
    assert s.ema.iloc[-1] > s.value.iloc[-1]  # a decreasing curve: the EMA lags above it
    chart.log_scale = False
    assert chart.spec['concat'][0]['layer'][0]['encoding']['y']['scale']['type'] == 'linear'
    chart.close()


def test_saved_and_followed_sources_and_a_bad_file_leaves_a_note(tmp_path):
    pd.DataFrame({'step': [1, 2, 3], 'loss': [3.0, 2.0, 1.0], 'epoch': 0}).to_csv(tmp_path / 'old.csv', index=False)
    w = HistoryWriter(tmp_path / 'live.jsonl')
    w.write(1, loss=2.0)
    (tmp_path / 'bad.csv').write_text('no,steps,here\n1,2,3\n')
    chart = RunsChart(tmp_path / 'old.csv', tmp_path / 'live.jsonl', rate_hz=50)
    chart.add(tmp_path / 'bad.csv').add(tmp_path / 'missing.parquet')
    assert len(chart.notes) == 2 and chart.notes[0].startswith('bad.csv skipped')
    assert chart.spec['title']['subtitle'] == chart.notes  # shown above the chart
    assert series(chart, 'old', 'loss').value.tolist() == [3.0, 2.0, 1.0]  # nothing already shown is lost
    w.write(2, loss=1.5); w.write(3, loss=1.0)
    chart.runs['live'].source.stop()
    assert series(chart, 'live', 'loss').step.tolist() == [1, 2, 3]
    assert 'epoch' not in {split_name(s)[1] for s in chart.frame().series}
    chart.close()
    assert not chart.runs['live'].source.running


def test_bad_sources_fail_with_one_clear_error():
    chart = RunsChart()
    with pytest.raises(TypeError, match='source is int'): chart.add(3)
    with pytest.raises(ValueError, match="expected a 'step' column"): chart.add(pd.DataFrame({'x': [1]}))
    chart.add(pd.DataFrame({'step': [1], 'loss': [1.0]}), name='a')
    with pytest.raises(ValueError, match="already in the chart"):
        chart.add(pd.DataFrame({'step': [1], 'loss': [1.0]}), name='a')
    with pytest.raises(ValueError, match='separator'):
        chart.add(pd.DataFrame({'step': [1], 'loss': [1.0]}), name=f'x{SEP}y')
    chart.close()


def test_a_run_stays_o1_per_update_display_bounded():
    "10 runs of 20k points: every series' display stays within max_points; one push touches one run's series."
    chart = RunsChart(max_points=400, rate_hz=1000)
    for k in range(10):
        chart.add(pd.DataFrame({'step': np.arange(1, 20_001), 'loss': np.random.default_rng(k).random(20_000)}),
                  name=f"r{k}")
    chart.flush()
    rows = chart.display_rows()
    per_series = np.bincount(rows[:, 0].astype(int))
    assert len(per_series) == 10 and per_series.max() <= 2 * 400 + 2
    sent = []
    chart.send = lambda msg, buffers=None: sent.append((msg, buffers))
    chart.runs['r3'].push(20_001, loss=0.5); chart.flush()
    (msg, bufs), = sent
    assert msg['tails'] == [3] and not msg['replace'] and len(bufs[0]) < 20 * 5 * 4  # a handful of rows, one series
    chart.close()


def test_gm_runs_chart_magic():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.error import UsageError
    ip = InteractiveShell.instance()
    ip.run_line_magic('load_ext', 'gmwidgets')
    try:
        ip.user_ns['a'] = Run(Regressor(), loader(), loss_fn=mse, max_steps=3, name='a')
        ip.user_ns['b'] = Run(Regressor(), loader(), loss_fn=mse, max_steps=3, name='b')
        ip.user_ns['a'].start().wait(30)
        chart = ip.run_line_magic('gm_runs', '--chart')
        assert isinstance(chart, RunsChart) and list(chart.runs) == ['a', 'b']
        only = ip.run_line_magic('gm_runs', '--chart b')
        assert list(only.runs) == ['b']
        with pytest.raises(UsageError, match="no run called"): ip.run_line_magic('gm_runs', '--chart zz')
        with pytest.raises(UsageError, match="--chart"): ip.run_line_magic('gm_runs', '--table')
        chart.close(); only.close()
    finally:
        ip.run_line_magic('unload_ext', 'gmwidgets')
        for k in ('a', 'b'): ip.user_ns.pop(k, None)
