"""minigrad.nn.Module and Parameter: registration, naming, state_dict, modes, devices, repr."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.errors import DTypeError, StateDictError


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.norm = nn.LayerNorm(3)
        self.proj = nn.Linear(3, 2)
        self.scale = nn.Parameter(mg.ones(2))
        self.register_buffer("offset", mg.zeros(2))

    def forward(self, x):
        return self.proj(self.norm(x)) * self.scale + self.offset


class Tied(nn.Module):
    """One Linear used twice and an Embedding whose table is the output layer's weight."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(5, 3)
        self.shared = nn.Linear(3, 3)
        self.blocks = nn.ModuleList([self.shared, self.shared])
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.embed.weight


def test_parameters_are_registered_in_assignment_order():
    block = Block()
    assert [name for name, _ in block.named_parameters()] == [
        "scale", "norm.weight", "norm.bias", "proj.weight", "proj.bias"]
    assert [name for name, _ in block.named_children()] == ["norm", "proj"]
    assert [name for name, _ in block.named_modules()] == ["", "norm", "proj"]
    assert list(block.parameters())[0] is block.scale
    assert [name for name, _ in block.named_buffers()] == ["offset"]
    assert [name for name, _ in block.named_parameters(recurse=False)] == ["scale"]


def test_shared_modules_and_parameters_are_listed_once():
    model = Tied()
    assert [name for name, _ in model.named_parameters()] == [
        "embed.weight", "shared.weight", "shared.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "embed", "shared", "blocks",
                                                           "head"]
    assert model.num_parameters() == 5 * 3 + 3 * 3 + 3


def test_state_dict_lists_a_shared_tensor_under_each_name_as_torch():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Module()
    theirs.embed = torch.nn.Embedding(5, 3)
    theirs.shared = torch.nn.Linear(3, 3)
    theirs.blocks = torch.nn.ModuleList([theirs.shared, theirs.shared])
    theirs.head = torch.nn.Linear(3, 5, bias=False)
    theirs.head.weight = theirs.embed.weight
    assert list(Tied().state_dict()) == list(theirs.state_dict())


def test_typos_raise_attribute_error_naming_class_and_attribute():
    block = Block()
    with pytest.raises(AttributeError, match=r"'Block' object has no attribute 'porj'; did you "
                                             r"mean 'proj'\?"):
        block.porj
    with pytest.raises(AttributeError, match="'Linear' object has no attribute 'wieght'"):
        block.proj.wieght
    assert not hasattr(block, "missing")


def test_assignment_rules():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.ones(1))

    with pytest.raises(AttributeError, match=r"call super\(\).__init__\(\) first in Early"):
        Early()
    linear = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"Linear.weight: expected a Parameter or None, got Tensor"):
        linear.weight = mg.ones(2, 2)
    linear.bias = None
    assert [name for name, _ in linear.named_parameters()] == ["weight"]
    assert "bias" not in linear.state_dict()
    linear.weight = nn.Parameter(mg.zeros(2, 2))
    assert (linear(mg.ones(1, 2)).data == 0).all()
    linear.bias = nn.Parameter(mg.ones(2))
    linear.weight = nn.Parameter(mg.ones(2, 2))
    assert list(linear.state_dict()) == ["weight", "bias"]      # replaced in place
    linear.note = "plain attributes stay plain"
    assert linear.note == "plain attributes stay plain"
    del linear.weight
    assert list(linear.parameters()) == [linear.bias]


def test_missing_forward_says_so():
    with pytest.raises(NotImplementedError, match="Module has no forward"):
        nn.Module()(mg.ones(1))


def test_state_dict_holds_copies_and_round_trips(rng):
    source, target = Block(), Block()
    x = mg.tensor(rng.standard_normal((4, 3)), dtype=mg.float32)
    state = source.state_dict()
    assert list(state) == ["scale", "offset", "norm.weight", "norm.bias", "proj.weight",
                           "proj.bias"]
    assert all(isinstance(v, np.ndarray) for v in state.values())
    state["scale"][...] = 7                                 # a copy: the model is unchanged
    assert (source.scale.data == 1).all()
    state["scale"][...] = 1
    weight = target.proj.weight
    assert target.load_state_dict(state) == ([], [])
    assert target.proj.weight is weight                     # same Parameter, new values
    np.testing.assert_array_equal(target(x).data, source(x).data)


def test_load_state_dict_strict_errors_list_every_problem():
    block = Block()
    before = block.proj.weight.data.copy()
    state = block.state_dict()
    del state["norm.bias"]
    state["extra.weight"] = np.zeros(1)
    state["proj.weight"] = np.zeros((3, 3))
    with pytest.raises(StateDictError) as err:
        block.load_state_dict(state)
    message = str(err.value)
    assert "load_state_dict for Block" in message
    assert "missing keys: norm.bias" in message
    assert "unexpected keys: extra.weight" in message
    assert "proj.weight: expected shape (2, 3), got (3, 3)" in message
    np.testing.assert_array_equal(block.proj.weight.data, before)   # nothing written
    with pytest.raises(StateDictError, match="shape mismatches") as err:
        block.load_state_dict(state, strict=False)
    assert "missing" not in str(err.value)
    assert isinstance(err.value, KeyError)


def test_load_state_dict_not_strict_reports_keys_and_casts_dtype():
    block = Block()
    state = {"proj.bias": np.array([1.5, 2.5], dtype=np.float64), "other": np.ones(1)}
    missing, unexpected = block.load_state_dict(state, strict=False)
    assert unexpected == ["other"] and "proj.bias" not in missing and "scale" in missing
    assert block.proj.bias.dtype == np.float32
    np.testing.assert_array_equal(block.proj.bias.data, [1.5, 2.5])
    block.load_state_dict({**block.state_dict(), "scale": mg.tensor([3.0, 4.0])})
    np.testing.assert_array_equal(block.scale.data, [3, 4])


def test_buffers_are_state_but_not_parameters():
    block = Block()
    assert "offset" in block.state_dict()
    assert all(p is not block.offset for p in block.parameters())
    block.register_buffer("cache", mg.zeros(3), persistent=False)
    assert "cache" not in block.state_dict()
    assert [name for name, _ in block.named_buffers()] == ["offset", "cache"]
    block.offset = mg.ones(2)
    assert (block.state_dict()["offset"] == 1).all()
    with pytest.raises(TypeError, match="expected a Tensor or None, got list"):
        block.register_buffer("bad", [1, 2])


def test_train_and_eval_reach_every_submodule():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.5)))
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    with pytest.raises(TypeError):
        model.train("no")


def test_zero_grad_and_requires_grad():
    model = nn.Linear(3, 2)
    model(mg.randn(4, 3)).sum().backward()
    model.zero_grad(set_to_none=False)
    assert all((p.grad == 0).all() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    model.requires_grad_(False)
    assert not model(mg.randn(4, 3)).requires_grad


def test_astype_and_to_keep_parameter_objects():
    block = Block()
    params = list(block.parameters())
    block(mg.randn(2, 3)).sum().backward()
    assert block.double() is block
    assert list(block.parameters()) == params
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert block.offset.dtype == np.float64
    assert block.to("cpu") is block and block.float().scale.dtype == np.float32
    embed = nn.Embedding(3, 2)
    embed.register_buffer("ids", mg.arange(3))
    assert embed.double().ids.dtype == np.int64             # only floating tensors are cast


def test_apply_visits_children_then_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    seen = []
    model.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "Sequential"]
    model.apply(lambda m: nn.init.zeros_(m.weight) if isinstance(m, nn.Linear) else None)
    assert (model[0].weight.data == 0).all()


def test_repr_nests_like_torch_and_counts_parameters():
    model = nn.Sequential(nn.Linear(300, 400), nn.GELU(), nn.Sequential(nn.LayerNorm(400)))
    text = repr(model)
    assert text.endswith("  # 121,200 parameters")
    assert text.splitlines()[:3] == ["Sequential(",
                                     "  (0): Linear(in_features=300, out_features=400, bias=True)",
                                     "  (1): GELU(approximate='none')"]
    assert "    (0): LayerNorm((400,), eps=1e-05, elementwise_affine=True, bias=True)" in text
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Sequential(torch.nn.Linear(300, 400), torch.nn.GELU(),
                                 torch.nn.Sequential(torch.nn.LayerNorm(400)))
    assert text == f"{theirs!r}  # 121,200 parameters"


def test_parameter():
    t = mg.ones(2, 3)
    p = nn.Parameter(t)
    assert p.requires_grad and p.is_leaf and p.data is t.data
    assert nn.Parameter([1.0, 2.0]).dtype == np.float32
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor(")
    with pytest.raises(DTypeError):
        nn.Parameter([1, 2])
