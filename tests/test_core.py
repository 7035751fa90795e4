"Protocols and the dataset registry (gmwidgets.core)."
import pytest, torch
from torch import nn
from gmwidgets.core import (SeqModel, Sampler, LatentModel, batch_kind, check_terms, register_dataset,
                            load_dataset, dataset_entries, _DATASETS)


class Tiny(nn.Module):
    def __init__(self): super().__init__(); self.w = nn.Parameter(torch.zeros(1))
    def loss(self, batch): return {'loss': (batch.float().mean() - self.w).pow(2)}
    def sample(self, n, seed=None): return torch.zeros(n, 3)


def test_any_module_with_loss_is_a_seq_model():
    m = Tiny()
    assert isinstance(m, SeqModel) and isinstance(m, Sampler)
    assert not isinstance(m, LatentModel)
    assert not isinstance(nn.Linear(2, 2), SeqModel)


@pytest.mark.parametrize('x,kind', [(torch.zeros(2, 5, dtype=torch.long), 'tokens'), (torch.zeros(2, 5, 3), 'series')])
def test_batch_kind(x, kind): assert batch_kind(x) == kind


@pytest.mark.parametrize('x,msg',
                         [(torch.zeros(2, 5), 'shape (2, 5)'), (torch.zeros(2, 5, 3, dtype=torch.long), 'torch.int64'),
                                   (torch.zeros(5), 'shape (5,)'), ('abc', 'str')])
def test_batch_kind_names_the_bad_batch(x, msg):
    with pytest.raises((TypeError, ValueError), match=msg.replace('(', r'\(').replace(')', r'\)')): batch_kind(x)


def test_check_terms():
    assert check_terms(Tiny().loss(torch.ones(2, 3)))['loss'].item() == pytest.approx(1.0)
    with pytest.raises(TypeError, match='tuple'): check_terms((1, 2))
    with pytest.raises(KeyError, match="'nll'"): check_terms({'nll': torch.tensor(1.)})
    with pytest.raises(ValueError, match="'kl'"): check_terms({'loss': torch.tensor(1.), 'kl': 0.5})


def test_registry_round_trip():
    register_dataset('_t', lambda k=1: ('data', k), 'a test entry', 'text')
    try:
        assert load_dataset('_t', k=4) == ('data', 4)
        assert '_t' in [e.name for e in dataset_entries()]
        with pytest.raises(ValueError, match="kind='image'"): register_dataset('_u', list, 'x', 'image')
        with pytest.raises(KeyError, match="unknown dataset 'nope'"): load_dataset('nope')
    finally: _DATASETS.pop('_t')
