"""minigrad.nn layers and containers: init, forward and backward vs PyTorch, container API."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

try:
    import torch
except ImportError:
    torch = None

R = np.random.default_rng(0)

# (id, minigrad layer factory, torch layer factory, input arrays)
LAYERS = [
    ("linear", lambda: nn.Linear(3, 4), lambda: torch.nn.Linear(3, 4), [R.standard_normal((5, 3))]),
    ("linear_3d_no_bias", lambda: nn.Linear(3, 4, bias=False),
     lambda: torch.nn.Linear(3, 4, bias=False), [R.standard_normal((2, 5, 3))]),
    ("embedding", lambda: nn.Embedding(6, 3), lambda: torch.nn.Embedding(6, 3),
     [R.integers(0, 6, (2, 4))]),
    ("embedding_padding", lambda: nn.Embedding(6, 3, padding_idx=0),
     lambda: torch.nn.Embedding(6, 3, padding_idx=0), [np.array([[0, 1, 0], [5, 0, 2]])]),
    ("layer_norm", lambda: nn.LayerNorm(4), lambda: torch.nn.LayerNorm(4),
     [R.standard_normal((2, 3, 4))]),
    ("layer_norm_2_dims_no_bias", lambda: nn.LayerNorm((3, 4), bias=False),
     lambda: torch.nn.LayerNorm((3, 4), bias=False), [R.standard_normal((2, 3, 4))]),
    ("layer_norm_no_affine", lambda: nn.LayerNorm(4, elementwise_affine=False),
     lambda: torch.nn.LayerNorm(4, elementwise_affine=False), [R.standard_normal((3, 4))]),
    ("relu", nn.ReLU, lambda: torch.nn.ReLU(), [R.standard_normal((3, 4))]),
    ("gelu_tanh", lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"),
     [R.standard_normal((3, 4))]),
    ("tanh", nn.Tanh, lambda: torch.nn.Tanh(), [R.standard_normal((3, 4))]),
    ("sigmoid", nn.Sigmoid, lambda: torch.nn.Sigmoid(), [R.standard_normal((3, 4))]),
    ("dropout_eval", lambda: nn.Dropout(0.5).eval(), lambda: torch.nn.Dropout(0.5).eval(),
     [R.standard_normal((3, 4))]),
    ("ffn", lambda: nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 4), nn.LayerNorm(4)),
     lambda: torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 4),
                                 torch.nn.LayerNorm(4)),
     [R.standard_normal((2, 3, 4))]),
]


@pytest.mark.torch
@pytest.mark.parametrize("make, make_torch, arrays",
                         [pytest.param(*case[1:], id=case[0]) for case in LAYERS])
def test_layer_matches_torch(torch_module_oracle, make, make_torch, arrays):
    torch_module_oracle(make(), make_torch(), *arrays)


@pytest.mark.torch
@pytest.mark.parametrize("make, make_torch, arrays",
                         [pytest.param(*case[1:], id=case[0]) for case in LAYERS])
def test_extra_repr_matches_torch(make, make_torch, arrays):
    pytest.importorskip("torch")
    theirs = make_torch().extra_repr().replace(", inplace=False", "")   # we have no inplace
    assert make().extra_repr() == theirs


def test_linear_init_is_uniform_within_one_over_sqrt_fan_in():
    mg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    for p in (layer.weight, layer.bias):
        assert p.dtype == np.float32 and np.abs(p.data).max() <= bound
    assert layer.weight.shape == (300, 400)
    assert abs(layer.weight.data.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(layer.weight.data).max() > 0.99 * bound


def test_embedding_init_and_padding_row_never_trains():
    mg.manual_seed(0)
    table = nn.Embedding(1000, 50, padding_idx=3)
    assert (table.weight.data[3] == 0).all()
    others = np.delete(table.weight.data, 3, axis=0)
    assert abs(others.mean()) < 0.01 and abs(others.std() - 1) < 0.01
    table(mg.tensor([[3, 4, 3]])).sum().backward()
    assert (table.weight.grad[3] == 0).all() and (table.weight.grad[4] == 1).all()
    assert nn.Embedding(5, 2, padding_idx=-1).padding_idx == 4
    with pytest.raises(ValueError, match="padding_idx 5 is out of range for 5 embeddings"):
        nn.Embedding(5, 2, padding_idx=5)


def test_layer_norm_parameters():
    assert [n for n, _ in nn.LayerNorm(4).named_parameters()] == ["weight", "bias"]
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    norm = nn.LayerNorm((2, 3))
    assert norm.weight.shape == (2, 3) and (norm.weight.data == 1).all()


def test_dropout_module_follows_training_mode():
    drop = nn.Dropout(0.5)
    x = mg.ones(10, 10)
    assert (drop(x).data == 0).any()
    assert drop.eval()(x) is x
    with pytest.raises(ValueError, match="Dropout: p must be in"):
        nn.Dropout(-0.1)
    with pytest.raises(ValueError, match="GELU: approximate must be"):
        nn.GELU("fast")


def test_sequential_indexing_and_iteration():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    net = nn.Sequential(*layers)
    assert len(net) == 3 and list(net) == layers
    assert net[0] is layers[0] and net[-1] is layers[2]
    head = net[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    with pytest.raises(IndexError, match="Sequential: index 3 is out of range for 3 modules"):
        net[3]
    x = mg.randn(4, 2)
    np.testing.assert_array_equal(net(x).data, layers[2](layers[1](layers[0](x))).data)
    net.append(nn.Tanh())
    assert [name for name, _ in net.named_children()] == ["0", "1", "2", "3"]
    from collections import OrderedDict
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [name for name, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="expected a Module or None, got int"):
        nn.Sequential(nn.ReLU(), 3)


def test_module_list_registers_its_modules():
    blocks = nn.ModuleList([nn.Linear(2, 2)])
    blocks.append(nn.Linear(2, 2)).extend([nn.Linear(2, 1)])
    assert len(blocks) == 3 and blocks[-1].out_features == 1
    assert [name for name, _ in blocks.named_parameters()][-2:] == ["2.weight", "2.bias"]
    replacement = nn.Linear(2, 5)
    blocks[1] = replacement
    assert blocks[1] is replacement and list(blocks)[1] is replacement
    assert len(blocks[1:]) == 2
    with pytest.raises(NotImplementedError):
        blocks(mg.ones(2))


def test_module_dict():
    heads = nn.ModuleDict({"cls": nn.Linear(4, 2), "lm": nn.Linear(4, 9)})
    heads["extra"] = nn.ReLU()
    assert list(heads) == ["cls", "lm", "extra"] and "lm" in heads and len(heads) == 3
    assert [k for k, _ in heads.items()] == list(heads.keys())
    assert [n for n, _ in heads.named_parameters()] == ["cls.weight", "cls.bias", "lm.weight",
                                                       "lm.bias"]
    with pytest.raises(KeyError, match="ModuleDict has no key 'mlm'"):
        heads["mlm"]
    del heads["extra"]
    assert list(heads.values())[-1] is heads["lm"]
