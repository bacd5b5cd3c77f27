"""Datasets, DataLoader, random_split and make_moons."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.data import (DataLoader, Dataset, TensorDataset, default_collate, make_moons,
                           random_split)
from minigrad.errors import ShapeError

N = 23


def ids_dataset():
    """Sample i is (features [i, -i] float32, label i % 3, id i)."""
    ids = np.arange(N)
    return TensorDataset(np.stack([ids, -ids], 1).astype(np.float32), ids % 3, ids)


def epoch_ids(loader):
    return [batch[2].data.tolist() for batch in loader]


@pytest.mark.parametrize("shuffle", [False, True])
def test_each_epoch_covers_the_dataset_once(shuffle):
    loader = DataLoader(ids_dataset(), batch_size=5, shuffle=shuffle)
    assert len(loader) == 5
    for _ in range(2):
        batches = epoch_ids(loader)
        assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
        flat = sum(batches, [])
        assert sorted(flat) == list(range(N))
        assert (flat == list(range(N))) != shuffle


def test_batches_are_stacked_tensors():
    x, label, ids = next(iter(DataLoader(ids_dataset(), batch_size=4)))
    assert isinstance(x, mg.Tensor) and x.dtype == np.float32 and x.shape == (4, 2)
    assert label.dtype == np.int64 and label.shape == (4,)
    np.testing.assert_array_equal(x.data[:, 1], -ids.data)
    np.testing.assert_array_equal(label.data, ids.data % 3)


def test_drop_last():
    loader = DataLoader(ids_dataset(), batch_size=5, shuffle=True, drop_last=True)
    assert len(loader) == 4
    batches = epoch_ids(loader)
    assert [len(b) for b in batches] == [5] * 4
    assert len(set(sum(batches, []))) == 20
    assert len(DataLoader(ids_dataset(), batch_size=N + 1, drop_last=True)) == 0
    assert epoch_ids(DataLoader(ids_dataset(), batch_size=N + 1, drop_last=True)) == []


def test_shuffle_is_repeatable_with_manual_seed_and_new_each_epoch():
    loader = DataLoader(ids_dataset(), batch_size=N, shuffle=True)
    mg.manual_seed(7)
    first, second = epoch_ids(loader), epoch_ids(loader)
    mg.manual_seed(7)
    assert epoch_ids(loader) == first
    assert second != first


def test_default_collate_kinds():
    batch = [{"x": np.ones(2), "f": 1.5, "i": 3, "b": True, "s": "a", "pair": (np.int64(1), 2)},
             {"x": np.zeros(2), "f": 2.5, "i": 4, "b": False, "s": "b", "pair": (np.int64(3), 4)}]
    out = default_collate(batch)
    assert out["x"].shape == (2, 2) and out["x"].dtype == np.float64
    assert out["f"].dtype == np.float64 and out["f"].tolist() == [1.5, 2.5]
    assert out["i"].dtype == np.int64 and out["b"].dtype == np.bool_
    assert out["s"] == ["a", "b"]
    assert [t.tolist() for t in out["pair"]] == [[1, 3], [2, 4]]
    with pytest.raises(ShapeError, match="different shapes"):
        default_collate([np.ones(2), np.ones(3)])
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object()])


def test_custom_dataset_and_collate_fn():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i * i

    loader = DataLoader(Squares(), batch_size=2, collate_fn=list)
    assert list(loader) == [[0, 1], [4, 9], [16]]
    assert next(iter(DataLoader(Squares(), batch_size=3))).tolist() == [0, 1, 4]
    with pytest.raises(NotImplementedError, match="Dataset must implement __len__"):
        len(Dataset())


def test_bad_arguments():
    with pytest.raises(ShapeError, match="same first dimension"):
        TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(ids_dataset(), batch_size=0)


def test_random_split():
    mg.manual_seed(0)
    a, b = random_split(ids_dataset(), [8, 15])
    mg.manual_seed(0)
    a2, _ = random_split(ids_dataset(), [8, 15])
    ids_a = [a[i][2].item() for i in range(len(a))]
    ids_b = [b[i][2].item() for i in range(len(b))]
    assert (len(a), len(b)) == (8, 15)
    assert sorted(ids_a + ids_b) == list(range(N))
    assert ids_a == [a2[i][2].item() for i in range(len(a2))]
    assert ids_a != list(range(8))


@pytest.mark.parametrize("fractions,expected", [
    ([0.3, 0.7], [7, 16]),              # ⌊6.9⌋ + 1 and ⌊16.1⌋: the remainder goes to the first
    ([0.5, 0.25, 0.25], [12, 6, 5]),    # 11, 5, 5 + 2 handed out from the first split
])
def test_random_split_fractions(fractions, expected):
    assert [len(s) for s in random_split(ids_dataset(), fractions)] == expected


@pytest.mark.torch
@pytest.mark.parametrize("fractions", [[0.3, 0.7], [0.5, 0.25, 0.25], [0.1] * 10])
def test_random_split_lengths_match_torch(fractions):
    torch = pytest.importorskip("torch", reason="torch gives the reference split lengths")
    theirs = torch.utils.data.random_split(range(N), fractions)
    assert [len(s) for s in random_split(ids_dataset(), fractions)] == [len(s) for s in theirs]


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="summing"):
        random_split(ids_dataset(), [10, 10])
    with pytest.raises(ValueError, match="summing"):
        random_split(ids_dataset(), [0.5, 0.4])


def test_make_moons_geometry():
    X, y = make_moons(101)
    assert X.shape == (101, 2) and X.dtype == np.float32
    assert y.shape == (101,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 51]
    outer, inner = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(*outer.T), 1, atol=1e-6)          # unit circle
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1, atol=1e-6)
    assert outer[:, 1].min() >= -1e-6 and inner[:, 1].max() <= 0.5 + 1e-6  # upper / lower half
    assert outer[:, 0].min() == pytest.approx(-1) and inner[:, 0].max() == pytest.approx(2)
    assert not np.array_equal(y, np.sort(y)), "not shuffled"


def test_make_moons_unshuffled_order():
    X, y = make_moons(6, shuffle=False)
    assert y.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_allclose(X, [[1, 0], [0, 1], [-1, 0], [0, 0.5], [1, -0.5], [2, 0.5]],
                               atol=1e-7)


def test_make_moons_noise_and_seeds():
    X, y = make_moons(2000, noise=0.1, random_state=0)
    X2, y2 = make_moons(2000, noise=0.1, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    clean, _ = make_moons(2000, shuffle=False)
    X3, y3 = make_moons(2000, shuffle=False, noise=0.1, random_state=1)
    assert np.std(X3 - clean) == pytest.approx(0.1, rel=0.05)
    mg.manual_seed(3)
    a = make_moons(50, noise=0.2)
    mg.manual_seed(3)
    b = make_moons(50, noise=0.2)
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(ValueError, match="n_samples"):
        make_moons(-1)
    with pytest.raises(ValueError, match="noise"):
        make_moons(10, noise=-0.1)
