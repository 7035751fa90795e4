"""Build `gmwidgets/static/vega.js`: Vega, Vega-Lite and vega-embed as one offline ES module.

Run once after upgrading vl-convert-python (the output is committed): `python tools/build_vega_bundle.py`.
The module exports `vegaEmbed`, `vega` and `vegaLite`; the chart views import it from the Jupyter server
(gmwidgets.serverext) or, without one, from the kernel, so nothing is ever fetched from a CDN.
"""
from pathlib import Path
import vl_convert as vlc

SNIPPET = "export { vegaEmbed, vega, vegaLite };\n"
OUT = Path(__file__).resolve().parents[1] / 'gmwidgets' / 'static' / 'vega.js'

def build(out:Path=OUT) -> Path:
    "Write the bundle to `out` and return its path."
    src = vlc.javascript_bundle(SNIPPET)
    header = (f"// Vega + Vega-Lite + vega-embed, bundled by vl-convert-python {vlc.__version__} "
              "(tools/build_vega_bundle.py). Do not edit.\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(header + src)
    return out

if __name__ == '__main__':
    p = build()
    print(f"wrote {p} ({p.stat().st_size/1e3:.0f} KB)")
