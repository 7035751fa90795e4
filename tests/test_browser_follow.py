"""In a real JupyterLab: a followed file that turns into a folder shows the error in the chart's status line (as text),
the follower keeps polling, and the line goes away once the file is back."""
import time

NOTEBOOK = 'nbs/31_follow.ipynb'  # any notebook will do: the test appends its own cells

_STATUS = '''(el) => { const s = el.querySelector('.gmwidgets-chart .gmwidgets-status');
  return s ? {text: s.textContent, shown: s.style.display !== 'none', html: s.innerHTML} : null; }'''

SETUP = '''
import pathlib, tempfile
from gmwidgets.follow import follow
p = pathlib.Path(tempfile.mkdtemp()) / 'h<b>.jsonl'
p.write_text('{"step": 1, "loss": 1.0}\\n')
chart = follow(p, poll=0.05)
chart
'''


def wait_status(lab, i, cond, timeout=20):
    deadline, st = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        st = lab.page.evaluate(_STATUS, lab.output(i).element_handle())
        if st and cond(st): return st
        time.sleep(0.1)
    raise TimeoutError(f'status line in cell {i}: condition not met after {timeout} s; last {st}')


def test_follow_status_line_shows_io_errors(lab):
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(SETUP)
    lab.charts(i).first.wait_for(timeout=30_000)
    assert not wait_status(lab, i, lambda s: True)['shown']          # no error: no line
    lab.run_cell_source('p.unlink(); p.mkdir()')                        # the path becomes a folder
    st = wait_status(lab, i, lambda s: s['shown'] and 'IsADirectoryError' in s['text'])
    assert '<b>' not in st['html'] and '&lt;b&gt;' in st['html']       # the path is shown as text, escaped
    lab.run_cell_source('p.rmdir(); p.write_text(\'{"step": 2, "loss": 0.5}\\n\'); chart.follower.running')
    wait_status(lab, i, lambda s: not s['shown'] and s['text'] == '')
    lab.run_cell_source('chart.stop()')
