"""The encoder-decoder Transformer: config checks, loss, errors, weight sharing, one memory vector
per source position, decoder causality, source padding invariance, cached decoding vs full
recomputation, gradcheck, greedy and beam search (beam 1 = greedy, an exhaustive beam = brute
force, scores recomputed), learning to reverse sequences, and torch.nn.Transformer's layers as
the oracle."""
import itertools
import math
from contextlib import contextmanager

import numpy as np
import pytest

import minigrad as mg
from transformer.seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch

pytestmark = pytest.mark.usefixtures("one_thread")

PAD, BOS, EOS = 0, 1, 2
SMALL = dict(src_vocab_size=11, tgt_vocab_size=11, d_model=16, n_head=2, num_encoder_layers=2,
             num_decoder_layers=2, d_ff=32, dropout=0.0, max_len=10)


def _model(seed=0, **overrides):
    mg.manual_seed(seed)
    return Seq2SeqTransformer(Seq2SeqConfig(**{**SMALL, **overrides})).eval()


def _words(rng, n, V=SMALL["src_vocab_size"], lengths=(2, 6)):
    """n random token lists (no special ids) of lengths in [lengths[0], lengths[1]]."""
    return [list(rng.integers(3, V, rng.integers(lengths[0], lengths[1] + 1))) for _ in range(n)]


def _log_prob(model, src, tokens, finished):
    """log P(tokens [+ eos] | src) by one teacher-forced forward pass (float64 log-softmax)."""
    labels = tokens + [EOS] if finished else tokens
    tgt_in = [BOS] + labels[:-1]
    with mg.no_grad():
        logits, _ = model(mg.tensor([src]), mg.tensor([tgt_in]))
    z = logits.numpy()[0].astype(np.float64)                                   # (T, V)
    z = z - z.max(1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    return float(logp[np.arange(len(labels)), labels].sum()), len(labels)


def _score(model, src, tokens, max_len, length_penalty):
    """beam_search's score of an output: log P / |y|^α; an output of max_len tokens is truncated."""
    logp, length = _log_prob(model, src, tokens, finished=len(tokens) < max_len)
    return logp / length ** length_penalty


# ---- config ---------------------------------------------------------------------------------
@pytest.mark.parametrize("field, value, match", [
    ("d_model", 0, "d_model must be a positive int"),
    ("max_len", 2.5, "max_len must be a positive int"),
    ("n_head", 3, "not divisible by n_head=3"),
    ("dropout", 1.0, "dropout must be in"),
    ("activation", "tanh", "activation must be"),
    ("tgt_vocab_size", 12, "share_embeddings=True needs one vocabulary"),
    ("eos_id", 11, "eos_id=11 is not a token id"),
    ("bos_id", 0, "must differ"),
])
def test_config_errors_name_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        Seq2SeqConfig(**{**SMALL, "share_embeddings": True, field: value})


def test_defaults_are_the_paper_base_model():
    cfg = Seq2SeqConfig()
    assert (cfg.d_model, cfg.n_head, cfg.num_encoder_layers, cfg.d_ff, cfg.dropout) == \
        (512, 8, 6, 2048, 0.1)
    assert cfg.share_embeddings and not cfg.norm_first and cfg.activation == "relu"


# ---- forward, loss, errors ------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_forward_shapes_and_loss_ignores_padding(rng, norm_first):
    model = _model(norm_first=norm_first)
    src, tgt_in, tgt_out = make_batch(_words(rng, 3), _words(rng, 3))
    logits, loss = model(src, tgt_in)
    assert logits.shape == (3, tgt_in.shape[1], 11) and loss is None
    memory = model.encode(mg.tensor(src))
    assert memory.shape == (3, src.shape[1], 16)          # one vector per source position (B1)
    logits, loss = model(src, tgt_in, tgt_out)
    z = logits.numpy().astype(np.float64)
    z = z - z.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    real = tgt_out != PAD
    expected = -np.take_along_axis(logp, tgt_out[..., None], -1)[..., 0][real].mean()
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert abs(loss.item() - math.log(11)) < 1.0         # near uniform guessing at init


def test_errors(rng):
    model = _model()
    src, tgt_in, tgt_out = make_batch(_words(rng, 2), _words(rng, 2))
    wrong = src.copy()
    wrong[0, 0] = 11
    with pytest.raises(IndexError, match="src holds token id 11.*vocabulary of 11"):
        model(wrong, tgt_in)
    wrong = tgt_in.copy()
    wrong[1, 0] = -1
    with pytest.raises(IndexError, match="tgt_in holds token id -1"):
        model(src, wrong)
    with pytest.raises(mg.ShapeError, match="src has 11 positions, more than max_len=10"):
        model(np.full((1, 11), 3), tgt_in[:1])
    with pytest.raises(mg.ShapeError, match=r"\(B, T\)"):
        model(src[0], tgt_in)
    with pytest.raises(mg.ShapeError, match=r"B, T ≥ 1, got shape \(0, 3\)"):
        model.greedy_decode(np.zeros((0, 3), dtype=np.int64))   # was NumPy's "zero-size array"
    with pytest.raises(mg.DTypeError, match="integer token ids"):
        model(src.astype(np.float32), tgt_in)
    with pytest.raises(ValueError, match="row 1 of src holds only padding"):
        model(np.array([[3, 4], [PAD, PAD]]), tgt_in)
    with pytest.raises(mg.ShapeError, match="targets must be"):
        model(src, tgt_in, tgt_out[:, :-1])
    with pytest.raises(ValueError, match=r"max_len .* must be in \[1, 10\]"):
        model.greedy_decode(src, max_len=11)
    with pytest.raises(ValueError, match="beam_size"):
        model.beam_search(src, beam_size=0)
    caches = model.new_kv_caches()
    memory = model.encode(mg.tensor(src))
    model.decode(np.full((2, 10), 3), memory, kv_caches=caches)
    with pytest.raises(mg.ShapeError, match="10 cached \\+ 1 new .* max_len=10"):
        model.decode(np.full((2, 1), 3), memory, kv_caches=caches)


def test_shared_and_separate_embeddings():
    shared = _model(share_embeddings=True)
    assert shared.src_embed.weight is shared.tgt_embed.weight is shared.lm_head.weight
    names = [name for name, _ in shared.named_parameters()]
    assert "src_embed.weight" in names and "tgt_embed.weight" not in names   # counted once
    separate = _model(share_embeddings=False, tgt_vocab_size=14)
    assert separate.src_embed.weight.shape == (11, 16)
    assert separate.tgt_embed.weight.shape == separate.lm_head.weight.shape == (14, 16)
    extra = (14 + 14) * 16                                # tgt_embed and lm_head of their own
    assert separate.num_parameters() - shared.num_parameters() == extra
    # the (V, C) table's init: N(0, 1/C), so that embed·√C has unit variance
    table = _model(d_model=64, n_head=4, src_vocab_size=500, tgt_vocab_size=500).src_embed
    assert table.weight.numpy().std() == pytest.approx(64 ** -0.5, rel=0.05)


# ---- masks: causality and padding ------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_decoder_is_causal(rng, norm_first):
    model = _model(norm_first=norm_first)
    src = mg.tensor(make_batch(_words(rng, 2), _words(rng, 2))[0])
    tgt = rng.integers(3, 11, (2, 7))
    base = model(src, tgt)[0].numpy()
    for t in range(6):
        changed = tgt.copy()
        changed[:, t + 1:] = (changed[:, t + 1:] - 3 + rng.integers(1, 8, (2, 6 - t))) % 8 + 3
        out = model(src, changed)[0].numpy()
        np.testing.assert_allclose(out[:, :t + 1], base[:, :t + 1], atol=1e-5)
        assert np.abs(out[:, t + 1:] - base[:, t + 1:]).max() > 1e-4


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_source_padding_changes_nothing(rng, norm_first):
    model = _model(norm_first=norm_first)
    sources, targets = _words(rng, 3, lengths=(2, 4)), _words(rng, 3)
    _, tgt_in, _ = make_batch(sources, targets)
    alone = [model(np.array([s]), tgt_in[i:i + 1])[0].numpy() for i, s in enumerate(sources)]
    padded = np.full((3, 9), PAD)                        # far more padding than any row needs
    for i, s in enumerate(sources):
        padded[i, :len(s)] = s
    together = model(padded, tgt_in)[0].numpy()
    for i in range(3):
        np.testing.assert_allclose(together[i], alone[i][0], atol=1e-5)
    # the mask matters: the same pads read as the token 3 change the output
    unmasked = model(np.where(padded == PAD, 3, padded), tgt_in)[0].numpy()
    assert np.abs(unmasked - together).max() > 1e-3


# ---- KV cache --------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_cached_decoding_equals_full_recomputation(rng, norm_first):
    model = _model(norm_first=norm_first)
    src = mg.tensor(make_batch(_words(rng, 2), _words(rng, 2))[0])
    pad = model.padding_mask(src)
    memory = model.encode(src)
    tgt = mg.tensor(rng.integers(3, 11, (2, 8)))
    full = model.decode(tgt, memory, pad).numpy()
    caches = model.new_kv_caches()
    parts = [model.decode(tgt[:, :3], memory, pad, kv_caches=caches).numpy()]
    parts += [model.decode(tgt[:, t:t + 1], memory, pad, kv_caches=caches).numpy()
              for t in range(3, 8)]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)
    assert all(len(s) == 8 and len(c) == src.shape[1] for s, c in caches)


# ---- gradients ------------------------------------------------------------------------------
@contextmanager
def _parameter_replaced(module, name, value):
    """``module.<name>`` is the tensor ``value`` (a gradcheck input) inside the block."""
    saved = module._parameters[name]
    module._parameters[name] = value
    try:
        yield
    finally:
        module._parameters[name] = saved


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_gradcheck_loss(rng, norm_first):
    tiny = dict(src_vocab_size=7, tgt_vocab_size=7, d_model=4, n_head=2, num_encoder_layers=1,
                num_decoder_layers=1, d_ff=8, max_len=6, norm_first=norm_first)
    model = _model(**tiny).double()
    src, tgt_in, tgt_out = make_batch([[3, 4, 5], [6, 3]], [[5, 4], [3, 6, 6]])

    def loss_with(module, name):
        def loss(w):
            with _parameter_replaced(module, name, w):
                return model(src, tgt_in, tgt_out)[1]
        return loss

    for module, name in [(model.src_embed, "weight"),    # shared: src, tgt and lm_head
                         (model.encoder_layers[0].self_attn.qkv_proj, "weight"),
                         (model.decoder_layers[0].cross_attn.q_proj, "weight"),
                         (model.decoder_layers[0].norm2, "bias")]:
        w = mg.tensor(module._parameters[name].numpy(), requires_grad=True)
        assert mg.gradcheck(loss_with(module, name), w)
    pad = model.padding_mask(mg.tensor(src))
    memory = mg.tensor(model.encode(mg.tensor(src)).numpy(), requires_grad=True)
    assert mg.gradcheck(lambda m: model.decode(tgt_in, m, pad), memory)


# ---- decoding -------------------------------------------------------------------------------
def test_greedy_decode_is_the_argmax_of_full_recomputation(rng):
    model = _model()
    sources = _words(rng, 3)
    src = make_batch(sources, sources)[0]
    outputs = model.greedy_decode(src, max_len=6)
    for s, out in zip(sources, outputs):                  # nanoGPT's loop: no cache
        tgt = [BOS]
        for _ in range(6):
            token = int(model(np.array([s]), np.array([tgt]))[0].numpy()[0, -1].argmax())
            if token == EOS:
                break
            tgt.append(token)
        assert out == tgt[1:]


def test_beam_of_one_is_greedy(rng):
    model = _model()
    src = make_batch(_words(rng, 6), _words(rng, 6))[0]
    assert model.beam_search(src, beam_size=1, max_len=8, length_penalty=0.0) == \
        model.greedy_decode(src, max_len=8)
    with pytest.raises(ValueError, match="length_penalty"):
        model.beam_search(src, length_penalty=-1)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_exhaustive_beam_is_brute_force(alpha):
    """V = 5 (pad, bos, eos, 2 symbols), 3 tokens at most: 21 outputs end in eos, 64 are cut
    at 3 tokens. A beam of 80 keeps every candidate, so it must find the best of all 85."""
    model = _model(seed=3, src_vocab_size=5, tgt_vocab_size=5, max_len=4)
    src = [3, 4, 4]
    others = [0, 1, 3, 4]                                 # every token but eos
    outputs = [list(p) for n in range(3) for p in itertools.product(others, repeat=n)]
    outputs += [list(p) for p in itertools.product(others, repeat=3)]
    scores = [_score(model, src, out, 3, alpha) for out in outputs]
    best = outputs[int(np.argmax(scores))]
    (found,), (score,) = model.beam_search(np.array([src]), beam_size=80, max_len=3,
                                           length_penalty=alpha, return_scores=True)
    assert found == best and score == pytest.approx(max(scores), abs=1e-5)
    greedy = model.greedy_decode(np.array([src]), max_len=3)[0]
    assert _score(model, src, greedy, 3, alpha) <= score + 1e-5


def test_beam_scores_are_the_model_scores(rng):
    """Each returned score equals log P / |y|^α recomputed without a cache, which checks that
    the caches follow their hypotheses when the beam reorders; and the beam beats greedy here
    (not a theorem: a beam can lose to greedy, but not on these seeded examples)."""
    model = _model(seed=1)
    sources = _words(rng, 5)
    src = make_batch(sources, sources)[0]
    outputs, scores = model.beam_search(src, beam_size=4, max_len=7, return_scores=True)
    greedy = model.greedy_decode(src, max_len=7)
    for s, out, score, g in zip(sources, outputs, scores, greedy):
        assert score == pytest.approx(_score(model, s, out, 7, 1.0), abs=1e-5)
        assert _score(model, s, g, 7, 1.0) <= score + 1e-5
    assert any(o != g for o, g in zip(outputs, greedy))   # the beam did something else


def test_beam_waits_for_its_best_hypothesis():
    """A confident model's unlikely alternatives can reach eos early; a beam that stopped at
    beam_size finished hypotheses (fairseq's rule) returned one of those before the most
    probable hypothesis had ended: with that rule one of these 8 outputs scores below greedy's
    (and the trained translator of lesson 15 lost 2% of its exact matches to greedy)."""
    model = _model(seed=1, share_embeddings=False)
    model.lm_head.weight.data *= 10                        # sharp output distributions
    sources = _words(np.random.default_rng(1), 8)
    src = make_batch(sources, sources)[0]
    outputs, scores = model.beam_search(src, beam_size=4, max_len=9, return_scores=True)
    for s, out, score, g in zip(sources, outputs, scores, model.greedy_decode(src, max_len=9)):
        assert score == pytest.approx(_score(model, s, out, 9, 1.0), abs=1e-4)
        assert _score(model, s, g, 9, 1.0) <= score + 1e-4, (out, g)


# ---- learning -------------------------------------------------------------------------------
def _reverse_task(rng, n, cipher=False):
    """Sources of 4..6 symbols out of 8 (ids 3..10); the target is the source reversed, and with
    ``cipher`` each symbol s becomes s + 3 (a different target vocabulary: ids 6..13)."""
    sources = [list(rng.integers(3, 11, rng.integers(4, 7))) for _ in range(n)]
    return sources, [[s + 3 * cipher for s in src[::-1]] for src in sources]


@pytest.mark.slow
@pytest.mark.parametrize("shared", [True, False], ids=["shared_vocab", "separate_vocab"])
def test_learns_to_reverse_sequences(shared):
    """200 Adam steps (20 of warm-up, then a linear decay) of 64 pairs. The encoder has two
    layers: a source position's key must say how far it is from the source's end, which one
    self-attention layer learns much more slowly (measured: 86-99% instead of 99.8-100%)."""
    cfg = dict(src_vocab_size=11, tgt_vocab_size=11 if shared else 14, d_model=32, n_head=2,
               num_encoder_layers=2, num_decoder_layers=1, d_ff=64, max_len=8, norm_first=True,
               share_embeddings=shared)
    model = _model(**cfg).train()
    rng = np.random.default_rng(0)
    steps = 200
    opt = mg.optim.Adam(model.parameters(), lr=2e-2)
    schedule = mg.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1, (step + 1) / 20) * (1 - step / steps))
    seen = set()
    for _ in range(steps):
        sources, targets = _reverse_task(rng, 64, cipher=not shared)
        seen.update(map(tuple, sources))
        src, tgt_in, tgt_out = make_batch(sources, targets)
        _, loss = model(src, tgt_in, tgt_out)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    model.eval()
    sources, targets = _reverse_task(np.random.default_rng(1), 400, cipher=not shared)
    unseen = [i for i, s in enumerate(sources) if tuple(s) not in seen][:200]   # held out
    assert len(unseen) == 200
    sources, targets = [sources[i] for i in unseen], [targets[i] for i in unseen]
    src = make_batch(sources, targets)[0]
    greedy_out = model.greedy_decode(src)
    beam_out, beam_scores = model.beam_search(src, beam_size=3, return_scores=True)
    greedy = np.mean([out == t for out, t in zip(greedy_out, targets)])
    beam = np.mean([out == t for out, t in zip(beam_out, targets)])
    assert greedy >= 0.99 and beam >= 0.99, (loss.item(), greedy, beam)
    for s, g, score in zip(sources, greedy_out, beam_scores):
        assert _score(model, s, g, cfg["max_len"], 1.0) <= score + 1e-5


# ---- torch as the oracle ----------------------------------------------------------------------
def _torch_name(name):
    """Our parameter name -> (torch's name, slice of its rows): torch.nn.Transformer's layers
    fuse the cross-attention's W_Q and [W_K | W_V] into one in_proj of 3C rows."""
    for ours, theirs in [("encoder_layers.", "transformer.encoder.layers."),
                         ("decoder_layers.", "transformer.decoder.layers."),
                         ("encoder_norm.", "transformer.encoder.norm."),
                         ("decoder_norm.", "transformer.decoder.norm."),
                         ("self_attn.qkv_proj.", "self_attn.in_proj_"),
                         ("ffn.fc1", "linear1"), ("ffn.fc2", "linear2"),
                         ("cross_attn.out_proj", "multihead_attn.out_proj")]:
        name = name.replace(ours, theirs)
    C = SMALL["d_model"]
    for part, rows in [("cross_attn.q_proj.", slice(0, C)),
                       ("cross_attn.kv_proj.", slice(C, None))]:
        if part in name:
            return name.replace(part, "multihead_attn.in_proj_"), rows
    return name, slice(None)


def _torch_seq2seq(torch, model):
    """torch.nn.Transformer (batch_first, no final norms when post-LN) between the same
    embeddings ×√C + sinusoidal table and output layer, holding our weights."""
    cfg, nn = model.config, torch.nn
    C = cfg.d_model
    layer_args = dict(d_model=C, nhead=cfg.n_head, dim_feedforward=cfg.d_ff, dropout=0.0,
                      activation=cfg.activation, batch_first=True, norm_first=cfg.norm_first)
    final_norm = nn.LayerNorm(C) if cfg.norm_first else None

    class TorchSeq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed = nn.Embedding(cfg.src_vocab_size, C)
            self.tgt_embed = nn.Embedding(cfg.tgt_vocab_size, C)
            self.transformer = nn.Transformer(
                d_model=C, nhead=cfg.n_head, batch_first=True,
                custom_encoder=nn.TransformerEncoder(
                    nn.TransformerEncoderLayer(**layer_args), cfg.num_encoder_layers,
                    norm=final_norm, enable_nested_tensor=False),
                custom_decoder=nn.TransformerDecoder(
                    nn.TransformerDecoderLayer(**layer_args), cfg.num_decoder_layers,
                    norm=None if final_norm is None else nn.LayerNorm(C)))
            self.lm_head = nn.Linear(C, cfg.tgt_vocab_size, bias=False)
            if cfg.share_embeddings:
                self.tgt_embed.weight = self.lm_head.weight = self.src_embed.weight
            self.register_buffer("pe", torch.from_numpy(model.pos_encoding.pe.numpy()))

        def forward(self, src, tgt_in, targets):
            pad = src == cfg.pad_id
            T = tgt_in.shape[1]
            x = self.src_embed(src) * math.sqrt(C) + self.pe[:src.shape[1]]
            y = self.tgt_embed(tgt_in) * math.sqrt(C) + self.pe[:T]
            h = self.transformer(x, y, tgt_mask=torch.ones(T, T, dtype=torch.bool).triu(1),
                                 src_key_padding_mask=pad, memory_key_padding_mask=pad)
            logits = self.lm_head(h)
            return logits, nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                       targets.reshape(-1),
                                                       ignore_index=cfg.pad_id)

    theirs = TorchSeq2Seq()
    params = dict(theirs.named_parameters())
    with torch.no_grad():
        for name, p in model.named_parameters():
            key, rows = _torch_name(name)
            params[key][rows] = torch.from_numpy(p.numpy().astype(np.float64))
    return theirs


@pytest.mark.torch
@pytest.mark.parametrize("shared", [True, False], ids=["shared", "separate"])
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
def test_matches_torch_transformer(rng, norm_first, shared):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    model = _model(norm_first=norm_first, share_embeddings=shared, activation="gelu",
                   tgt_vocab_size=11 if shared else 13).double().train()
    theirs = _torch_seq2seq(torch, model).double().train()   # dropout 0: train() = eval()
    mapped = {_torch_name(name)[0] for name, _ in model.named_parameters()}
    assert mapped == {name for name, _ in theirs.named_parameters()}    # every one, tied ones once
    src, tgt_in, tgt_out = make_batch(_words(rng, 3), _words(rng, 3))
    logits, loss = model(src, tgt_in, tgt_out)
    t_logits, t_loss = theirs(*(torch.from_numpy(a) for a in (src, tgt_in, tgt_out)))
    np.testing.assert_allclose(logits.numpy(), t_logits.detach().numpy(), atol=1e-10)
    assert loss.item() == pytest.approx(t_loss.item(), abs=1e-12)
    loss.backward()
    t_loss.backward()
    t_params = dict(theirs.named_parameters())
    for name, p in model.named_parameters():
        key, rows = _torch_name(name)
        np.testing.assert_allclose(p.grad, t_params[key].grad.numpy()[rows], atol=1e-10,
                                   err_msg=name)
