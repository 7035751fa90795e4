"In a real JupyterLab: moving the sampler's temperature slider changes the samples shown in the page."
import json, re, time
import pytest

NOTEBOOK = 'nbs/14_sampler.ipynb'  # any notebook will do: the test appends its own cell

SETUP = '''
import torch
from gmwidgets.sampler import SamplerWidget
torch.set_num_threads(1)

class BrowserLM(torch.nn.Module):
    "Bigram model over 'abcdefgh' (id 0 ends a sample); its last row of samples shows the temperature it got."
    def __init__(self):
        super().__init__()
        self.logits = torch.nn.Parameter(4 * torch.randn(9, 9, generator=torch.Generator().manual_seed(0)))
    @torch.no_grad()
    def sample(self, n, seed=0, temperature=1.0, length=16):
        g = torch.Generator().manual_seed(seed)
        ids = torch.zeros(n, 1, dtype=torch.long)
        for _ in range(length):
            p = (self.logits[ids[:, -1]] / temperature).softmax(-1)
            ids = torch.cat([ids, torch.multinomial(p, 1, generator=g)], 1)
        return [[i for i in r[1:] if i] for r in ids.tolist()]

class BrowserText:
    kind = 'text'
    def decode(self, ids): return ['<b>' + ''.join('abcdefgh'[i - 1] for i in r) for r in ids]
    def contains(self, text): return False

sampler = SamplerWidget(BrowserLM(), BrowserText(), n=6, controls={'temperature': 0.1})
sampler
'''


def shown_samples(out):
    "The sample texts shown in the output area `out`."
    return out.locator('.gmw-sample').all_inner_texts()


def test_temperature_slider_changes_samples(lab):
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']  # the index of the cell appended below
    lab.run_cell_source(SETUP)
    out = lab.output(i)
    out.locator('.gmw-sample').first.wait_for(timeout=20_000)
    before = shown_samples(out)
    assert len(before) == 6 and all(t.startswith('<b>') for t in before), before  # escaped: the tag shows as text
    assert out.locator('.gmw-samples b').count() == 0
    handle = out.locator('.widget-slider .noUi-handle').first
    box = handle.bounding_box()
    t0 = time.monotonic()
    lab.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
    lab.page.mouse.down()
    lab.page.mouse.move(box['x'] + 400, box['y'] + box['height'] / 2, steps=8)  # drag right: a higher temperature
    lab.page.mouse.up()
    lab.page.wait_for_function('''([el, before]) => {
        const now = [...el.querySelectorAll('.gmw-sample')].map(n => n.innerText);
        return now.length === before.length && now.some((t, k) => t !== before[k]); }''',
        arg=[out.element_handle(), before], timeout=10_000, polling=50)
    latency = time.monotonic() - t0
    # the drag's last move is drawn once the controls rest (debounce): then the page shows the kernel's samples
    res = lab.run_cell_source('import json, time; time.sleep(3 * sampler.debounce)\n'
                              'print(json.dumps({"t": sampler.temperature.value, "samples": sampler.samples}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['t'] > 0.5, f"the drag did not move the slider: temperature {kernel['t']}"
    lab.page.wait_for_timeout(200)
    after = shown_samples(out)
    assert after == kernel['samples'] and after != before
    status = out.locator('.gmw-status').inner_text()
    assert re.search(r'6 samples in \d+ ms', status), status
    print(f'slider drag -> new samples in the page: {latency * 1e3:.0f} ms (drag included)')
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()
    with lab.page.expect_download() as dl:  # the export link works in the page, without the kernel
        out.locator('a.gmw-download').click()
    assert dl.value.suggested_filename == 'samples.txt'
    assert open(dl.value.path()).read().splitlines() == after
    lab.screenshot('sampler_after_drag', out)
