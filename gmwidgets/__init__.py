"""Jupyter widgets for training, sampling and exploring generative models of sequences

Modules:

- `gmwidgets.autoregressive`: Autoregressive models of sequences: a character/word RNN (GRU or LSTM), a causal Transformer with a KV cache, and a GRU with a Gaussian or mixture-of-Gaussians head for real-valued series.
- `gmwidgets.compare`: `CompareWidget`: real and synthetic time-series windows of one or several models side by side, with the TimeGAN scores filling in as they are computed.
- `gmwidgets.diffusion`: A 1-D denoising diffusion model for time-series windows: cosine noise schedule, a dilated-convolution denoiser with a timestep embedding, an epsilon- or x0-prediction loss (with Diffusion-TS's Fourier term), an exponential moving average of the weights, DDIM/DDPM sampling, and a quantile map that calibrates the samples' marginals.
- `gmwidgets.ext`: The IPython extension: `%load_ext gmwidgets` gives rich displays, a registry of the kernel's runs and the magics `%gm_runs`, `%gm_stop`, `%gm_train`.
- `gmwidgets.gan`: A recurrent Wasserstein GAN with gradient penalty for time-series windows: a GRU generator from noise and a GRU critic.
- `gmwidgets.latent`: Walk the latent space of a sequence VAE: interpolate between two sequences, traverse one dimension, and click a map of encoded data.
- `gmwidgets.lightning`: `LiveDashboardCallback`: a PyTorch Lightning callback that streams logged metrics into a `LiveChart`, with a Stop button.
- `gmwidgets.livechart`: `LiveChart`: training curves streamed into an embedded Vega view at O(1) cost per update; `LiveLoss` for a plain training loop.
- `gmwidgets.sampler`: `SamplerWidget`: sampling controls (temperature, top-k, top-p, length, prefix, seed, steps) and the samples they give, redrawn as the controls move.
- `gmwidgets.sampling`: Sampling helpers that every model and the views share: the sampling controls and their checks, top-k/top-p filtering, seeded generators, eval mode, prefix encoding and the Gaussian log-density.
- `gmwidgets.train`: `Run`: training in a background thread that the notebook can pause, resume, stop and step, with a history, callbacks and checkpoints.
- `gmwidgets.tseval`: The TimeGAN evaluation suite for synthetic time series: discriminative and predictive scores, plus cheap diagnostics (MMD, ACF, marginals, PCA).
- `gmwidgets.vegachart`: The Vega runtime shipped once with the package, `VegaChart` for any Altair chart offline, and static rendering by vl-convert: files (PNG, SVG, JSON, HTML) and the pictures a saved notebook shows where widgets do not render."""

__version__ = "0.1.0"

# Hand-written (nbdev-export rewrites only the docstring and `__version__` above): `%load_ext gmwidgets` forwards
# to the extension in `gmwidgets.ext`, imported only then, so that `import gmwidgets` stays light.
def load_ipython_extension(ip):
    "`%load_ext gmwidgets`: rich displays, the run registry and the `%gm_*` magics (see `gmwidgets.ext`)."
    from gmwidgets.ext import load_ipython_extension as load; load(ip)

def unload_ipython_extension(ip):
    "`%unload_ext gmwidgets`: ask live runs to stop, remove the displays and magics."
    from gmwidgets.ext import unload_ipython_extension as unload; unload(ip)


# Callables `hook(run)` that every `Run` is passed to as its worker thread starts (gmwidgets.train): how the extension
# layer hears of runs without the run layer importing it. gmwidgets.runspanel (standard library only, so this import
# stays light) adds the Runs panel's reporter.
from gmwidgets.hooks import run_hooks  # noqa: E402, F401 (the package's name for the list)
from gmwidgets import runspanel as _runspanel  # noqa: E402, F401 (imported for its hook)
