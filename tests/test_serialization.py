"""mg.save / mg.load: exact round trips, atomic writes, and hostile or broken files refused."""
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import CheckpointError
from minigrad.optim import Adam


def assert_same(a, b, where="obj"):
    """Equal values of exactly the same types (tuple is not list, True is not 1), arrays with
    the same dtype and shape, NaN equal to NaN."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for key in a:
            assert type(key) is type([k for k in b if k == key][0])
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, mg.Tensor):
        assert a.requires_grad == b.requires_grad, where
        assert_same(a.data, b.data, f"{where}.data")
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{where}: {a.dtype}{a.shape}"
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, float):
        assert a == b or (a != a and b != b), f"{where}: {a} != {b}"
        assert np.copysign(1, a) == np.copysign(1, b), f"{where}: sign of zero"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def everything(rng):
    return {
        "state": {0: {"step": 7, "exp_avg": rng.standard_normal((3, 2)).astype(np.float32)},
                  12: {"buf": np.arange(6, dtype=np.int64).reshape(2, 3)}},
        "floats": [0.1, -0.0, float("inf"), float("-inf"), float("nan"), 1e-310, 1e308],
        "ints": (0, -1, 2 ** 70, True, False, None),
        "text": ["", "héllo wörld ✓ 漢字 🙂", '{"list": [1]}', "\udc80"],
        "dtypes": [np.zeros((0, 3), np.float16), np.array(3.5), np.array([1 + 2j], np.complex64),
                   np.array([True, False]), np.array(["ab", "ç"]), np.arange(5, dtype=np.uint8),
                   np.arange(12.0).reshape(3, 4).T, np.asfortranarray(np.ones((2, 3)))],
        "scalars": (np.float32(1.5), np.int64(-3), np.bool_(True), np.float64(2.0)),
        "tensors": [mg.tensor([1.0, 2.0], requires_grad=True), mg.tensor([[1, 2]])],
        "nested": [[[], {}, ()], {"a": {"b": {"c": [1, (2, [3])]}}}],
    }


def test_round_trip_everything(tmp_path, rng):
    obj = everything(rng)
    mg.save(obj, tmp_path / "ckpt.npz")
    assert_same(mg.load(tmp_path / "ckpt.npz"), obj)
    assert os.listdir(tmp_path) == ["ckpt.npz"]


@pytest.mark.parametrize("obj", [None, 3, "x", float("nan"), [1, 2], np.eye(2), {}],
                         ids=repr)
def test_round_trip_top_level(tmp_path, obj):
    mg.save(obj, str(tmp_path / "c"))                          # str paths too, no suffix added
    assert_same(mg.load(str(tmp_path / "c")), obj)


def test_round_trip_model_and_optimizer(tmp_path, rng):
    model = {"0.weight": rng.standard_normal((4, 2)).astype(np.float32),
             "0.bias": np.zeros(4, np.float32), "2.weight": rng.standard_normal((1, 4))}
    params = [mg.tensor(v, requires_grad=True) for v in model.values()]
    opt = Adam([{"params": params[:2]}, {"params": params[2:], "lr": 0.1}], amsgrad=True)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    checkpoint = {"model": model, "optimizer": opt.state_dict(), "epoch": 1}
    mg.save(checkpoint, tmp_path / "train.ckpt")
    loaded = mg.load(tmp_path / "train.ckpt")
    assert_same(loaded, checkpoint)
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_round_trip_nn_module_state_dict(tmp_path):
    model = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.ReLU(), mg.nn.Linear(3, 1))
    mg.save({"model": model.state_dict(), "params": list(model.parameters())}, tmp_path / "m")
    loaded = mg.load(tmp_path / "m")
    fresh = mg.nn.Sequential(mg.nn.Linear(2, 3), mg.nn.ReLU(), mg.nn.Linear(3, 1))
    fresh.load_state_dict(loaded["model"])
    for p, q, saved in zip(model.parameters(), fresh.parameters(), loaded["params"]):
        np.testing.assert_array_equal(p.data, q.data)
        assert type(saved) is mg.Tensor and saved.requires_grad      # a Parameter comes back
        np.testing.assert_array_equal(saved.data, p.data)            # as a plain Tensor


def test_file_is_a_plain_npz_with_a_json_tree(tmp_path):
    mg.save({"w": np.ones(2), "n": 1}, tmp_path / "c")
    with np.load(tmp_path / "c", allow_pickle=False) as npz:
        assert sorted(npz.files) == ["0", "__minigrad__"]
        meta = json.loads(npz["__minigrad__"].tobytes())
    assert meta == {"format": "minigrad-checkpoint", "version": 1,
                    "tree": {"dict": [["w", {"array": "0"}], ["n", 1]]}}


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    mg.save({"good": np.arange(3)}, path)
    good = path.read_bytes()

    def half_written(file, **arrays):
        file.write(b"PK\x03\x04 the first bytes of a zip...")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", half_written)
    with pytest.raises(OSError, match="No space"):
        mg.save({"new": np.arange(4)}, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt"], "a temporary file was left behind"
    assert_same(mg.load(path), {"good": np.arange(3)})


def test_failed_replace_removes_the_temporary(tmp_path):
    (tmp_path / "a_directory").mkdir()
    with pytest.raises(OSError):
        mg.save([1], tmp_path / "a_directory")
    assert os.listdir(tmp_path) == ["a_directory"]


@pytest.mark.parametrize("obj,message", [
    ({"s": {1, 2}}, r"obj\['s'\] is a set"),
    ({(1, 2): 3}, "key"),
    ({True: 3}, "key"),
    ([np.array([object()])], r"obj\[0\] is an array of Python objects"),
])
def test_unsupported_values_are_refused_before_writing(tmp_path, obj, message):
    with pytest.raises(TypeError, match=message):
        mg.save(obj, tmp_path / "c")
    assert os.listdir(tmp_path) == []


class Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_payload_really_runs_when_unpickled(tmp_path):
    """The check the next tests rely on: pickle.loads of Payload does create the marker."""
    pickle.loads(pickle.dumps(Payload(tmp_path / "ran"))).close()
    assert (tmp_path / "ran").exists()


def test_pickle_file_is_refused_without_running_it(tmp_path):
    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": Payload(tmp_path / "ran")}))
    with pytest.raises(CheckpointError, match="pickled") as err:
        mg.load(path)
    assert str(path) in str(err.value)
    assert not (tmp_path / "ran").exists()


def test_object_array_in_npz_is_refused_without_running_it(tmp_path):
    """A forged checkpoint: a valid minigrad tree pointing at a pickled object array."""
    path = tmp_path / "forged.npz"
    tree = json.dumps({"format": "minigrad-checkpoint", "version": 1, "tree": {"array": "0"}})
    np.savez(path, **{"0": np.array([Payload(tmp_path / "ran")], dtype=object),
                      "__minigrad__": np.frombuffer(tree.encode(), np.uint8)})
    with pytest.raises(CheckpointError, match="pickled"):
        mg.load(path)
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize("keep", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_truncated_file(tmp_path, rng, keep):
    path = tmp_path / "ckpt"
    mg.save({"w": rng.standard_normal((50, 50)), "step": 3}, path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointError) as err:
        mg.load(path)
    assert str(path) in str(err.value)


def test_corrupted_bytes(tmp_path, rng):
    path = tmp_path / "ckpt"
    mg.save({"w": rng.standard_normal(1000)}, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                               # a flipped byte inside "w"
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError):
        mg.load(path)


def forge(path, meta=None, **arrays):
    if meta is not None:
        raw = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
        arrays["__minigrad__"] = np.frombuffer(raw, np.uint8)
    with open(path, "wb") as f:                                # np.savez(path) adds .npz
        np.savez(f, **arrays)


def save_npy(path):
    with open(path, "wb") as f:
        np.save(f, np.arange(3))


def header(tree, version=1):
    return {"format": "minigrad-checkpoint", "version": version, "tree": tree}


@pytest.mark.parametrize("make,message", [
    (lambda p: p.write_text("just text"), "pickled"),
    (save_npy, "npy"),
    (lambda p: zipfile.ZipFile(p, "w").writestr("hello.txt", "hi"), "foreign zip"),
    (lambda p: forge(p, w=np.arange(3)), "without a minigrad tree"),
    (lambda p: forge(p, b"\xff\xfe not utf-8"), "UTF-8 JSON"),
    (lambda p: forge(p, b'{"format": "minigrad-checkpoint", "version": 1, "tree": NaN}'),
     "JSON"),
    (lambda p: forge(p, b"[" * 100000 + b"]" * 100000), "JSON"),
    (lambda p: forge(p, {"format": "other", "version": 1, "tree": 1}), "header"),
    (lambda p: forge(p, header(1, version=2)), "version 2"),
    (lambda p: forge(p, header({"array": "0"})), "missing array '0'"),
    (lambda p: forge(p, header({"array": "__minigrad__"})), "missing array"),
    (lambda p: forge(p, header({"bogus": 1})), "unknown node"),
    (lambda p: forge(p, header({"list": [1], "tuple": [2]})), "unexpected node"),
    (lambda p: forge(p, header({"dict": [["k"]]})), "dict item"),
    (lambda p: forge(p, header({"dict": [[1.5, 2]]})), "dict item"),
    (lambda p: forge(p, header({"float": "1e5"})), "unknown node"),
    (lambda p: forge(p, header({"tensor": ["0", "yes"]}), **{"0": np.ones(2)}), "unknown node"),
    (lambda p: forge(p, header([1, 2])), "unexpected node"),
], ids=["text", "npy", "zip", "npz", "utf8", "nan-token", "deep", "format", "version",
        "missing", "self", "tag", "two-tags", "short-item", "float-key", "float", "tensor",
        "bare-list"])
def test_foreign_or_malformed_files(tmp_path, make, message):
    path = tmp_path / "bad.ckpt"
    make(path)
    with pytest.raises(CheckpointError, match=message) as err:
        mg.load(path)
    assert str(path) in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file") as err:
        mg.load(tmp_path / "nope.npz")
    assert isinstance(err.value, OSError)                      # also caught as an OSError
    with pytest.raises(CheckpointError, match="not a regular file"):
        mg.load(tmp_path)
