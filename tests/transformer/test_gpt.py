"""GPT: causality, KV-cache generation vs full recomputation, sampling, weight tying, init,
parameter and FLOP counts, overfitting a string, and a nanoGPT-style torch model as the oracle."""
import math

import numpy as np
import pytest

import minigrad as mg
import transformer.gpt
from transformer import GPT, GPTConfig, sample_next_token

SMALL = dict(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=16)

pytestmark = pytest.mark.usefixtures("one_thread")


def _model(seed=0, **overrides):
    mg.manual_seed(seed)
    return GPT(GPTConfig(**{**SMALL, **overrides})).eval()


def _tokens(rng, B, T, V=SMALL["vocab_size"]):
    return mg.tensor(rng.integers(0, V, (B, T)))


# ---- forward ------------------------------------------------------------------------------
def test_forward_shapes_and_loss(rng):
    model = _model()
    idx, targets = _tokens(rng, 3, 8), _tokens(rng, 3, 8)
    logits, loss = model(idx)
    assert logits.shape == (3, 8, 13) and loss is None
    logits, loss = model(idx, targets)
    z = logits.numpy().astype(np.float64).reshape(-1, 13)
    m = z.max(1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(1, keepdims=True))          # log softmax
    expected = -logp[np.arange(24), targets.numpy().reshape(-1)].mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    # small init: the first loss is close to uniform guessing, log V
    assert abs(loss.item() - math.log(13)) < 0.3
    ignored = targets.numpy().copy()
    ignored[:, :4] = -1                                     # -1 = ignore, as nanoGPT
    _, half = model(idx, mg.tensor(ignored))
    expected_half = -logp.reshape(3, 8, 13)[:, 4:][
        np.arange(3)[:, None], np.arange(4)[None, :], targets.numpy()[:, 4:]].mean()
    assert half.item() == pytest.approx(expected_half, rel=1e-5)


def test_forward_errors(rng):
    model = _model()
    with pytest.raises(mg.ShapeError, match="block_size=8"):
        model(_tokens(rng, 1, 9))
    with pytest.raises(mg.ShapeError, match=r"\(B, T\)"):
        model(mg.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="divisible"):
        GPT(GPTConfig(**{**SMALL, "n_head": 3}))
    with pytest.raises(IndexError, match="out of range"):
        model(mg.tensor([[0, 13]]))


def test_logits_are_causal(rng):
    model = _model()
    idx = rng.integers(0, 13, (2, 8))
    base = model(mg.tensor(idx))[0].numpy()
    for t in range(7):
        changed = idx.copy()
        shift = rng.integers(1, 13, changed[:, t + 1:].shape)           # every later token differs
        changed[:, t + 1:] = (changed[:, t + 1:] + shift) % 13
        out = model(mg.tensor(changed))[0].numpy()
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], atol=1e-5)
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-4


# ---- KV cache and generation --------------------------------------------------------------
def test_cached_forward_gives_the_full_logits(rng):
    model = _model()
    idx = _tokens(rng, 2, 8)
    full = model(idx)[0].numpy()
    caches = model.new_kv_caches()
    parts = [model(idx[:, :3], kv_caches=caches)[0].numpy()]
    parts += [model(idx[:, t:t + 1], kv_caches=caches)[0].numpy() for t in range(3, 8)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)
    with pytest.raises(mg.ShapeError, match="8 cached"):
        model(idx[:, :1], kv_caches=caches)


def _generate_by_recomputation(model, idx, max_new_tokens, **sampling):
    """nanoGPT's loop: no cache, the whole (cropped) context through the model every step."""
    block_size = model.config.block_size
    all_logits = []
    with mg.no_grad():
        for _ in range(max_new_tokens):
            logits = model(idx[:, -block_size:])[0][:, -1, :]                 # (B, V)
            all_logits.append(logits.numpy())
            idx = mg.cat([idx, sample_next_token(logits, **sampling)], dim=1)
    return idx, all_logits


@pytest.mark.parametrize("sampling", [dict(temperature=0), dict(temperature=1.0),
                                      dict(temperature=0.8, top_k=4),
                                      dict(temperature=1.2, top_p=0.9)],
                         ids=["greedy", "sample", "top_k", "top_p"])
def test_generate_with_cache_equals_recomputation(rng, monkeypatch, sampling):
    """Prompt 3 + 12 new tokens with block_size 8: runs both the cached steps and the cropped
    recomputation once the context is full."""
    model = _model()
    prompt = _tokens(rng, 2, 3)
    mg.manual_seed(5)
    expected, step_logits = _generate_by_recomputation(model, prompt, 12, **sampling)
    mg.manual_seed(5)
    seen = []

    def spy(logits, *args):                                # record the logits generate samples from
        seen.append(logits.numpy())
        return sample_next_token(logits, *args)

    monkeypatch.setattr(transformer.gpt, "sample_next_token", spy)
    out = model.generate(prompt, 12, **sampling)
    assert out.shape == (2, 15)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    np.testing.assert_array_equal(out.numpy()[:, :3], prompt.numpy())
    np.testing.assert_allclose(np.stack(seen), np.stack(step_logits), atol=1e-5)


def test_generate_repeats_with_the_seed_and_crops_long_prompts(rng):
    model = _model()
    prompt = _tokens(rng, 1, 11)                              # longer than block_size
    mg.manual_seed(1)
    a = model.generate(prompt, 6).numpy()
    mg.manual_seed(1)
    b = model.generate(prompt, 6).numpy()
    mg.manual_seed(2)
    c = model.generate(prompt, 6).numpy()
    assert a.shape == (1, 17)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert model.generate(prompt, 0).shape == (1, 11)
    with pytest.raises(mg.ShapeError, match="T ≥ 1"):
        model.generate(mg.tensor(np.zeros((1, 0), dtype=np.int64)), 3)


def test_sample_next_token():
    logits = mg.tensor([[0.0, 3.0, 1.0, 2.0, -1.0]] * 4000)
    assert sample_next_token(logits[:2], temperature=0).tolist() == [[1], [1]]
    mg.manual_seed(0)
    assert set(sample_next_token(logits, top_k=1).numpy().ravel()) == {1}
    mg.manual_seed(0)
    assert set(sample_next_token(logits, top_k=2).numpy().ravel()) == {1, 3}
    p = np.exp([0.0, 3.0, 1.0, 2.0, -1.0])
    p /= p.sum()                                            # sorted: 1 (.64), 3 (.23), 2 (.09)...
    mg.manual_seed(0)
    assert set(sample_next_token(logits, top_p=0.8).numpy().ravel()) == {1, 3}
    mg.manual_seed(0)
    counts = np.bincount(sample_next_token(logits).numpy().ravel(), minlength=5) / 4000
    np.testing.assert_allclose(counts, p, atol=0.03)
    mg.manual_seed(0)
    hot = np.bincount(sample_next_token(logits, temperature=0.5).numpy().ravel(), minlength=5)
    assert hot[1] / 4000 > p[1] + 0.1                       # colder: the argmax more often
    with pytest.raises(ValueError, match="top_p"):
        sample_next_token(logits, top_p=0)
    with pytest.raises(ValueError, match="temperature"):
        sample_next_token(logits, temperature=-1)


# ---- parameters, init, counts -------------------------------------------------------------
def test_weight_tying():
    model = _model()
    assert model.lm_head.weight is model.wte.weight
    names = [name for name, _ in model.named_parameters()]
    assert "wte.weight" in names and "lm_head.weight" not in names      # counted once
    assert model.num_parameters() == sum(p.numel() for p in model.parameters())
    state = model.state_dict()                                          # both names, as torch
    np.testing.assert_array_equal(state["wte.weight"], state["lm_head.weight"])


def test_parameter_count_and_flops():
    cfg = GPTConfig(**SMALL)
    model = GPT(cfg)
    V, T, L, C = cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_embd
    per_layer = (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C) + 4 * C
    total = V * C + T * C + L * per_layer + 2 * C
    assert model.num_parameters() == total
    assert model.num_parameters(non_embedding=True) == total - T * C
    assert model.flops_per_token() == 6 * (total - T * C) + 12 * L * C * T
    assert model.flops_per_token(seq_len=4) == 6 * (total - T * C) + 12 * L * C * 4
    no_bias = GPT(GPTConfig(**{**SMALL, "bias": False}))
    biases = L * (3 * C + C + 4 * C + C + 2 * C) + C       # qkv, out, fc1, fc2, 2 LNs; ln_f
    assert model.num_parameters() - no_bias.num_parameters() == biases


def test_gpt2_init():
    model = _model(n_layer=4, n_embd=64, n_head=4, vocab_size=300, block_size=64)
    params = dict(model.named_parameters())
    residual = 0.02 / math.sqrt(2 * 4)
    for name, p in params.items():
        values = p.numpy()
        if name.endswith(("out_proj.weight", "fc2.weight")):
            assert values.std() == pytest.approx(residual, rel=0.1), name
        elif name.endswith("bias"):
            assert not values.any(), name
        elif "norm" in name or "ln_f" in name:
            assert (values == 1).all(), name
        else:
            assert values.std() == pytest.approx(0.02, rel=0.1), name
            assert abs(values.mean()) < 0.005, name


# ---- training ------------------------------------------------------------------------------
def test_overfits_a_repeated_string():
    text = "hello minigrad! " * 4
    chars = sorted(set(text))
    ids = np.array([chars.index(ch) for ch in text])
    block = 16
    windows = np.stack([ids[i:i + block + 1] for i in range(len(ids) - block)])   # (N, 17)
    x, y = mg.tensor(windows[:, :-1]), mg.tensor(windows[:, 1:])
    mg.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=len(chars), block_size=block, n_layer=2, n_head=2,
                          n_embd=32))
    opt = mg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    first = None
    for _ in range(150):                  # well past the loss bound, so greedy decoding has a margin
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert first > 2.0 and loss.item() < 0.1, (first, loss.item())
    # and it has learned the text: greedy continuation of a prompt reproduces it
    model.eval()
    out = model.generate(mg.tensor(ids[None, :5]), 20, temperature=0).numpy()[0]
    assert "".join(chars[i] for i in out) == text[:25]


# ---- torch as the oracle -------------------------------------------------------------------
def _torch_gpt(torch, cfg):
    """nanoGPT's model.py, trimmed (no flash switch, full logits), with our parameter names."""
    nn, F = torch.nn, torch.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv_proj = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
            self.out_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = self.qkv_proj(x).split(C, dim=2)
            q, k, v = (t.view(B, T, cfg.n_head, C // cfg.n_head).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            y = F.softmax(att, dim=-1) @ v
            return self.out_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
            self.fc2 = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

        def forward(self, x):
            return self.fc2(F.gelu(self.fc1(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn = Attention()
            self.norm1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.ffn = MLP()
            self.norm3 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)

        def forward(self, x):
            x = x + self.self_attn(self.norm1(x))
            return x + self.ffn(self.norm3(x))

    class Positions(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(cfg.block_size, cfg.n_embd))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = Positions()
            self.blocks = nn.ModuleList([Block() for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
            self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
            self.lm_head.weight = self.wte.weight

        def forward(self, idx, targets):
            T = idx.shape[1]
            x = self.wte(idx) + self.wpe.weight[:T]
            for block in self.blocks:
                x = block(x)
            logits = self.lm_head(self.ln_f(x))
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                           ignore_index=-1)

    return TorchGPT()


@pytest.mark.torch
@pytest.mark.parametrize("dtype, atol", [(np.float32, 2e-5), (np.float64, 1e-10)],
                         ids=["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_matches_a_torch_gpt(rng, dtype, atol, bias):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    model = _model(bias=bias).train()
    cfg = model.config
    if dtype == np.float64:
        model.double()
    theirs = _torch_gpt(torch, cfg).to(torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict({name: torch.from_numpy(np.array(value))
                            for name, value in model.state_dict().items()})
    idx, targets = rng.integers(0, 13, (3, 8)), rng.integers(0, 13, (3, 8))
    targets[0, :2] = -1
    logits, loss = model(mg.tensor(idx), mg.tensor(targets))
    t_logits, t_loss = theirs(torch.from_numpy(idx), torch.from_numpy(targets))
    assert logits.dtype == dtype
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), atol=atol, rtol=atol)
    assert loss.item() == pytest.approx(t_loss.item(), abs=atol)
    loss.backward()
    t_loss.backward()
    t_grads = {name: p.grad.numpy() for name, p in theirs.named_parameters()}
    ours = dict(model.named_parameters())
    assert list(ours) == list(t_grads)              # same names, the tied one once in both
    for name, p in ours.items():                    # wte's gradient: embedding + head, summed
        np.testing.assert_allclose(p.grad, t_grads[name], atol=atol, rtol=1e-3 if
                                   dtype == np.float32 else 1e-7, err_msg=name)
