"""Toy data shared by the unit tests (more toy models belong here as the tests are tidied)."""
import torch


class Ones:
    "A dataset of 32 windows of ones, shape (4, 1): `Run` trains on it in microseconds."
    def n(self, split): return 32
    def batches(self, split='train', batch_size=8, shuffle=True, seed=None): return iter(torch.ones(32, 4, 1).split(batch_size))
