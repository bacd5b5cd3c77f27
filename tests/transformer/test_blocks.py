"""transformer building blocks: embeddings and positional encodings, attention, encoder/decoder
layers — formulas, masks (causal, padding), the KV cache, gradcheck, and torch as the oracle."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from transformer import (DecoderLayer, EncoderLayer, FeedForward, KVCache,
                         LearnedPositionalEmbedding, MultiHeadAttention,
                         SinusoidalPositionalEncoding, TokenEmbedding, causal_mask,
                         sinusoidal_table)

pytestmark = pytest.mark.usefixtures("one_thread")


def _x(rng, *shape, dtype=np.float32):
    return mg.tensor(rng.standard_normal(shape).astype(dtype))


# ---- embeddings and positional encodings ----------------------------------------------------
@pytest.mark.parametrize("d_model", [8, 7])
def test_sinusoidal_table_matches_the_formula(d_model):
    max_len = 50
    expected = np.zeros((max_len, d_model))
    for pos in range(max_len):
        for j in range(d_model):
            i = j // 2                                   # column j = 2i or 2i + 1
            angle = pos / 10000 ** (2 * i / d_model)
            expected[pos, j] = math.sin(angle) if j % 2 == 0 else math.cos(angle)
    np.testing.assert_allclose(sinusoidal_table(max_len, d_model), expected, atol=1e-12)
    module = SinusoidalPositionalEncoding(d_model, max_len)
    np.testing.assert_allclose(module.pe.numpy(), expected, atol=1e-6)


def test_sinusoidal_forward_adds_the_rows_at_the_offset(rng):
    module = SinusoidalPositionalEncoding(6, max_len=10)
    x = _x(rng, 2, 3, 6)
    y = module(x, offset=4)
    np.testing.assert_allclose(y.numpy(), x.numpy() + sinusoidal_table(10, 6)[4:7], atol=1e-6)


def test_sinusoidal_relative_position_property():
    """PE(pos + k) = M_k PE(pos) for one fixed matrix M_k, whatever pos: M_k rotates each
    (sin, cos) pair by the angle k·ω_i."""
    d, max_len = 16, 200
    pe = sinusoidal_table(max_len, d)
    omega = 10000.0 ** (-np.arange(0, d, 2) / d)
    for k in (1, 5, 37):
        M = np.zeros((d, d))
        for i, w in enumerate(omega):
            c, s = math.cos(k * w), math.sin(k * w)
            # sin(a + b) = sin a cos b + cos a sin b;  cos(a + b) = cos a cos b - sin a sin b
            M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
        np.testing.assert_allclose(pe[k:], pe[:-k] @ M.T, atol=1e-9)      # every pos at once
    # the property is special: a shift of a random table is not a linear map
    random_table = np.random.default_rng(0).standard_normal((max_len, d))
    fitted, *_ = np.linalg.lstsq(random_table[:-1], random_table[1:], rcond=None)
    assert np.abs(random_table[:-1] @ fitted - random_table[1:]).max() > 0.5


@pytest.mark.parametrize("make", [lambda: SinusoidalPositionalEncoding(4, 5),
                                  lambda: LearnedPositionalEmbedding(5, 4)],
                         ids=["sinusoidal", "learned"])
def test_positions_past_max_len_raise(make):
    module = make()
    module(mg.zeros(1, 5, 4))
    module(mg.zeros(1, 2, 4), offset=3)
    with pytest.raises(mg.ShapeError, match="max_len=5"):
        module(mg.zeros(1, 6, 4))
    with pytest.raises(mg.ShapeError, match="offset=4"):
        module(mg.zeros(1, 2, 4), offset=4)
    with pytest.raises(mg.ShapeError, match=r"\(B, T, 4\)"):
        module(mg.zeros(1, 2, 3))


def test_sinusoidal_table_is_a_non_persistent_buffer():
    module = SinusoidalPositionalEncoding(4, 6)
    assert list(module.state_dict()) == [] and [n for n, _ in module.named_buffers()] == ["pe"]
    assert list(module.parameters()) == []
    assert module.double().pe.dtype == np.float64


def test_learned_positions_train_and_token_embedding_scale(rng):
    pos = LearnedPositionalEmbedding(6, 4)
    x = _x(rng, 2, 3, 4)
    y = pos(x, offset=2)
    np.testing.assert_allclose(y.numpy(), x.numpy() + pos.weight.numpy()[2:5], atol=1e-6)
    y.sum().backward()
    expected = np.zeros((6, 4))
    expected[2:5] = 2                                     # B = 2 rows each
    np.testing.assert_allclose(pos.weight.grad, expected)

    plain, scaled = TokenEmbedding(10, 9), TokenEmbedding(10, 9, scale=True)
    scaled.weight.data[...] = plain.weight.data
    idx = mg.tensor([[1, 4], [9, 0]])
    np.testing.assert_allclose(scaled(idx).numpy(), 3 * plain(idx).numpy(), rtol=1e-6)
    np.testing.assert_allclose(plain(idx).numpy(), plain.weight.numpy()[idx.numpy()])


# ---- multi-head attention ----------------------------------------------------------------
def _reference_attention(mha, x, memory=None, allowed=None):
    """The C3 formulas in NumPy, head by head, from the module's weights (float64)."""
    C, H = mha.d_model, mha.n_head
    D = C // H
    w = lambda lin: (lin.weight.numpy().astype(np.float64), lin.bias.numpy().astype(np.float64))
    xs = x.numpy().astype(np.float64)
    if mha.cross:
        (wq, bq), (wkv, bkv) = w(mha.q_proj), w(mha.kv_proj)
        q = xs @ wq.T + bq
        kv = memory.numpy().astype(np.float64) @ wkv.T + bkv
        k, v = kv[..., :C], kv[..., C:]
    else:
        wqkv, bqkv = w(mha.qkv_proj)
        qkv = xs @ wqkv.T + bqkv
        q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]
    heads = []
    for h in range(H):
        cols = slice(h * D, (h + 1) * D)
        scores = q[..., cols] @ np.swapaxes(k[..., cols], -1, -2) / math.sqrt(D)   # (B, Tq, Tk)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        a = np.exp(scores - scores.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        heads.append(a @ v[..., cols])
    wo, bo = w(mha.out_proj)
    return np.concatenate(heads, axis=-1) @ wo.T + bo


def test_attention_matches_the_formulas(rng):
    mha = MultiHeadAttention(8, 2)
    x = _x(rng, 2, 5, 8)
    np.testing.assert_allclose(mha(x).numpy(), _reference_attention(mha, x), atol=1e-5)
    tril = np.tril(np.ones((5, 5), dtype=bool))
    np.testing.assert_allclose(mha(x, causal=True).numpy(),
                               _reference_attention(mha, x, allowed=tril), atol=1e-5)
    cross = MultiHeadAttention(8, 4, cross=True)
    memory = _x(rng, 2, 3, 8)
    pad = np.array([[False, False, True], [False, False, False]])
    np.testing.assert_allclose(cross(x, memory, key_padding_mask=pad).numpy(),
                               _reference_attention(cross, x, memory, ~pad[:, None, :]),
                               atol=1e-5)


def test_causal_attention_never_looks_ahead(rng):
    mha = MultiHeadAttention(8, 2)
    x = rng.standard_normal((2, 6, 8)).astype(np.float32)
    base = mha(mg.tensor(x), causal=True).numpy()
    for t in range(5):
        changed = x.copy()
        changed[:, t + 1:] = rng.standard_normal(changed[:, t + 1:].shape)
        out = mha(mg.tensor(changed), causal=True).numpy()
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], atol=1e-6)
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-3
    # without the mask, the future does reach the past
    changed = x.copy()
    changed[:, -1] += 1
    leak = mha(mg.tensor(changed)).numpy()[:, 0] - mha(mg.tensor(x)).numpy()[:, 0]
    assert np.abs(leak).max() > 1e-4


@pytest.mark.parametrize("make", [lambda: MultiHeadAttention(8, 2),
                                  lambda: EncoderLayer(8, 2, 16, norm_first=True),
                                  lambda: EncoderLayer(8, 2, 16, norm_first=False)],
                         ids=["attention", "encoder_pre_ln", "encoder_post_ln"])
def test_padded_keys_change_nothing(rng, make):
    module = make()
    lengths = [4, 2]
    pad = np.arange(6)[None, :] >= np.array(lengths)[:, None]           # (B, T), True = pad
    x = rng.standard_normal((2, 6, 8)).astype(np.float32)
    base = module(mg.tensor(x), key_padding_mask=pad).numpy()
    noisy = x.copy()
    noisy[pad] = 100 * rng.standard_normal(noisy[pad].shape)            # garbage in the padding
    out = module(mg.tensor(noisy), key_padding_mask=pad).numpy()
    np.testing.assert_allclose(out[~pad], base[~pad], atol=1e-5)
    for b, n in enumerate(lengths):                                       # = the unpadded sequence
        np.testing.assert_allclose(module(mg.tensor(x[b:b + 1, :n])).numpy()[0], base[b, :n],
                                   atol=1e-5)
    unmasked = module(mg.tensor(noisy)).numpy()                           # the mask matters
    assert np.abs(unmasked[~pad] - base[~pad]).max() > 1e-2


def test_causal_mask_with_a_cache_is_bottom_right_aligned():
    np.testing.assert_array_equal(causal_mask(3, 3), np.tril(np.ones((3, 3), dtype=bool)))
    np.testing.assert_array_equal(causal_mask(1, 4), np.ones((1, 4), dtype=bool))
    np.testing.assert_array_equal(causal_mask(2, 4), [[1, 1, 1, 0], [1, 1, 1, 1]])


@pytest.mark.parametrize("chunks", [[1] * 7, [3, 1, 2, 1]], ids=["token_by_token", "chunks"])
def test_kv_cache_gives_the_full_causal_output(rng, chunks):
    mha = MultiHeadAttention(8, 2)
    x = _x(rng, 2, 7, 8)
    full = mha(x, causal=True).numpy()
    cache, outs, start = KVCache(), [], 0
    for n in chunks:
        outs.append(mha(x[:, start:start + n], causal=True, cache=cache).numpy())
        start += n
        assert len(cache) == start
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, atol=1e-5)


def test_decoder_layer_caches_give_the_full_output(rng):
    layer = DecoderLayer(8, 2, 16, norm_first=True).eval()
    x, memory = _x(rng, 2, 5, 8), _x(rng, 2, 3, 8)
    mem_pad = np.array([[False, False, True], [False, False, False]])
    full = layer(x, memory, memory_key_padding_mask=mem_pad).numpy()
    self_cache, cross_cache = KVCache(), KVCache()
    steps = [layer(x[:, t:t + 1], memory, memory_key_padding_mask=mem_pad,
                   self_cache=self_cache, cross_cache=cross_cache).numpy() for t in range(5)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-5)
    assert len(self_cache) == 5 and len(cross_cache) == 3        # memory's K, V computed once


def test_dropout_acts_in_training_only(rng):
    mha = MultiHeadAttention(8, 2, dropout=0.5)
    layer = DecoderLayer(8, 2, 16, dropout=0.3, cross_attention=False)
    x = _x(rng, 2, 5, 8)
    for module in (mha, layer):
        a, b = module(x).numpy(), module(x).numpy()
        assert np.abs(a - b).max() > 1e-3                   # a fresh mask each call
        module.eval()
        np.testing.assert_array_equal(module(x).numpy(), module(x).numpy())
    no_dropout = MultiHeadAttention(8, 2)
    no_dropout.load_state_dict(mha.state_dict())
    np.testing.assert_allclose(mha(x).numpy(), no_dropout(x).numpy(), atol=1e-6)


def test_attention_errors(rng):
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(10, 3)
    mha, cross = MultiHeadAttention(8, 2), MultiHeadAttention(8, 2, cross=True)
    x = _x(rng, 2, 3, 8)
    with pytest.raises(mg.ShapeError, match=r"\(B, T, 8\)"):
        mha(_x(rng, 2, 3, 4))
    with pytest.raises(ValueError, match="needs memory"):
        cross(x)
    with pytest.raises(ValueError, match="cross=True"):
        mha(x, memory=x)
    with pytest.raises(mg.ShapeError, match=r"\(2, 3\)"):
        mha(x, key_padding_mask=np.zeros((2, 4), dtype=bool))
    with pytest.raises(mg.DTypeError, match="bool"):
        mha(x, key_padding_mask=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="activation"):
        FeedForward(8, 16, activation="swish")
    with pytest.raises(ValueError, match="memory"):
        DecoderLayer(8, 2, 16)(x)


def test_feed_forward_is_the_c5_formula(rng):
    ffn = FeedForward(4, 6)
    x = _x(rng, 2, 3, 4)
    w1, b1, w2, b2 = (p.numpy() for p in (ffn.fc1.weight, ffn.fc1.bias, ffn.fc2.weight,
                                          ffn.fc2.bias))
    expected = np.maximum(0, x.numpy() @ w1.T + b1) @ w2.T + b2    # max(0, xW1 + b1)W2 + b2
    np.testing.assert_allclose(ffn(x).numpy(), expected, atol=1e-5)
    gelu = FeedForward(4, 6, activation="gelu")
    gelu.fc1, gelu.fc2 = ffn.fc1, ffn.fc2
    assert np.abs(gelu(x).numpy() - expected).max() > 1e-3


# ---- gradients --------------------------------------------------------------------------
def test_gradcheck_attention(rng):
    mha = MultiHeadAttention(4, 2).double()
    cross = MultiHeadAttention(4, 2, cross=True).double()
    x = mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    memory = mg.tensor(rng.standard_normal((2, 2, 4)), requires_grad=True)
    pad = np.array([[False, False, True], [False, False, False]])
    assert mg.gradcheck(lambda t: mha(t, causal=True), x)
    assert mg.gradcheck(lambda t: mha(t, key_padding_mask=pad), x)
    assert mg.gradcheck(lambda t, m: cross(t, m), x, memory)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre_ln", "post_ln"])
def test_gradcheck_decoder_layer(rng, norm_first):
    layer = DecoderLayer(4, 2, 8, activation="gelu", norm_first=norm_first).double()
    x = mg.tensor(rng.standard_normal((1, 3, 4)), requires_grad=True)
    memory = mg.tensor(rng.standard_normal((1, 2, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t, m: layer(t, m), x, memory)


def test_gradcheck_fails_on_a_wrong_gradient(rng):
    """The check above can fail: detaching the residual branch breaks the gradient."""
    layer = EncoderLayer(4, 2, 8).double()
    x = mg.tensor(rng.standard_normal((1, 3, 4)), requires_grad=True)
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda t: layer.norm1(t + layer.self_attn(t).detach()), x)


# ---- torch as the oracle ----------------------------------------------------------------
def _torch_state(module, torch):
    """Our state_dict in the names of torch.nn.TransformerEncoderLayer / DecoderLayer."""
    ours = {name: np.asarray(value) for name, value in module.state_dict().items()}
    renamed = {}
    for name, value in ours.items():
        name = (name.replace("self_attn.qkv_proj.", "self_attn.in_proj_")
                .replace("ffn.fc1", "linear1").replace("ffn.fc2", "linear2")
                .replace("cross_attn.out_proj", "multihead_attn.out_proj"))
        if name.startswith("cross_attn.kv_proj"):
            continue
        if name.startswith("cross_attn.q_proj."):
            part = name.rsplit(".", 1)[1]
            value = np.concatenate([value, ours[f"cross_attn.kv_proj.{part}"]])
            name = f"multihead_attn.in_proj_{part}"
        renamed[name] = torch.from_numpy(value)
    return renamed


def _compare_param_grads(module, torch_module, atol):
    theirs = {name: p.grad.numpy() for name, p in torch_module.named_parameters()}
    for name, p in module.named_parameters():
        key = (name.replace("self_attn.qkv_proj.", "self_attn.in_proj_")
               .replace("ffn.fc1", "linear1").replace("ffn.fc2", "linear2")
               .replace("cross_attn.out_proj", "multihead_attn.out_proj"))
        if name.startswith("cross_attn.q_proj."):
            C = p.shape[0]
            key = f"multihead_attn.in_proj_{name.rsplit('.', 1)[1]}"
            np.testing.assert_allclose(p.grad, theirs[key][:C], atol=atol, err_msg=name)
        elif name.startswith("cross_attn.kv_proj."):
            C = p.shape[0] // 2
            key = f"multihead_attn.in_proj_{name.rsplit('.', 1)[1]}"
            np.testing.assert_allclose(p.grad, theirs[key][C:], atol=atol, err_msg=name)
        else:
            np.testing.assert_allclose(p.grad, theirs[key], atol=atol, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("norm_first", [True, False], ids=["pre_ln", "post_ln"])
@pytest.mark.parametrize("kind", ["encoder", "decoder"])
def test_layers_match_torch(rng, kind, norm_first):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    C, H, F_, act = 8, 2, 16, "gelu"
    if kind == "encoder":
        ours = EncoderLayer(C, H, F_, activation=act, norm_first=norm_first).double()
        theirs = torch.nn.TransformerEncoderLayer(C, H, F_, dropout=0.0, activation=act,
                                                  batch_first=True, norm_first=norm_first)
    else:
        ours = DecoderLayer(C, H, F_, activation=act, norm_first=norm_first).double()
        theirs = torch.nn.TransformerDecoderLayer(C, H, F_, dropout=0.0, activation=act,
                                                  batch_first=True, norm_first=norm_first)
    theirs = theirs.double()
    theirs.load_state_dict(_torch_state(ours, torch))
    x = rng.standard_normal((2, 5, C))
    memory = rng.standard_normal((2, 3, C))
    pad = np.array([[False] * 5, [False] * 3 + [True] * 2])
    mem_pad = np.array([[False, False, True], [False, False, False]])
    mx = mg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    if kind == "encoder":
        out = ours(mx, key_padding_mask=pad)
        expected = theirs(tx, src_key_padding_mask=torch.from_numpy(pad))
    else:
        mm, tm = mg.tensor(memory, requires_grad=True), torch.tensor(memory, requires_grad=True)
        out = ours(mx, mm, key_padding_mask=pad, memory_key_padding_mask=mem_pad)
        causal = torch.ones(5, 5, dtype=torch.bool).triu(1)           # True = masked (torch)
        expected = theirs(tx, tm, tgt_mask=causal, tgt_is_causal=True,
                          tgt_key_padding_mask=torch.from_numpy(pad),
                          memory_key_padding_mask=torch.from_numpy(mem_pad))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), atol=1e-10)
    r = rng.standard_normal(out.shape)
    (out * mg.tensor(r)).sum().backward()
    (expected * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(mx.grad, tx.grad.numpy(), atol=1e-10)
    if kind == "decoder":
        np.testing.assert_allclose(mm.grad, tm.grad.numpy(), atol=1e-10)
    _compare_param_grads(ours, theirs, atol=1e-10)


# ---- training ---------------------------------------------------------------------------
class _CopyModel(nn.Module):
    """Embedding + sinusoidal positions + two encoder layers + a head: predicts its own input."""

    def __init__(self, V, C, norm_first):
        super().__init__()
        self.emb = TokenEmbedding(V, C, scale=True)
        self.pos = SinusoidalPositionalEncoding(C, 16)
        self.layers = nn.ModuleList([EncoderLayer(C, 2, 2 * C, norm_first=norm_first)
                                     for _ in range(2)])
        self.norm = nn.LayerNorm(C) if norm_first else None
        self.head = nn.Linear(C, V)

    def forward(self, idx):
        x = self.pos(self.emb(idx))                                   # (B, T, C)
        for layer in self.layers:
            x = layer(x)
        return self.head(self.norm(x) if self.norm is not None else x)   # (B, T, V)


@pytest.mark.parametrize("norm_first", [True, False], ids=["pre_ln", "post_ln"])
def test_pre_ln_and_post_ln_both_learn_to_copy(rng, norm_first):
    V, C = 8, 16
    model = _CopyModel(V, C, norm_first)
    opt = mg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    losses = []
    for _ in range(60):
        idx = mg.tensor(rng.integers(0, V, (16, 8)))
        loss = F.cross_entropy(model(idx).reshape(-1, V), idx.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[0] > 1.5                                   # ≈ log 8 = 2.08 at the start
    assert np.mean(losses[-5:]) < 0.2 * losses[0], losses[::10]
