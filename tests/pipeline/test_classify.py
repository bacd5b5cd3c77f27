"""GPTForSequenceClassification: pooling reads the right positions, padding changes nothing,
the trunk comes from the pretrained GPT, and the gradient is right (float64 gradcheck)."""
import numpy as np
import pytest

import minigrad as mg
from transformer.classify import (GPTClassifierConfig, GPTForSequenceClassification,
                                GPTForTokenClassification)
from transformer.gpt import GPT, GPTConfig

SHAPE = dict(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8)


@pytest.fixture
def gpt(rng):
    return GPT(GPTConfig(**SHAPE))


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_pooling_against_the_hidden_states(gpt, rng, pooling):
    model = GPTForSequenceClassification.from_gpt(gpt, num_labels=3, pooling=pooling)
    ids = rng.integers(0, 11, size=(2, 5))
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]])
    h = model.hidden_states(mg.tensor(ids)).numpy()                          # (2, 5, C)
    if pooling == "last":
        pooled = np.stack([h[0, 4], h[1, 1]])
    else:
        pooled = np.stack([h[0].mean(0), h[1, :2].mean(0)])
    W, b = model.score.weight.numpy(), model.score.bias.numpy()
    np.testing.assert_allclose(model(ids, mask).numpy(), pooled @ W.T + b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_right_padding_changes_nothing(gpt, rng, pooling):
    model = GPTForSequenceClassification.from_gpt(gpt, num_labels=2, pooling=pooling)
    ids = rng.integers(0, 11, size=(1, 3))
    padded = np.concatenate([ids, rng.integers(0, 11, size=(1, 4))], axis=1)   # any pad ids
    np.testing.assert_allclose(model(ids).numpy(),
                               model(padded, np.array([[1, 1, 1, 0, 0, 0, 0]])).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_from_gpt_copies_the_trunk(gpt):
    model = GPTForSequenceClassification.from_gpt(gpt, num_labels=2)
    for name, value in gpt.state_dict().items():
        np.testing.assert_array_equal(model.gpt.state_dict()[name], value)
    assert model.score.weight.shape == (2, 8)


def test_gradient_matches_finite_differences(rng):
    """float64: d loss / d parameter by backward vs central differences, on a few entries of the
    head and of the trunk (mg.gradcheck copies its inputs, so a model's own weights are
    perturbed here by hand)."""
    model = GPTForSequenceClassification(GPTClassifierConfig(**SHAPE, num_labels=2)).double()
    ids = rng.integers(0, 11, size=(2, 4))
    mask = np.array([[1, 1, 1, 1], [1, 1, 1, 0]])
    labels = mg.tensor(np.array([0, 1]))

    def loss():
        return mg.nn.functional.cross_entropy(model(ids, mask), labels)

    loss().backward()
    eps = 1e-6
    for p in [model.score.weight, model.gpt.blocks[0].self_attn.qkv_proj.weight,
              model.gpt.wte.weight]:
        flat = p.data.reshape(-1)
        for j in rng.choice(flat.size, size=4, replace=False):
            original = flat[j]
            flat[j] = original + eps
            plus = loss().item()
            flat[j] = original - eps
            minus = loss().item()
            flat[j] = original
            assert p.grad.reshape(-1)[j] == pytest.approx((plus - minus) / (2 * eps), abs=1e-7)


def test_bad_inputs(gpt):
    with pytest.raises(ValueError, match="pooling must be 'last' or 'mean'"):
        GPTForSequenceClassification(GPTClassifierConfig(**SHAPE, pooling="max"))
    model = GPTForSequenceClassification.from_gpt(gpt, num_labels=2)
    with pytest.raises(mg.ShapeError, match="attention_mask must be"):
        model(np.zeros((2, 3), dtype=np.int64), np.ones((2, 4)))
    with pytest.raises(ValueError, match="no real token"):
        model(np.zeros((1, 3), dtype=np.int64), np.zeros((1, 3)))


def test_token_classifier_labels_every_position(gpt, rng):
    model = GPTForTokenClassification.from_gpt(gpt, num_labels=4)
    ids = rng.integers(0, 11, size=(2, 5))
    h = model.hidden_states(mg.tensor(ids)).numpy()                          # (2, 5, C)
    W, b = model.score.weight.numpy(), model.score.bias.numpy()
    np.testing.assert_allclose(model(ids).numpy(), h @ W.T + b, rtol=1e-5, atol=1e-6)
