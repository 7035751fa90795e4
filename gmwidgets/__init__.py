"""Jupyter widgets for training, sampling and exploring generative models of sequences

Modules:

- `gmwidgets.autoregressive`: Autoregressive models of sequences: a character/word RNN (GRU or LSTM), a causal Transformer with a KV cache, and a GRU with a Gaussian or mixture-of-Gaussians head for real-valued series.
- `gmwidgets.livechart`: `LiveChart`: training curves streamed into an embedded Vega view at O(1) cost per update; `VegaChart` for any Altair chart, offline; `LiveLoss` for a plain training loop."""

__version__ = "0.1.0"
