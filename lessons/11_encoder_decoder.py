# %% [markdown]
# # Lesson 11 — Encoder and decoder: what passes between them
#
# **Promise.** You will see what a Transformer encoder really hands to its decoder (one vector
# per input position, not one fixed-length vector), build the encoder from its parts, catch a
# decoder cheating when its causal mask is removed, and watch the cross-attention — the
# decoder's window onto the input — at work on a trained model. FORMULAS ids: **B1, B2, B3**.
#
# ## What the article says (§3.1, §3.2.1, §3.2.2)
#
# > Seq2Seq模型由编码器（Encoder）和解码器（Decoder）组成，通过编码器将输入序列编码为一个固定长度的向量，然后解码器将这个向量解码为输出序列。
#
# > 编码器的任务是将输入序列编码为一个固定长度的向量。对于自然语言处理任务，常用的编码器包括：嵌入层（Embedding Layer）……多头自注意力（Multi-Head Self-Attention）……位置编码（Positional Encoding）……
#
# > 解码器的任务是将编码器的输出向量解码为输出序列。与编码器类似，解码器也由多层自注意力机制和位置编码组成。
#
# In English: a Seq2Seq model consists of an encoder and a decoder; the encoder encodes the
# input sequence into **a fixed-length vector**, and the decoder decodes this vector into the
# output sequence. The encoder's job is to encode the input into a fixed-length vector; it is
# usually made of an embedding layer, multi-head self-attention and positional encoding. The
# decoder's job is to decode the encoder's output vector into the output sequence; like the
# encoder, it consists of layers of self-attention and positional encoding.
#
# Two things are missing from that description of the decoder — a **causal mask** and
# **cross-attention** — and the "fixed-length vector" belongs to an older model. This lesson
# shows all three.

# %%
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from transformer import DecoderLayer
from transformer.seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "11_encoder_decoder")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
mg.set_num_threads(1)       # tiny matrices: one thread is faster than sharing the work
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. B1 — "a fixed-length vector" is the RNN encoder, not the Transformer's
#
# The Seq2Seq models of 2014 (Sutskever et al., Cho et al.) read the input with a recurrent
# network, $h_t = \tanh(x_t W_x + h_{t-1} W_h + b)$, and handed the decoder only the last
# state $h_T \in \mathbb{R}^{C}$: a whole sentence squeezed into $C$ numbers, however long.
# A Transformer encoder returns a **memory** $M \in \mathbb{R}^{T_s \times C}$ — one vector
# per input position — and the decoder chooses, at each output step, which of them to read.
# (Bahdanau et al. soon let the RNN decoder attend to all the encoder's states; the
# Transformer keeps that idea and drops the recurrence.) We run both on inputs of three
# lengths. Token ids: 0 = pad, 1 = bos, 2 = eos, 3..10 symbols.

# %%
config = Seq2SeqConfig(src_vocab_size=11, tgt_vocab_size=11, d_model=32, n_head=2,
                       num_encoder_layers=2, num_decoder_layers=1, d_ff=64, dropout=0.0,
                       max_len=16, norm_first=True)
C = config.d_model
mg.manual_seed(0)
model = Seq2SeqTransformer(config)
rnn_x, rnn_h = nn.Linear(C, C), nn.Linear(C, C, bias=False)     # W_x (with b), W_h


def rnn_last_state(src):
    """h_t = tanh(x_t W_x + h_{t-1} W_h + b) over the embedded source; returns h_T (B, C)."""
    x = model.src_embed(mg.tensor(src))                           # (B, T, C)
    h = mg.zeros(x.shape[0], C)
    for t in range(x.shape[1]):
        h = (rnn_x(x[:, t]) + rnn_h(h)).tanh()                    # (B, C)
    return h


rng = np.random.default_rng(0)
for length in (3, 7, 12):
    src = rng.integers(3, 11, (1, length))                        # (B, Ts) = (1, length)
    with mg.no_grad():
        memory = model.encode(src)
        h_last = rnn_last_state(src)
    print(f"input of {length:2d} tokens: Transformer memory {memory.shape},  "
          f"RNN state {h_last.shape}")
    assert memory.shape == (1, length, C) and h_last.shape == (1, C)

# %% [markdown]
# ## 2. B2 — the encoder, piece by piece
#
# $$X_0 = \operatorname{Embed}(x)\sqrt{C} + P, \qquad
#   X_{\ell} = \operatorname{EncoderLayer}_\ell(X_{\ell-1}), \qquad M = \operatorname{LN}(X_N)$$
#
# with shapes $(B, T_s, C)$ throughout: the embedding table (lesson 05), the sinusoidal
# positions (lesson 08), then $N$ layers of multi-head self-attention (lessons 06–07) and a
# feed-forward (lesson 09), each in a residual connection with a LayerNorm. We recompute
# `model.encode` from the parts. The encoder's self-attention has **no** causal mask: every
# position sees the whole input, so changing the last token changes the first position's
# vector too.

# %%
src = mg.tensor([[5, 3, 9, 4, 7]])                                  # (B, Ts) = (1, 5)
with mg.no_grad():
    x = model.src_embed(src)                                        # (1, 5, C), ×√C inside
    print("embedding:", x.shape)
    x = model.pos_encoding(x)                                       # + P[0:5]
    print("+ positions:", x.shape)
    for i, layer in enumerate(model.encoder_layers):
        x = layer(x)                                                # self-attention + FFN
        print(f"after encoder layer {i}:", x.shape)
    by_hand = model.encoder_norm(x)
    memory = model.encode(src)
    changed_last = model.encode(mg.tensor([[5, 3, 9, 4, 8]]))
np.testing.assert_allclose(by_hand.numpy(), memory.numpy(), rtol=1e-5, atol=1e-6)
first_moved = np.abs(changed_last.numpy()[0, 0] - memory.numpy()[0, 0]).max()
print(f"change the last input token: position 0's vector moves by up to {first_moved:.3f}")
assert first_moved > 1e-3

# %% [markdown]
# ## 3. B3 — the decoder's causal self-attention
#
# The decoder is trained with **teacher forcing**: for a target $y_1..y_n$ it reads
# $[\text{bos}, y_1, .., y_n]$ and must predict $[y_1, .., y_n, \text{eos}]$ at all positions at
# once. Position $t$'s answer, $y_{t+1}$, is the decoder's own input at position $t+1$. Without
# a mask, self-attention lets position $t$ read position $t+1$: it can copy the answer instead
# of predicting it. The **causal mask** sets the attention scores of later positions to
# $-\infty$ before the softmax, $A_{ts} = 0$ for $s > t$.
#
# The test is a gradient: with the mask, $\partial\, \text{out}_t / \partial\, x_s = 0$ for every
# $s > t$; without it, it is not.

# %%
mg.manual_seed(1)
layer = DecoderLayer(8, 2, 16, norm_first=True).double()
x = mg.randn(1, 5, 8, dtype=mg.float64, requires_grad=True)       # (B, Tt, C)
memory_small = mg.randn(1, 3, 8, dtype=mg.float64)                 # (B, Ts, C)


def influence(causal):
    """|d out_t / d x_s| summed over channels: (Tt, Tt), row t = output, column s = input."""
    rows = []
    for t in range(x.shape[1]):
        x.grad = None
        layer(x, memory_small, causal=causal)[0, t].sum().backward()
        rows.append(np.abs(x.grad[0]).sum(axis=-1))                  # (Tt,)
    return np.array(rows)


with_mask, without_mask = influence(causal=True), influence(causal=False)
future = np.triu(np.ones((5, 5), dtype=bool), k=1)                # s > t
print("largest influence of a later input on an earlier output:")
print(f"  causal: {with_mask[future].max():.1e}   no mask: {without_mask[future].max():.3f}")
assert with_mask[future].max() == 0.0 and without_mask[future].min() > 1e-3

# %% [markdown]
# What does cheating look like in training? We train two copies of the same model to
# **reverse** sequences (source 4 7 5 → target 5 7 4): one honest, one whose decoder
# layer ignores the causal mask (a `DecoderLayer` subclass that always passes `causal=False`).
# The cheater's training loss falls fast — it reads each answer from its own input. At
# generation there is no future to read (the decoder produces one token at a time), and it
# fails.

# %%
class PeekingDecoderLayer(DecoderLayer):
    """A DecoderLayer whose self-attention sees every position: the bug we demonstrate."""

    def forward(self, x, memory=None, causal=True, **kwargs):
        return super().forward(x, memory, causal=False, **kwargs)


def reverse_task(rng, n):
    sources = [list(rng.integers(3, 11, rng.integers(4, 7))) for _ in range(n)]
    return sources, [s[::-1] for s in sources]


def train(model, steps=200, seed=0):
    rng = np.random.default_rng(seed)
    optimizer = mg.optim.Adam(model.parameters(), lr=2e-2)
    schedule = mg.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1, (step + 1) / 20) * (1 - step / steps))
    losses = []
    for _ in range(steps):
        src, decoder_in, decoder_out = make_batch(*reverse_task(rng, 64))
        _, loss = model(src, decoder_in, decoder_out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


def sequence_accuracy(model, sources, targets):
    outputs = model.greedy_decode(make_batch(sources, targets)[0], max_len=8)
    return np.mean([out == list(t) for out, t in zip(outputs, targets)])


mg.manual_seed(0)
honest = Seq2SeqTransformer(config)
mg.manual_seed(0)
cheater = Seq2SeqTransformer(config)
peeking = PeekingDecoderLayer(C, config.n_head, config.d_ff, norm_first=True)
peeking.load_state_dict(cheater.decoder_layers[0].state_dict())   # the same initial weights
cheater.decoder_layers[0] = peeking

honest_losses, cheater_losses = train(honest), train(cheater)
test_sources, test_targets = reverse_task(np.random.default_rng(1), 200)
honest_acc = sequence_accuracy(honest, test_sources, test_targets)
cheater_acc = sequence_accuracy(cheater, test_sources, test_targets)
print(f"training loss after {len(honest_losses)} steps: honest "
      f"{np.mean(honest_losses[-10:]):.3f}, cheater {np.mean(cheater_losses[-10:]):.3f}")
print(f"greedy decoding, {len(test_sources)} fresh random sequences reversed exactly: honest "
      f"{honest_acc:.1%}, cheater {cheater_acc:.1%}")
assert np.mean(cheater_losses[-10:]) < np.mean(honest_losses[-10:])
assert honest_acc > 0.9 and cheater_acc < 0.2

# %% [markdown]
# ## 4. B3 — cross-attention: the decoder reads the memory
#
# The second attention of every decoder layer takes its queries from the decoder and its keys
# and values from the encoder's memory. For one head of width $D$:
#
# $$Q = Y W_Q \;(T_t, D),\quad K = M W_K,\; V = M W_V \;(T_s, D),\quad
#   A = \operatorname{softmax}\!\Big(\frac{Q K^\top}{\sqrt{D}}\Big) \;(T_t, T_s),\quad O = A V.$$
#
# Row $t$ of $A$ says which input positions output step $t$ reads. The layer does not return
# $A$, so we recompute it from the honest model's own weights (pre-LN: the queries come from
# `norm2` of the state after self-attention), and check that $A V$, heads merged and
# projected by $W_O$, is exactly what the layer's `cross_attn` computes.

# %%
def cross_attention_weights(model, src, tgt_in):
    """A (H, Tt, Ts) of the single decoder layer, and whether A V reproduces the layer."""
    layer = model.decoder_layers[0]
    attn = layer.cross_attn
    H, D = attn.n_head, C // attn.n_head
    memory = model.encode(src)                                          # (1, Ts, C)
    y = model.pos_encoding(model.tgt_embed(tgt_in))                     # (1, Tt, C)
    y = y + layer.self_attn(layer.norm1(y), causal=True)                # after self-attention
    queries_in = layer.norm2(y)                                         # (1, Tt, C)
    q = attn.q_proj(queries_in).reshape(1, -1, H, D).transpose(1, 2)    # (1, H, Tt, D)
    k, v = attn.kv_proj(memory).split(C, dim=2)                         # 2 × (1, Ts, C)
    k = k.reshape(1, -1, H, D).transpose(1, 2)                          # (1, H, Ts, D)
    v = v.reshape(1, -1, H, D).transpose(1, 2)                          # (1, H, Ts, D)
    A = F.softmax(q @ k.transpose(2, 3) / np.sqrt(D), dim=-1)           # (1, H, Tt, Ts)
    merged = (A @ v).transpose(1, 2).reshape(1, -1, C)                  # (1, Tt, C)
    same = np.allclose(attn.out_proj(merged).numpy(), attn(queries_in, memory).numpy(),
                       atol=1e-5)
    return A.numpy()[0], same


example = [4, 9, 6, 3, 8, 10]
src, tgt_in, _ = make_batch([example], [example[::-1]])
with mg.no_grad():
    A, same = cross_attention_weights(honest, mg.tensor(src), mg.tensor(tgt_in))
    predicted = honest.greedy_decode(src, max_len=8)[0]
mean_A = A.mean(axis=0)                                                 # (Tt, Ts), heads averaged
n = len(example)
mirror = [n - 1 - t for t in range(n)]       # output step t should read input position n-1-t
hits = np.mean(mean_A[:n].argmax(axis=1) == mirror)
print("source", example, "-> decoded", predicted)
print("cross-attention A:", A.shape, "(H, Tt, Ts); recomputed A V matches the layer:", same)
print(f"steps whose most-read input is the mirrored position: {hits:.0%}")
assert same and predicted == example[::-1]
np.testing.assert_allclose(A.sum(axis=-1), 1.0, rtol=1e-5)
assert hits >= 0.8

# %% [markdown]
# The heads together read the input backwards: step 0 reads the last input position, step 1
# the one before, and so on — an anti-diagonal. That is what no fixed-length vector allows:
# at each step the decoder looks up what it needs in the memory.
#
# ## See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import LogNorm

fig, axes = plt.subplots(1, 4, figsize=(16, 4))
for ax, grid, title in ((axes[0], with_mask, "causal: |d out_t / d x_s| (white = 0)"),
                        (axes[1], without_mask, "no mask: the future leaks")):
    ax.imshow(grid, cmap="magma", norm=LogNorm(vmin=1e-3, vmax=without_mask.max()))
    ax.set(xlabel="decoder input position s", ylabel="output position t", title=title)
axes[2].plot(honest_losses, label="honest (causal)")
axes[2].plot(cheater_losses, label="cheater (no mask)")
axes[2].set(xlabel="step", ylabel="training loss", yscale="log",
            title=f"reversed exactly: {honest_acc:.0%} vs {cheater_acc:.0%}")
axes[2].legend()
token_labels = ["bos"] + [str(t) for t in example[::-1]]
axes[3].imshow(mean_A, cmap="viridis", vmin=0, vmax=1)
axes[3].set_xticks(range(n), [str(t) for t in example])
axes[3].set_yticks(range(n + 1), token_labels)
axes[3].set(xlabel="source token (memory position)", ylabel="decoder input",
            title="cross-attention, heads averaged")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "encoder_decoder.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "encoder_decoder.png"))

# %% [markdown]
# ## Where the article goes wrong
#
# - **B1**: "encodes the input into a fixed-length vector" is the RNN encoder-decoder. A
#   Transformer encoder outputs one vector per input position, $(T_s, C)$, which grows with
#   the input.
# - **B2**: the three parts are right; they are applied in the order embedding → + positions
#   → self-attention (and a feed-forward, with residual connections and LayerNorm, that the
#   list leaves out).
# - **B3**: "like the encoder, self-attention and positional encoding" leaves out the two
#   things that make a decoder: the causal mask (without it, training teaches the model to
#   copy from the future, as the cheater did) and cross-attention (without it, the decoder
#   never sees the input at all).
#
# ## Try it
#
# 1. Train the honest model for 50 steps instead of 200: where does the cross-attention
#    heatmap go wrong first?
# 2. Set `num_encoder_layers=1`: does the honest model still reverse every sequence in 200
#    steps? (To read the right source position, step $t$ must know how far each position is
#    from the end — the length is only visible through attention.)
# 3. Turn the cheater's mask back on after training
#    (`cheater.decoder_layers[0].__class__ = DecoderLayer`) and decode again: did it learn
#    anything it can use without peeking?
# 4. Exercises: attention with a causal mask, by hand — `python -m lessons check ex06`; the
#    backward of the LayerNorm in every encoder and decoder layer —
#    `python -m lessons check ex04`.
#
# ## What's next
#
# Lesson 12 trains a language model for real: the loss, the optimizer, the batch size, the
# learning-rate schedule — and counts the epochs.
#
# Next: [Lesson 12 — Training a language model: loss, optimizer, batch size, schedule](12_training.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
