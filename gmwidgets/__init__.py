"""Jupyter widgets for training, sampling and exploring generative models of sequences

Modules:

- `gmwidgets.autoregressive`: Autoregressive models of sequences: a character/word RNN (GRU or LSTM), a causal Transformer with a KV cache, and a GRU with a Gaussian or mixture-of-Gaussians head for real-valued series.
- `gmwidgets.livechart`: `LiveChart`: training curves streamed into an embedded Vega view at O(1) cost per update; `VegaChart` for any Altair chart, offline; `LiveLoss` for a plain training loop.
- `gmwidgets.sampling`: Sampling helpers that every model and the views share: the sampling controls and their checks, top-k/top-p filtering, seeded generators, eval mode, prefix encoding and the Gaussian log-density."""

__version__ = "0.1.0"

# Hand-written (nbdev-export rewrites only the docstring and `__version__` above): `%load_ext gmwidgets` forwards
# to the extension in `gmwidgets.ext`, imported only then, so that `import gmwidgets` stays light.
def load_ipython_extension(ip):
    "`%load_ext gmwidgets`: rich displays, the run registry and the `%gm_*` magics (see `gmwidgets.ext`)."
    from gmwidgets.ext import load_ipython_extension as load; load(ip)

def unload_ipython_extension(ip):
    "`%unload_ext gmwidgets`: ask live runs to stop, remove the displays and magics."
    from gmwidgets.ext import unload_ipython_extension as unload; unload(ip)
