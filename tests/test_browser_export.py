"""In a real JupyterLab: the TrainingDashboard's Export control, clicked while a run trains, shows a download link
whose file (history CSV, chart PNG, chart SVG) the browser saves with no round trip to the server; training goes on."""
import xml.etree.ElementTree as ET
import pandas as pd
from harness import kernel_print, new_notebook, wait_until

NOTEBOOK = 'tests/notebooks/dashboard_export.ipynb'  # created empty on the server by the test

SETUP = '''
import time, torch
from torch import nn
from gmwidgets.train import Run
from gmwidgets.dashboard import TrainingDashboard
torch.set_num_threads(1)

class Toy(nn.Module):
    "One parameter learning a mean; each step takes ~20 ms."
    def __init__(self): super().__init__(); self.w = nn.Parameter(torch.zeros(1))
    def loss(self, batch):
        time.sleep(0.02)
        return {'loss': (batch.mean() - self.w).pow(2).sum(), 'kl': self.w.detach().abs().sum()}

class Ones:
    kind = 'series'
    def n(self, split): return 64
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None):
        return iter(torch.ones(64, 4, 1).split(batch_size))

run = Run(Toy(), Ones(), lr=0.05, batch_size=8, max_steps=100_000, name='toy <run>')
TrainingDashboard(run)
'''


def steps(lab) -> int:
    return int(kernel_print(lab, 'run.step_count'))


def export(lab, out, choice):
    "Pick `choice` in the Export menu, click Export, click the link that appears; the Playwright Download."
    out.locator('select.gmw-export').select_option(choice)
    out.get_by_role('button', name='Export').click()
    link = out.locator('a.gmw-download')
    wait_until(lambda: link.count() == 1 and choice.split()[-1].lower() in (link.get_attribute('download') or ''),
               timeout=60, what=f'the {choice} download link')
    href = link.get_attribute('href')
    assert href.startswith('data:') and len(href) > 100, href[:100]  # the file is in the page, not on the server
    with lab.page.expect_download() as dl:
        link.click()
    return dl.value


def test_export_while_training(lab):
    new_notebook(lab.server, NOTEBOOK)
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(SETUP)
    out = lab.output(i)
    out.get_by_role('button', name='Start').click()
    wait_until(lambda: steps(lab) > 10, what='training started')

    s0 = steps(lab)
    csv = export(lab, out, 'history CSV')
    assert csv.suggested_filename == 'toy_run-history.csv'  # the run's name made a safe file name
    h = pd.read_csv(csv.path())
    assert len(h) >= s0 - 1 and list(h.step) == list(range(1, len(h) + 1)) and {'loss', 'kl'} <= set(h.columns)

    png = export(lab, out, 'chart PNG')
    data = open(png.path(), 'rb').read()
    assert png.suggested_filename == 'toy_run-chart.png' and data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 5_000

    svg = export(lab, out, 'chart SVG')
    text = ''.join(ET.parse(svg.path()).getroot().itertext())
    assert 'loss' in text and 'kl' in text  # the panel titles

    assert kernel_print(lab, 'run.state') == 'running' and steps(lab) > s0 + 10  # training went on meanwhile
    lab.screenshot('dashboard_export_link', out)
    out.get_by_role('button', name='Stop').click()
    out.get_by_text('stopped').wait_for(timeout=10_000)
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()
    lab.server.api('DELETE', f'contents/{NOTEBOOK}')
