("Other trackers' logs in `RunsChart` and `Run` callbacks writing to them, with the real libraries: TensorBoard, "
 "MLflow, Lightning's CSVLogger.")
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.tensorboard import SummaryWriter
from gmwidgets.train import Run
from gmwidgets.runschart import RunsChart, series_name
from gmwidgets.trackers import tensorboard_runs, mlflow_runs, TensorBoardWriter, MLflowWriter
from toys import until

torch.set_num_threads(1)


def steps(chart, run, term='loss'):
    f = chart.frame()
    return f[f.series == series_name(run, term)].step.tolist()


def mse(m, b): return ((m(b[0]).squeeze(1) - b[1]) ** 2).mean()


def small_run(name, callbacks, n=10):
    x = torch.randn(48, 3, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(0)
    return Run(torch.nn.Linear(3, 1), DataLoader(TensorDataset(x, x.sum(1)), batch_size=8), loss_fn=mse, max_steps=n,
               eval_every=5, valid=DataLoader(TensorDataset(x[:16], x[:16].sum(1)), batch_size=8), name=name,
               callbacks=callbacks)


def test_tensorboard_logdir_followed_as_it_grows_new_runs_included(tmp_path):
    a = SummaryWriter(tmp_path / 'a')
    for s in range(1, 6): a.add_scalar('loss', 1 / s, s)
    a.flush()
    chart = RunsChart().add_tensorboard(tmp_path, poll=0.1)
    assert steps(chart, 'a') == [1, 2, 3, 4, 5]
    for s in range(6, 11): a.add_scalar('loss', 1 / s, s)
    a.flush()
    b = SummaryWriter(tmp_path / 'b'); b.add_scalar('loss', 2.0, 1); b.flush()
    until(lambda: steps(chart, 'a') == list(range(1, 11)) and steps(chart, 'b') == [1])
    a.close(); b.close()
    chart.close()


def test_a_corrupt_event_file_is_a_note_not_a_dead_thread(tmp_path):
    good = SummaryWriter(tmp_path / 'good'); good.add_scalar('loss', 1.0, 1); good.flush()
    (tmp_path / 'bad').mkdir()
    (tmp_path / 'bad' / 'events.out.tfevents.1.host').write_bytes(b'\x00' * 7 + b'not an event file at all' * 10)
    chart = RunsChart().add_tensorboard(tmp_path, poll=0.1)
    f = [c for c in chart.on_close]
    good.add_scalar('loss', 0.5, 2); good.flush()
    until(lambda: steps(chart, 'good') == [1, 2])  # the reader goes on
    assert 'bad' not in chart.runs or steps(chart, 'bad') == []
    assert all('good' not in n for n in chart.notes)
    good.close(); chart.close()
    assert f  # a live reader registered its stop


def test_tensorboard_writer_round_trip(tmp_path):
    run = small_run('tbrun', [TensorBoardWriter(tmp_path / 'tbrun')])
    run.start(); assert run.wait(30)
    h = tensorboard_runs(tmp_path)['tbrun']
    assert h.step.tolist() == list(range(1, 11))
    np.testing.assert_allclose(h.loss, run.history.loss, rtol=1e-6)
    assert h.valid_loss.dropna().index.tolist() == [4, 9]  # steps 5 and 10


def test_mlflow_writer_and_reader_round_trip(tmp_path):
    runs = [small_run(n, [MLflowWriter(tmp_path / 'mlruns', experiment='sweep')]) for n in ('a', 'b')]
    for r in runs: r.start(); assert r.wait(30)
    got = mlflow_runs(tmp_path / 'mlruns', experiment='sweep')
    assert sorted(got) == ['a', 'b']
    np.testing.assert_allclose(got['a'].loss, runs[0].history.loss)
    assert got['b'].dropna(subset=['valid_loss']).step.tolist() == [5, 10]
    chart = RunsChart().add_mlflow(tmp_path / 'mlruns', prefix='mlflow ')
    assert steps(chart, 'mlflow a') == list(range(1, 11))
    with pytest.raises(ValueError, match="experiment='nope'"): mlflow_runs(tmp_path / 'mlruns', experiment='nope')
    with pytest.raises(ValueError, match='expected an mlruns folder'): mlflow_runs(tmp_path / 'absent')
    chart.close()


def test_mlflow_store_written_by_mlflow_itself(tmp_path, monkeypatch):
    import mlflow
    monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')
    mlflow.set_tracking_uri((tmp_path / 'mlruns').resolve().as_uri())
    mlflow.set_experiment('plain')
    with mlflow.start_run(run_name='loop'):
        for s in range(3): mlflow.log_metric('loss', 3.0 - s, step=s)
    mlflow.set_tracking_uri(None)
    h = mlflow_runs(tmp_path / 'mlruns')['loop']
    assert h.step.tolist() == [0, 1, 2] and h.loss.tolist() == [3.0, 2.0, 1.0]


def test_mlflow_store_followed_live_new_runs_and_steps_without_setting_the_env(tmp_path, monkeypatch):
    import os
    from mlflow.tracking import MlflowClient
    monkeypatch.delenv('MLFLOW_ALLOW_FILE_STORE', raising=False)
    store = tmp_path / 'mlruns'; store.mkdir()
    with monkeypatch.context() as m:  # the writer (a plain MLflow client) opens the store with the switch on
        m.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')
        c = MlflowClient(store.resolve().as_uri())
        eid = c.create_experiment('live')
    a = c.create_run(eid, run_name='a').info.run_id
    for s in range(3): c.log_metric(a, 'loss', 3.0 - s, step=s)
    chart = RunsChart().add_mlflow(store, experiment='live', poll=0.1)
    assert 'MLFLOW_ALLOW_FILE_STORE' not in os.environ  # reading set it only while opening the store
    assert steps(chart, 'a') == [0, 1, 2]
    for s in range(3, 6): c.log_metric(a, 'loss', 3.0 - s, step=s)
    b = c.create_run(eid, run_name='a').info.run_id  # a second run of the same name, started later
    c.log_metric(b, 'loss', 9.0, step=1); c.log_metric(b, 'acc', 0.5, step=1)
    until(lambda: steps(chart, 'a') == list(range(6)) and steps(chart, f'a ({b[:8]})', 'acc') == [1])
    assert chart.frame().query("series == @series_name('a', 'loss')").value.tolist() == [3.0, 2.0, 1.0, 0.0, -1.0, -2.0]
    assert not chart.notes and 'MLFLOW_ALLOW_FILE_STORE' not in os.environ
    chart.close()


def test_mlflow_experiment_that_is_not_there_fails_before_following(tmp_path):
    MLflowWriter(tmp_path / 'mlruns').on_start(type('R', (), {'name': 'r'})())
    chart = RunsChart()
    with pytest.raises(ValueError, match="experiment='nope'"): chart.add_mlflow(tmp_path / 'mlruns', experiment='nope')
    assert not chart.runs
    chart.close()


def test_lightning_csvlogger_file(tmp_path):
    from pytorch_lightning.loggers import CSVLogger
    log = CSVLogger(tmp_path, name='pl')
    for s in range(5): log.log_metrics({'train_loss': 1.0 / (s + 1)}, step=s)
    log.log_metrics({'val_loss': 0.4}, step=4)
    log.save()
    path = tmp_path / 'pl' / 'version_0' / 'metrics.csv'
    chart = RunsChart().add(path, name='lightning')
    assert steps(chart, 'lightning', 'train_loss') == [0, 1, 2, 3, 4] and steps(chart, 'lightning', 'val_loss') == [4]
    chart.close()


def test_half_written_csv_is_a_note_and_what_is_shown_stays(tmp_path):
    pd.DataFrame({'step': [1, 2], 'loss': [2.0, 1.0]}).to_csv(tmp_path / 'ok.csv', index=False)
    (tmp_path / 'half.csv').write_bytes(b'step,loss\n1,2.0\n2,"1.')
    chart = RunsChart(tmp_path / 'ok.csv').add(tmp_path / 'half.csv')
    assert steps(chart, 'ok') == [1, 2]
    assert len(chart.notes) == 1 and chart.notes[0].startswith('half.csv skipped')
    chart.close()


def test_lightning_csvlogger_followed_live_with_a_rewrite_for_a_new_metric(tmp_path):
    from pytorch_lightning.loggers import CSVLogger
    log = CSVLogger(tmp_path, name='pl')
    for s in range(3): log.log_metrics({'train_loss': 1.0 / (s + 1)}, step=s)
    log.save()
    path = Path(log.log_dir) / 'metrics.csv'
    chart = RunsChart().add_csv(path, name='pl', poll=0.1)
    until(lambda: steps(chart, 'pl', 'train_loss') == [0, 1, 2])
    for s in range(3, 6): log.log_metrics({'train_loss': 1.0 / (s + 1)}, step=s)
    log.log_metrics({'val_loss': 0.3}, step=5)  # a new column: CSVLogger rewrites the file with a new header
    log.save()
    until(lambda: steps(chart, 'pl', 'train_loss') == list(range(6)) and steps(chart, 'pl', 'val_loss') == [5])
    chart.close()


def test_a_csv_without_step_followed_live_is_a_note_and_the_chart_lives(tmp_path):
    (tmp_path / 'x.csv').write_text('a,b\n1,2\n')
    chart = RunsChart()
    chart.add(pd.DataFrame({'step': [1, 2], 'loss': [1.0, 0.5]}), name='kept')
    chart.add_csv(tmp_path / 'x.csv', name='x', poll=0.05)
    until(lambda: len(chart.notes) == 1)
    assert "expected a 'step' column" in chart.notes[0] and steps(chart, 'kept') == [1, 2]
    chart.close()
