"""Behaviour of the latent explorer: lerp/slerp/homotopy/traversal maths, the slider decoding a new point, the
lerp/slerp toggle, endpoints from items, typed text and the prior, the map's marks and clicks, escaping, series."""
import html
import pytest, torch
from hypothesis import given, settings, strategies as st
from gmwidgets.data import TextData, sines
from gmwidgets.vae import SentenceVAE, SeriesVAE
from gmwidgets.latent import lerp, slerp, homotopy, traversal, Projection, LatentExplorer, LatentMap, latent_map_chart
from gmwidgets.livechart import static_text

torch.set_num_threads(1)
vecs = st.lists(st.floats(-5, 5), min_size=2, max_size=8)


@given(vecs, vecs)
@settings(max_examples=50, deadline=None)
def test_endpoints_equal_inputs(a, b):
    n = min(len(a), len(b))
    a, b = torch.tensor(a[:n]), torch.tensor(b[:n])
    for f in (lerp, slerp):
        torch.testing.assert_close(f(a, b, 0.0), a, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(f(a, b, 1.0), b, atol=1e-5, rtol=1e-5)


def test_slerp_stays_on_the_sphere_and_differs_from_lerp():
    a, b = torch.tensor([3., 0., 0.]), torch.tensor([0., 3., 0.])
    for t in (0.1, 0.5, 0.9): assert float(slerp(a, b, t).norm()) == pytest.approx(3.0, rel=1e-5)
    assert float(lerp(a, b, 0.5).norm()) < 3.0 - 0.5
    torch.testing.assert_close(slerp(a, 2 * a, 0.5), lerp(a, 2 * a, 0.5))  # parallel: falls back to lerp
    torch.testing.assert_close(slerp(a, -a, 0.5), torch.zeros(3))            # antipodal: lerp, no blow-up
    batch = slerp(torch.randn(4, 3), torch.randn(4, 3), 0.3)
    assert batch.shape == (4, 3)


def test_homotopy_and_traversal():
    a, b = torch.zeros(4), torch.ones(4)
    h = homotopy(a, b, 7)
    assert h.shape == (7, 4)
    torch.testing.assert_close(h[:, 0], torch.linspace(0, 1, 7))
    t = traversal(torch.arange(4.), 2, torch.linspace(-3, 3, 7))
    torch.testing.assert_close(t[:, 2], torch.linspace(-3, 3, 7))
    assert (t[:, [0, 1, 3]] == torch.tensor([0., 1., 3.])).all()
    with pytest.raises(ValueError, match='steps=1'): homotopy(a, b, 1)
    with pytest.raises(ValueError, match='dim=4'): traversal(a, 4, [0.])


def test_projection_pca_finds_the_spread():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(200, 5, generator=g) * torch.tensor([0.01, 5., 0.01, 2., 0.01])
    xy = Projection(mu)(mu)
    assert xy.shape == (200, 2)
    assert float(xy[:, 0].var()) == pytest.approx(float(mu[:, 1].var()), rel=0.1)
    with pytest.raises(ValueError, match="method='tsne'"): Projection(mu, 'tsne')


@pytest.fixture
def text_explorer():
    "An explorer on a char-level toy set with markup in it and an untrained VAE made sensitive to z."
    torch.manual_seed(0)
    texts = ['<b>bold</b>', '<i>anna</i>', 'bob & co', '<zed>', '<kim>', '<b>lou', 'max</b>', '<ned>', '<i>otto',
             '&pia'] * 4
    data = TextData.from_texts(texts, level='char', name='toy')
    vae = SentenceVAE.for_data(data, emb=8, hidden=24, latent=3)
    with torch.no_grad(): vae.z_to_h.weight.mul_(30); vae.head.weight.mul_(10); vae.to_posterior.weight.mul_(20)
    return LatentExplorer(vae, data, n_map=30), data


def test_slider_changes_the_output(text_explorer):
    ex, _ = text_explorer
    ex.random_endpoints()  # two codes from the prior, far apart
    assert ex.decode(ex.z_a[None]) != ex.decode(ex.z_b[None])  # the endpoints decode differently
    seen = set()
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        ex.t.value = t
        torch.testing.assert_close(ex.z_at(), lerp(ex.z_a, ex.z_b, t))
        assert ex.current == ex.decode(ex.z_at()[None])
        seen.add(ex.current[0])
        assert f't={t:.2f}' in ex.status.value
    assert len(seen) >= 2
    ex.t.value = 1.0
    assert ex.current == ex.decode(ex.z_b[None])
    assert len(ex.homotopy) == 7 and ex.homotopy[0] == ex.decode(ex.z_a[None])[0]


def test_method_toggle_switches_the_path(text_explorer):
    ex, _ = text_explorer
    ex.t.value = 0.5
    lin = ex.z_at()
    ex.method.value = 'slerp'
    torch.testing.assert_close(ex.z_at(), slerp(ex.z_a, ex.z_b, 0.5))
    assert not torch.allclose(lin, ex.z_at())


def test_endpoints_from_items_text_and_prior(text_explorer):
    ex, data = text_explorer
    ex.b_index.value = 3
    assert ex.b_text.value == data.texts('test')[3]
    torch.testing.assert_close(ex.z_b, ex._encode(ex._items([3]))[0][0])
    before = ex.z_a.clone()
    ex.a_text.value = 'zed'
    torch.testing.assert_close(ex.z_a, ex._encode(data.collate([data.vocab.encode('zed')]))[0][0])
    assert not torch.allclose(before, ex.z_a)
    ex.random_button.click()
    za = ex.z_a.clone(); ex.random_button.click()
    assert not torch.allclose(za, ex.z_a)


def test_traversal_sets_one_dimension(text_explorer):
    ex, _ = text_explorer
    ex.dim.value, ex.sigma.value = 1, 3.0
    z = ex.z_at().clone(); z[1] = 3.0
    assert ex.traversed == ex.decode(z[None])
    assert 'dim 1 = +3.0' in ex.traversal_output.value


def test_map_marks_follow_the_slider_and_clicks_decode(text_explorer):
    ex, data = text_explorer
    assert len(ex.map_points) == min(30, data.n('test'))
    ex.t.value = 0.0
    m0 = {r['what']: (r['x'], r['y']) for r in ex.map.marks}
    assert m0['z'] == pytest.approx(m0['A'])
    ex.t.value = 1.0
    m1 = {r['what']: (r['x'], r['y']) for r in ex.map.marks}
    assert m1['z'] == pytest.approx(m1['B'])
    ex.map._on_browser_msg(ex.map, {'type': 'pick', 'index': 2}, [])  # what latentmap.js sends on a click
    assert 'map point #2' in ex.picked.value
    assert ex.picked_output == ex.decode(ex.map_mu[2:3])
    assert ex.map.static_spec()['datasets']['marks'] == ex.map.marks


def test_everything_shown_is_escaped(text_explorer):
    ex, data = text_explorer
    ex.map.pick(0)  # every toy text holds markup: the original is shown escaped
    orig = data.texts('test')[0]
    assert html.escape(orig) in ex.picked.value and orig not in ex.picked.value
    ex.a_text.value = '<b>bold</b> & <i>x</i>'
    ex.sigma.value = 2.0
    for w in (ex.output, ex.strip, ex.traversal_output, ex.picked):
        assert '<b>' not in w.value and '<i>' not in w.value and '<zed>' not in w.value
    decoded = ex.current[0]
    assert html.escape(decoded) in ex.output.value


def test_series_explorer_plots_windows():
    sd = sines(n=200)
    torch.manual_seed(0)
    ex = LatentExplorer(SeriesVAE.for_data(sd, hidden=16, latent=3), sd, n_map=40)
    assert ex.current.shape == (1, 24, 5)
    spec0 = ex.output.spec
    ex.t.value = 1.0
    torch.testing.assert_close(ex.current, ex.decode(ex.z_b[None]))
    assert ex.output.spec != spec0 and ex.strip.spec
    assert ex.homotopy.shape == (7, 24, 5)
    assert not hasattr(ex, 'a_text')


def test_latent_map_widget_and_script():
    import pandas as pd
    pts = pd.DataFrame({'x': [0., 1.], 'y': [1., 0.], 'index': [0, 1], 'label': ['a', 'b']})
    m = LatentMap(latent_map_chart(pts))
    got = []
    m.on_pick(got.append)
    m._on_browser_msg(m, {'type': 'pick', 'index': 1}, [])
    m._on_browser_msg(m, {'type': 'other'}, [])
    assert got == [1]
    js = static_text('latentmap.js')
    assert 'model.send({ type: "pick"' in js and 'export default' in js


def test_latentmap_js_is_package_data():
    import fnmatch, tomllib
    from pathlib import Path
    cfg = tomllib.loads((Path(__file__).resolve().parents[1] / 'pyproject.toml').read_text())
    assert any(fnmatch.fnmatch('static/latentmap.js',
                               g) for g in cfg['tool']['setuptools']['package-data']['gmwidgets'])


def test_a_t_move_decodes_one_sequence_and_nothing_else(text_explorer):
    "The slider's cost: one sequence a move; the strip waits for new endpoints, the traversal for dim/sigma."
    ex, _ = text_explorer
    ex.random_endpoints()
    calls, decode = [], ex.model.decode
    ex.model.decode = lambda z, **kw: calls.append(z.shape[0]) or decode(z, **kw)
    strip, traversed = ex.strip.value, ex.traversal_output.value
    for t in (0.2, 0.6, 0.9):
        ex.t.value = t
    assert calls == [1, 1, 1]
    assert ex.strip.value == strip and ex.traversal_output.value == traversed and 'at t=0.00' in traversed
    assert ex.latency_ms > 0 and {r['what'] for r in ex.map.marks} == {'A', 'B', 'z'}
    calls.clear(); ex.sigma.value = 1.5                       # a traversal move decodes the point at the slider's t
    z = ex.z_at().clone(); z[ex.dim.value] = 1.5
    assert calls == [1] and ex.traversed == ex.decode(z[None]) and 'at t=0.90' in ex.traversal_output.value
    calls.clear(); ex.method.value = 'slerp'                  # a new path: strip (7), current (1), traversal (1)
    assert calls == [7, 1, 1]


def test_text_is_decoded_greedily_no_longer_than_the_data(text_explorer):
    ex, data = text_explorer
    longest = max(len(r) - 1 for s in ('train', 'test') for r in data.ids(s))  # '<b>bold</b>' and <eos>
    assert ex.controls == {'greedy': True, 'length': longest}
    assert all(len(s) <= longest for s in ex.homotopy + ex.current)
    own = LatentExplorer(ex.model, data, n_map=5, decode_controls={'length': 3, 'greedy': False, 'seed': 0})
    assert own.controls['length'] == 3 and all(len(s) <= 3 for s in own.homotopy)


def _teacher_forced_argmax(vae, z, ids):
    "Greedy choices of the full-sequence decoder (`_decode_logits`) fed the decoded ids: the reference."
    c = vae.config
    x = torch.tensor([[c.bos_id] + ids])
    with torch.no_grad(): logits, _ = vae._decode_logits(x, z[None])      # (1, T, V)
    logits[..., [c.pad_id, c.bos_id]] = float('-inf')
    return logits[0].argmax(-1).tolist()


def test_stepwise_decode_matches_the_sequence_decoder_and_follows_new_weights():
    torch.manual_seed(1)
    vae = SentenceVAE(40, emb=8, hidden=16, latent=3, length=12)
    with torch.no_grad(): vae.z_to_h.weight.mul_(10); vae.head.weight.mul_(4)
    z = torch.randn(6, 3)
    for _ in range(2):
        for zi, ids in zip(z, vae.decode(z, greedy=True)):
            ref = _teacher_forced_argmax(vae, zi, ids)
            assert ids == ref[:len(ids)]                                        # the same words ...
            assert len(ids) == 12 or ref[len(ids)] == vae.config.eos_id         # ... and the same end
        before = vae.decode(z, greedy=True)
        opt = torch.optim.SGD(vae.parameters(),
                              lr=5.0)                         # an optimiser step changes the head in place
        vae.loss(torch.randint(4, 40, (8, 6))).get('loss').backward(); opt.step()
        assert vae.decode(z, greedy=True) != before                             # the cached head copy was refreshed


def test_series_spec_is_built_once_then_only_its_data_change():
    from gmwidgets.charts import series_chart
    sd = sines(n=200)
    torch.manual_seed(0)
    ex = LatentExplorer(SeriesVAE.for_data(sd, hidden=16, latent=3), sd, n_map=20)
    ex.t.value = 0.4
    spec = ex.output.spec
    frame = sd.to_frame(ex.current, index=0).assign(kind='t=0.40')
    fresh = series_chart(frame, max_samples=1, columns=5, width=120, height=70).to_dict()
    assert list(spec['datasets'].values())[0] == list(fresh['datasets'].values())[0]   # the same rows as a fresh chart
    shape = lambda d: {k: v for k, v in d.items() if k not in ('datasets', 'data')}
    assert shape(spec) == shape(fresh)
    ex.t.value = 0.8
    assert ex.output.spec['datasets'] != spec['datasets'] and ex.output.spec['data'] == spec['data']
