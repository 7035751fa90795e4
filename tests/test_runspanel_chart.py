"""A run's chart tab without a browser: the server's `ChartFeed` is the run's `LiveChart` fed from its rows file. For a
kernel run's rows and a script's history file, the display it sends (whole first, then the changes, applied as the
view applies them) equals the display of a `LiveChart` given the same points; a poll reads only the rows appended
since the last one; the decimation caps the display however long the run; tabs have their own feeds."""
import base64, json
import numpy as np
import pytest, torch
from gmwidgets.livechart import COLS, LiveChart
from gmwidgets.runsapi import MAX_FEEDS, ChartFeed, RunsPanel
from gmwidgets.runspanel import STATUS_ENV, RunReporter
from gmwidgets.train import Run
from toys import Ones

torch.set_num_threads(1)


class Display:
    "The rows a LiveChart view holds after each message, applied as gmwidgets/static/livechart.js `applyRows` does."
    def __init__(self): self.rows, self.names, self.spec = [], [], {}

    def apply(self, up:dict):
        self.names, self.spec = up['series_names'], up.get('spec', self.spec)
        msg = up['msg']
        if msg is None: return
        new = np.frombuffer(base64.b64decode(up['rows']), np.float32).reshape(-1, COLS).tolist()
        replace, tails = set(msg.get('replace', [])), set(msg.get('tails', []))
        if msg.get('all'): self.rows = []
        self.rows = [r for r in self.rows if r[0] not in replace and not (r[0] in tails and r[4])]
        self.rows += new

    def points(self) -> list: return sorted((self.names[int(r[0])], r[1], r[2]) for r in self.rows)


def reference(chunks:list[list[tuple]], max_points:int) -> LiveChart:
    "A LiveChart given the points (step, {term: value}) of each chunk, then a flush: what a kernel's chart would show."
    chart = LiveChart(max_points=max_points, idle_finalize_s=None)
    chart._dirty = True  # no flusher thread: a flush after each chunk, below
    for points in chunks:
        for step, terms in points: chart.push(step, **terms)
        chart.flush()
    return chart


def shown(chart:LiveChart) -> list:
    names = chart.series_names
    return sorted((names[int(r[0])], r[1], r[2]) for r in chart.display_rows().tolist())


def test_a_history_file_polled_in_pieces_shows_what_its_livechart_shows(tmp_path):
    path, chunks = tmp_path/'h.jsonl', []
    feed, view = ChartFeed(path, max_points=40), Display()
    view.apply(feed.poll(reset=True))  # no file yet: an empty display that waits
    assert view.spec == {} and view.rows == []
    for chunk in range(6):  # a script appends rows between polls (as many as a few seconds of a run)
        chunks.append([])
        with open(path, 'a') as f:
            for i in range(chunk * 150, (chunk + 1) * 150):
                terms = {'loss': 2 / (i + 1) + 0.1 * np.sin(i), **({'valid': 1.5 / (i + 1)} if i % 10 == 0 else {})}
                chunks[-1].append((i, terms))
                f.write(json.dumps({'step': i, 'epoch': i // 100, 'time': 0.01 * i, **terms}) + '\n')
        offset = feed.offset
        up = feed.poll()
        assert up['n_rows'] == (chunk + 1) * 150 and feed.offset > offset
        view.apply(up)
    ref = reference(chunks, 40)
    assert view.names == ref.series_names == ['loss', 'valid'] and view.spec == ref.spec
    assert view.points() == shown(ref)
    assert len(view.rows) <= 2 * (40 + 4)  # decimated: 900 points, at most max_points (and a tail) a series
    assert feed.poll()['msg'] is None  # nothing appended: nothing sent


class Lin(torch.nn.Module):
    def __init__(self): super().__init__(); self.f = torch.nn.Linear(1, 1)
    def loss(self, batch): return {'loss': (self.f(batch) ** 2).mean()}


def test_a_kernel_runs_rows_show_the_dashboards_terms(tmp_path, monkeypatch):
    monkeypatch.setenv(STATUS_ENV, str(tmp_path/'status'))
    run = Run(Lin(), Ones(), max_steps=30, batch_size=8, eval_every=10, name='k').start()
    run.wait(30)
    rep = next(ob for ob in run.observers if isinstance(ob, RunReporter))
    panel = RunsPanel(root_dir=tmp_path)
    view = Display()
    view.apply(panel.chart('k:' + rep.id, 'tab-1'))
    assert {'loss', 'lr', 'valid_loss'} <= set(view.names)
    steps = {p[1] for p in view.points() if p[0] == 'loss'}
    assert steps == set(map(float, range(1, 31)))  # every step of the run, in order of the history
    assert sorted(run.history['loss'].round(5).tolist()) == sorted(round(p[2], 5) for p in view.points()
                                                                   if p[0] == 'loss')


def test_tabs_have_their_own_feeds_and_bad_requests_are_refused(tmp_path):
    (tmp_path/'runs').mkdir()
    (tmp_path/'runs'/'a.jsonl').write_text('{"step": 1, "loss": 2.0}\n')
    panel = RunsPanel(root_dir=tmp_path)
    assert panel.chart('f:a.jsonl', 'one')['msg'] == {'type': 'rows', 'all': True}
    assert panel.chart('f:a.jsonl', 'one')['msg'] is None
    assert panel.chart('f:a.jsonl', 'two')['msg'] == {'type': 'rows', 'all': True}
    assert panel.chart('f:a.jsonl', 'one', reset=True)['msg'] == {'type': 'rows', 'all': True}  # a view's 'hello'
    up = panel.chart('f:a.jsonl', 'one', log_scale=True)
    assert up['msg'] is None and 'spec' in up and up['spec'] != panel.chart('f:a.jsonl', 'two', reset=True)['spec']
    for i in range(MAX_FEEDS + 3): panel.chart('f:a.jsonl', f'tab{i}')
    assert len(panel._feeds) == MAX_FEEDS and 'one' not in panel._feeds
    assert panel.chart('f:a.jsonl', 'one')['msg']['all']  # a dropped feed starts again with the whole display
    for view in ['', 'a b', '<b>', 'x' * 65, None]:
        with pytest.raises(ValueError, match='view='): panel.chart('f:a.jsonl', view)
    with pytest.raises(ValueError, match="'..'"): panel.chart('f:../a.jsonl', 'one')
    with pytest.raises(ValueError, match='id='): panel.chart('x:1', 'one')
