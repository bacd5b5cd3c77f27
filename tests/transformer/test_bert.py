"""BERT at tiny sizes: shapes and the returned tuple, padding invariance, gradcheck, MLM masking
statistics, heads that learn, errors, and transformers' BertModel / heads as the oracle."""
import json

import numpy as np
import pytest

import minigrad as mg
from transformer.bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification,
                              BertForTokenClassification, BertModel, mask_tokens, mean_pool)
from transformer.pretrained import hf_state_dict

TINY = dict(vocab_size=23, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=16, max_position_embeddings=12, type_vocab_size=2,
            hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
PAD, CLS, SEP, MASK = 0, 1, 2, 3

pytestmark = pytest.mark.usefixtures("one_thread")


def _config(**overrides):
    return BertConfig(**{**TINY, **overrides})


def _model(cls=BertModel, seed=0, **options):
    mg.manual_seed(seed)
    return cls(_config(), **options).eval()


def _batch(rng, B=3, T=7, lengths=(7, 4, 2)):
    """Ids [CLS] w.. [SEP] then [PAD]; attention_mask 1 on the real tokens; two segments."""
    ids = np.full((B, T), PAD)
    mask = np.zeros((B, T), dtype=np.int64)
    types = np.zeros((B, T), dtype=np.int64)
    for b, n in enumerate(lengths):
        ids[b, :n] = rng.integers(4, TINY["vocab_size"], n)
        ids[b, 0], ids[b, n - 1] = CLS, SEP
        mask[b, :n] = 1
        types[b, n // 2:n] = 1
    return ids, mask, types


# ---- config -------------------------------------------------------------------------------
def test_config_from_json_ignores_unknown_keys(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY, "model_type": "bert", "architectures": ["BertModel"],
                                "layer_norm_eps": 1e-7, "gradient_checkpointing": False}))
    config = BertConfig.from_json(path)
    assert config.hidden_size == 8 and config.layer_norm_eps == 1e-7
    assert config.initializer_range == BertConfig().initializer_range      # the default
    with pytest.raises(ValueError, match="divisible"):
        _config(num_attention_heads=3)
    with pytest.raises(ValueError, match="hidden_act"):
        _config(hidden_act="swish")
    with pytest.raises(FileNotFoundError, match="nothing.json"):
        BertConfig.from_json(tmp_path / "nothing.json")


@pytest.mark.parametrize("field, value, match", [
    ("num_attention_heads", 0, "num_attention_heads must be a positive int, got 0"),
    ("hidden_size", 8.0, "hidden_size must be a positive int"),
    ("num_hidden_layers", -1, "num_hidden_layers must be a positive int"),
    ("hidden_dropout_prob", 1.0, r"hidden_dropout_prob must be in \[0, 1\)"),
    ("attention_probs_dropout_prob", -0.1, "attention_probs_dropout_prob"),
    ("pad_token_id", 23, r"pad_token_id=23 is not a token id .*0 \.\. 22"),
])
def test_config_errors_name_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        _config(**{field: value})


# ---- forward ------------------------------------------------------------------------------
def test_forward_returns_sequence_and_pooled_output(rng):
    model = _model()
    ids, mask, types = _batch(rng)
    out = model(ids, mask, types)
    assert isinstance(out, tuple) and len(out) == 2
    sequence_output, pooled_output = out
    assert sequence_output.shape == (3, 7, 8) and pooled_output.shape == (3, 8)
    # pooled = tanh(W · h_[CLS] + b); the listing's hidden[:, 0, :] on it has no time axis
    cls = sequence_output.numpy()[:, 0]
    w, b = model.pooler.weight.numpy(), model.pooler.bias.numpy()
    np.testing.assert_allclose(pooled_output.numpy(), np.tanh(cls @ w.T + b), atol=1e-6)
    # post-LN: every output vector is normalised (mean 0, variance 1 before the affine)
    s = sequence_output.numpy()
    np.testing.assert_allclose(s.mean(-1), 0, atol=1e-5)
    # segments matter: token_type_ids change the output
    assert np.abs(model(ids, mask)[0].numpy() - s).max() > 1e-3


def test_embeddings_match_the_formula(rng):
    model = _model()
    ids, _, types = _batch(rng, B=1, T=5, lengths=(5,))
    e = model.embeddings
    x = (e.word_embeddings.weight.numpy()[ids] + e.position_embeddings.weight.numpy()[:5]
         + e.token_type_embeddings.weight.numpy()[types])
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-12)
    np.testing.assert_allclose(e(mg.tensor(ids), mg.tensor(types)).numpy(), x, atol=1e-5)
    assert np.all(e.word_embeddings.weight.numpy()[PAD] == 0)           # the padding row


def test_padding_does_not_change_the_real_positions(rng):
    model = _model()
    ids, mask, types = _batch(rng, B=3, T=7, lengths=(7, 4, 2))
    padded, _ = model(ids, mask, types)
    garbage = np.where(mask == 1, ids, rng.integers(4, 23, ids.shape))  # other ids in the padding
    other, _ = model(garbage, mask, types)
    for b, n in enumerate((7, 4, 2)):
        alone, _ = model(ids[b:b + 1, :n], mask[b:b + 1, :n], types[b:b + 1, :n])
        np.testing.assert_allclose(padded.numpy()[b, :n], alone.numpy()[0], atol=1e-5)
        np.testing.assert_allclose(other.numpy()[b, :n], alone.numpy()[0], atol=1e-5)
    # without the mask the padding is attended and the short rows change
    unmasked, _ = model(ids, None, types)
    assert np.abs(unmasked.numpy()[2, :2] - padded.numpy()[2, :2]).max() > 1e-3


def test_mean_pool_ignores_padding(rng):
    model = _model()
    ids, mask, types = _batch(rng)
    hidden, _ = model(ids, mask, types)
    pooled = mean_pool(hidden, mask).numpy()
    for b, n in enumerate((7, 4, 2)):
        np.testing.assert_allclose(pooled[b], hidden.numpy()[b, :n].mean(0), atol=1e-6)
    unit = mean_pool(hidden, mask, normalize=True).numpy()
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1, atol=1e-6)
    np.testing.assert_allclose(unit, pooled / np.linalg.norm(pooled, axis=1, keepdims=True),
                               atol=1e-6)
    with pytest.raises(mg.ShapeError, match="attention_mask"):
        mean_pool(hidden, mask[:, :3])


def test_errors_name_the_limit(rng):
    model = _model()
    with pytest.raises(mg.ShapeError, match="max_position_embeddings=12"):
        model(np.full((1, 13), 5))
    with pytest.raises(IndexError, match=r"input_ids must be in \[0, vocab_size=23\)"):
        model([[CLS, 23, SEP]])
    with pytest.raises(IndexError, match=r"token_type_ids must be in \[0, type_vocab_size=2\)"):
        model([[CLS, 5, SEP]], token_type_ids=[[0, 2, 1]])
    with pytest.raises(mg.ShapeError, match=r"\(B, T\)"):
        model([5, 6, 7])
    with pytest.raises(mg.ShapeError, match="attention_mask"):
        model([[5, 6, 7]], attention_mask=[[1, 1]])
    with pytest.raises(ValueError, match="num_labels must be >= 2"):
        BertForSequenceClassification(_config(), num_labels=1)
    clf = _model(BertForSequenceClassification, num_labels=3)
    with pytest.raises(mg.ShapeError, match="labels"):
        clf([[CLS, 5, SEP]], labels=[[0, 1]])


# ---- gradients ----------------------------------------------------------------------------
def _swap(module, name, value):
    """Put the tensor ``value`` in the place of the parameter ``name``, so that gradcheck's
    perturbed copies flow through the model (a Parameter would be a new leaf)."""
    module._parameters[name] = value


def test_gradcheck_bert_model_parameters(rng):
    model = BertModel(_config(num_hidden_layers=1, max_position_embeddings=5)).double().eval()
    ids, mask, types = _batch(rng, B=2, T=4, lengths=(4, 3))
    layer = model.encoder[0]
    params = [(layer.attention.qkv_proj, "weight"), (layer.intermediate, "bias"),
              (layer.attention_norm, "weight"), (model.embeddings.token_type_embeddings,
                                                 "weight")]
    values = [mg.tensor(getattr(m, n).numpy(), requires_grad=True) for m, n in params]

    def outputs(*tensors):
        for (m, n), t in zip(params, tensors):
            _swap(m, n, t)
        return model(ids, mask, types)                     # both outputs are checked

    assert mg.gradcheck(outputs, *values)


# ---- masked language modelling ------------------------------------------------------------
def test_mask_tokens_statistics():
    rng = np.random.default_rng(0)
    V, B, T = 1000, 200, 128
    ids = rng.integers(10, V, (B, T))
    ids[:, 0], ids[:, 100] = CLS, SEP
    ids[:, 101:] = PAD
    inputs, labels = mask_tokens(ids, MASK, V, special_ids=[PAD, CLS, SEP, MASK], rng=rng)
    special = np.isin(ids, [PAD, CLS, SEP])
    chosen = labels != -100
    assert not (chosen & special).any()
    assert (inputs[special] == ids[special]).all()
    assert (labels[chosen] == ids[chosen]).all()
    assert (inputs[~chosen] == ids[~chosen]).all()             # unchosen tokens untouched
    n = (~special).sum()                                       # 19,800 maskable tokens
    assert abs(chosen.sum() / n - 0.15) < 0.01                 # ±0.01 ≈ 4 standard errors
    masked = (inputs[chosen] == MASK).mean()
    kept = (inputs[chosen] == ids[chosen]).mean()
    random = 1 - masked - kept
    assert abs(masked - 0.8) < 0.025 and abs(kept - 0.1) < 0.02 and abs(random - 0.1) < 0.02
    again, _ = mask_tokens(ids, MASK, V, [PAD, CLS, SEP], rng=np.random.default_rng(1))
    assert (again != inputs).any()
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(ids, MASK, V, [PAD], mlm_probability=1.5)


def test_mlm_head_is_tied_and_its_loss_ignores_minus_100(rng):
    model = _model(BertForMaskedLM)
    assert model.decoder.weight is model.bert.embeddings.word_embeddings.weight
    assert model.num_parameters() == BertModel(_config(), add_pooling_layer=False
                                               ).num_parameters() + 8 * 8 + 8 + 2 * 8 + 23
    ids, mask, types = _batch(rng)
    labels = np.full(ids.shape, -100)
    labels[0, 2], labels[1, 1] = 7, 9
    logits, loss = model(ids, mask, types, labels=labels)
    assert logits.shape == (3, 7, 23)
    z = logits.numpy()[[0, 1], [2, 1]].astype(np.float64)
    logp = z - z.max(1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(1, keepdims=True))
    assert loss.item() == pytest.approx(-(logp[0, 7] + logp[1, 9]) / 2, rel=1e-5)


def test_mlm_loss_decreases(rng):
    model = _model(BertForMaskedLM).train()
    ids, mask, types = _batch(rng, B=4, T=8, lengths=(8, 8, 6, 5))
    inputs, labels = mask_tokens(ids, MASK, 23, [PAD, CLS, SEP, MASK], mlm_probability=0.3,
                                 rng=np.random.default_rng(0))
    optimizer = mg.optim.AdamW(model.parameters(), lr=3e-2, weight_decay=0.0)
    losses = []
    for _ in range(25):
        _, loss = model(inputs, mask, types, labels=labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


# ---- fine-tuning heads --------------------------------------------------------------------
def test_sequence_classifier_fits_a_small_labeled_set(rng):
    """16 texts, 3 classes (which of three words a text contains): 100% after a few steps.

    BERT's N(0, 0.02²) init suits width 768; at width 16 it leaves the model on a plateau
    (one class pair unseparated for 60+ steps, transformers' BertModel alike), so 0.2 here."""
    mg.manual_seed(0)
    model = BertForSequenceClassification(
        _config(hidden_size=16, intermediate_size=32, initializer_range=0.2), num_labels=3)
    ids = rng.integers(7, 23, (16, 6))
    labels = np.arange(16) % 3
    ids[np.arange(16), rng.integers(1, 5, 16)] = 4 + labels            # the class word
    ids[:, 0], ids[:, 5] = CLS, SEP
    optimizer = mg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    for _ in range(40):
        logits, loss = model(ids, labels=labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    logits, _ = model.eval()(ids)
    assert (logits.numpy().argmax(1) == labels).all(), loss.item()


def test_token_classifier_ignores_minus_100(rng):
    model = _model(BertForTokenClassification, num_labels=4)
    assert model.bert.pooler is None
    ids, mask, types = _batch(rng)
    labels = np.where(mask == 1, rng.integers(0, 4, ids.shape), -100)
    logits, loss = model(ids, mask, types, labels=labels)
    assert logits.shape == (3, 7, 4)
    z = logits.numpy().astype(np.float64)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    real = labels != -100
    expected = -logp[real, labels[real]].mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)


# ---- transformers as the oracle -----------------------------------------------------------
def _hf_model(transformers, torch, cls_name, ours, **extra):
    config = transformers.BertConfig(**TINY, **extra)
    theirs = getattr(transformers, cls_name)(config).eval()
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in hf_state_dict(ours).items()}
    missing, unexpected = theirs.load_state_dict(state, strict=False)
    assert not unexpected and all("position_ids" in k or "decoder" in k for k in missing), \
        (missing, unexpected)
    return theirs


def _hf_grads(model):
    """Our gradients under Hugging Face's names (a clone holding grads as its values)."""
    clone = type(model)(model.config, **({"num_labels": model.num_labels}
                                         if hasattr(model, "num_labels") else {}))
    clone.load_state_dict({n: p.grad for n, p in model.named_parameters()}, strict=False)
    return hf_state_dict(clone)


@pytest.mark.torch
@pytest.mark.slow                            # importing transformers alone takes ~15 s here
@pytest.mark.parametrize("cls_name", ["BertModel", "BertForMaskedLM",
                                      "BertForSequenceClassification",
                                      "BertForTokenClassification"])
def test_matches_transformers(rng, cls_name):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    transformers = pytest.importorskip("transformers", reason="the oracle: pip install "
                                                              "transformers")
    import transformer.bert as bert
    options = {} if cls_name in ("BertModel", "BertForMaskedLM") else {"num_labels": 3}
    ours = _model(getattr(bert, cls_name), **options)
    for p in ours.parameters():              # away from the init's zero biases and unit norms
        p.data += 0.1 * rng.standard_normal(p.shape).astype(np.float32)
    theirs = _hf_model(transformers, torch, cls_name, ours,
                       **({"num_labels": 3} if options else {}))
    ids, mask, types = _batch(rng)
    inputs = dict(input_ids=ids, attention_mask=mask, token_type_ids=types)
    if cls_name == "BertModel":
        s, p = ours(**inputs)
        out = theirs(**{k: torch.from_numpy(v) for k, v in inputs.items()})
        real = mask == 1                     # HF's padded positions differ only where masked
        np.testing.assert_allclose(s.numpy()[real], out.last_hidden_state.detach().numpy()[real],
                                   atol=1e-5)
        np.testing.assert_allclose(p.numpy(), out.pooler_output.detach().numpy(), atol=1e-5)
        return
    labels = (rng.integers(0, 3, 3) if cls_name == "BertForSequenceClassification"
              else np.where(mask == 1, rng.integers(0, 3, ids.shape), -100))
    logits, loss = ours(**inputs, labels=labels)
    loss.backward()
    out = theirs(**{k: torch.from_numpy(v) for k, v in inputs.items()},
                 labels=torch.from_numpy(labels))
    out.loss.backward()
    np.testing.assert_allclose(logits.numpy()[mask == 1] if logits.ndim == 3 else logits.numpy(),
                               (out.logits.detach().numpy()[mask == 1] if logits.ndim == 3
                                else out.logits.detach().numpy()), atol=1e-5)
    assert loss.item() == pytest.approx(out.loss.item(), abs=1e-5)
    their_grads = {n: p.grad.numpy() for n, p in theirs.named_parameters() if p.grad is not None}
    for name, g in _hf_grads(ours).items():
        np.testing.assert_allclose(g, their_grads.get(name, np.zeros_like(g)), atol=1e-5,
                                   err_msg=name)
