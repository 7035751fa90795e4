"In a real JupyterLab: moving the sampler's temperature slider changes the samples shown in the page."
import json, re, time

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


PATH_SETUP = '''
import torch
from gmwidgets.sampler import SamplerWidget
torch.set_num_threads(1)

class BrowserPath(torch.nn.Module):
    "A diffusion-like sampler: seeded noise moved linearly to a seeded walk over `steps`; counts its calls."
    calls = 0
    def sample(self, n, seed=0, steps=8, return_path=False):
        BrowserPath.calls += 1
        g = torch.Generator().manual_seed(seed)
        noise, x = 3 * torch.randn(n, 12, 2, generator=g), 0.5 + torch.randn(n, 12, 2, generator=g).cumsum(1) / 10
        w = torch.linspace(0, 1, steps + 1)[:, None, None, None]
        return (x, (1 - w) * noise + w * x) if return_path else x

dsampler = SamplerWidget(BrowserPath(), n=4, controls={'steps': 8})
dsampler
'''

# the chart's pixels, and the times (ms) at which Vega put a new canvas in the output (one per frame)
CANVAS = "el => { const c = el.querySelector('canvas.marks'); return c ? c.toDataURL() : ''; }"
WATCH = '''el => { window.gmwFrames = []; const seen = new WeakSet();
    new MutationObserver(ms => { for (const m of ms) for (const n of m.addedNodes) {
        const cs = !n.querySelectorAll ? [] : n.matches('canvas.marks') ? [n] : [...n.querySelectorAll('canvas.marks')];
        for (const c of cs) if (!seen.has(c)) { seen.add(c); window.gmwFrames.push(performance.now()); } } })
    .observe(el, {childList: true, subtree: true}); return performance.now(); }'''


def test_denoising_step_slider_changes_chart(lab):
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(PATH_SETUP)
    out = lab.output(i)
    lab.charts(i).first.wait_for(timeout=30_000)
    label = out.locator('.gmw-denoise')
    assert label.inner_text().startswith('step 8 of 8: x_t, the samples'), label.inner_text()
    before = out.evaluate(CANVAS)
    assert before
    handle = out.locator('.widget-slider', has_text='denoising step').locator('.noUi-handle')
    box = handle.bounding_box()
    t0 = time.monotonic()
    lab.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
    lab.page.mouse.down()
    lab.page.mouse.move(box['x'] - 600, box['y'] + box['height'] / 2, steps=6)  # drag left: back to the noise
    lab.page.mouse.up()
    lab.page.wait_for_function('''([el, before]) => { const c = el.querySelector('canvas.marks');
        return el.innerText.includes('step 0 of 8') && c && c.toDataURL() !== before; }''',
        arg=[out.element_handle(), before], timeout=10_000, polling=50)
    drag_ms = 1e3 * (time.monotonic() - t0)
    res = lab.run_cell_source('import json; print(json.dumps({"step": dsampler.denoise_step.value, "calls": '
                              'BrowserPath.calls, '
                              '"step_ms": dsampler.timing["step_ms"]}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['step'] == 0 and kernel['calls'] == 1, kernel  # moved without sampling again
    noise = out.evaluate(CANVAS)
    assert noise != before
    # play: the Play widget drives the slider in the page (jslink); each frame is drawn by the kernel
    t_start = out.evaluate(WATCH)
    out.locator('.widget-play button').first.click()
    lab.page.wait_for_function("el => el.innerText.includes('step 8 of 8')", arg=out.element_handle(), timeout=20_000,
                               polling=50)
    lab.page.wait_for_timeout(300)
    frames = lab.page.evaluate('window.gmwFrames')
    assert len(frames) >= 4, frames  # the chart was redrawn along the way, not just at the end
    assert out.evaluate(CANVAS) == before  # back on the samples: the same picture as at first
    res = lab.run_cell_source('print(BrowserPath.calls, dsampler.denoise_step.value)')
    assert res[0]['text'].split() == ['1', '8']
    gaps = [b - a for a, b in zip(frames, frames[1:])]
    print(f'drag to step 0 -> new chart: {drag_ms:.0f} ms (drag included); kernel cost of a frame '
          f'{kernel["step_ms"]:.1f} ms; '
          f'play (interval 200 ms): {len(frames)} frames over {frames[-1] - t_start:.0f} ms, median gap '
          f'{sorted(gaps)[len(gaps) // 2]:.0f} ms')
    # the fastest the page follows: play every 30 ms through 40 steps (frames may be dropped; the last one must show)
    lab.run_cell_source('dsampler.denoise_play.interval = 30; dsampler.steps.value = 40; import time; time.sleep(1)')
    lab.page.wait_for_function("el => el.innerText.includes('step 40 of 40')", arg=out.element_handle(),
                               timeout=20_000, polling=50)
    lab.run_cell_source('dsampler.denoise_step.value = 0')
    lab.page.wait_for_function("el => el.innerText.includes('step 0 of 40')", arg=out.element_handle(), timeout=20_000,
                               polling=50)
    t_start = out.evaluate(WATCH)
    out.locator('.widget-play button').first.click()
    lab.page.wait_for_function("el => el.innerText.includes('step 40 of 40')", arg=out.element_handle(),
                               timeout=30_000, polling=20)
    t_end = lab.page.evaluate('performance.now()')
    fast = lab.page.evaluate('window.gmwFrames')
    print(f'play (interval 30 ms, 40 steps): {len(fast)} frames drawn over {t_end - t_start:.0f} ms '
          f'({(t_end - t_start) / max(len(fast), 1):.0f} ms a frame)')
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()
    lab.screenshot('sampler_denoising_step', out)
