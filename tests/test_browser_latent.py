"""In a real JupyterLab: dragging the LatentExplorer's t slider decodes a new point in the page, and clicking a point of
the latent map decodes that item (sent from latentmap.js back to the kernel)."""
import json, re, time

NOTEBOOK = 'nbs/15_latent.ipynb'  # the test appends its own cell

SETUP = '''
import torch
from gmwidgets.data import TextData
from gmwidgets.vae import SentenceVAE
from gmwidgets.latent import LatentExplorer
torch.set_num_threads(1); torch.manual_seed(0)
texts = ['<b>bold</b>', '<i>anna</i>', 'bob & co', '<zed>', '<kim>', '<b>lou', 'max</b>', '<ned>', '<i>otto',
         '&pia'] * 4
data = TextData.from_texts(texts, level='char', name='toy')
vae = SentenceVAE.for_data(data, emb=8, hidden=24, latent=3)
with torch.no_grad():  # react to z
    vae.z_to_h.weight.mul_(30); vae.head.weight.mul_(10); vae.to_posterior.weight.mul_(20)
ex = LatentExplorer(vae, data, split='train', n_map=30)
ex.random_endpoints()
ex
'''


def current_text(out) -> str:
    return out.locator('.gmw-latent-current').inner_text()


def test_slider_decodes_and_map_click_picks(lab):
    lab.open(NOTEBOOK)
    i = lab.state()['ncells']
    lab.run_cell_source(SETUP)
    out = lab.output(i)
    out.locator('.gmw-latent-current .gmw-latent-text').wait_for(timeout=20_000)
    before = current_text(out)
    strip = out.locator('.gmw-latent-step').all_inner_texts()
    assert len(strip) == 7 and strip[0].startswith('0.00') and strip[-1].startswith('1.00'), strip
    handle = out.locator('.widget-slider .noUi-handle').first  # the first slider is t
    box = handle.bounding_box()
    t0 = time.monotonic()
    lab.page.mouse.move(box['x'] + box['width'] / 2, box['y'] + box['height'] / 2)
    lab.page.mouse.down()
    lab.page.mouse.move(box['x'] + 600, box['y'] + box['height'] / 2, steps=8)  # drag to the right end: t -> 1
    lab.page.mouse.up()
    lab.page.wait_for_function('([el, before]) => { const n = el.querySelector(".gmw-latent-current"); return n && '
                               'n.innerText !== before; }',
                               arg=[out.element_handle(), before], timeout=10_000, polling=50)
    latency = time.monotonic() - t0
    lab.wait_idle()
    res = lab.run_cell_source('import json; print(json.dumps({"t": ex.t.value, "current": ex.current, "b": '
                              'ex.decode(ex.z_b[None])}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['t'] > 0.5, f"the drag did not move the slider: t={kernel['t']}"
    lab.page.wait_for_timeout(300)
    assert current_text(out).strip() == kernel['current'][0].strip()
    assert re.search(r'decoded t=\d\.\d\d \(lerp\) in \d+ ms', out.locator('.gmw-latent-status').inner_text())
    print(f'slider drag -> new decoded text in the page: {latency * 1e3:.0f} ms (drag included)')

    # the map: rendered by our script (svg), marks drawn, a click on a data point decodes it in the kernel
    out.locator('.gmw-latent-map svg.marks').wait_for(timeout=20_000)
    dots = out.locator('.gmw-latent-map g.layer_0_marks path')
    assert dots.count() == 30
    dots.nth(0).click(force=True)  # points overlap: whichever data point is on top under the cursor is picked
    out.locator('.gmw-latent-picked').get_by_text('map point #').wait_for(timeout=10_000)
    picked = out.locator('.gmw-latent-picked').inner_text()
    idx = int(re.search(r'map point #(\d+)', picked).group(1))
    res = lab.run_cell_source(f'print(json.dumps({{"orig": data.texts("train")[{idx}], "dec": ex.picked_output}}))')
    kernel = json.loads(res[0]['text'])
    assert kernel['orig'] in picked and kernel['dec'][0].strip() in picked  # shown as text: the markup is escaped
    assert out.locator('.gmw-latent-picked b, .gmw-latent-picked i').count() == 0
    assert not lab.console_errors, lab.console_errors
    assert not lab.failed_cells()
    lab.screenshot('latent_after_drag_and_click', out)
