# %% [markdown]
# # Lesson 08 — Positional encodings, or how attention gets a sense of order
#
# **Promise.** After this lesson you can show that attention alone cannot tell "我是" from
# "是我", build the sinusoidal positional encoding from its formula, prove on numbers that a
# shift by k positions is one fixed rotation, and say when a learned position table is the
# better choice. FORMULAS ids: **C4** (positional encoding) and **D4** (the worked example's
# position code).
#
# ## What the article says (§3.2.1, §4.2.3, §4.3.1)
#
# > - **位置编码（Positional Encoding）**：为序列中的每个位置提供位置信息，使模型能够理解单词在序列中的顺序。
#
# In English: positional encoding gives every position of the sequence position information,
# so that the model can understand the order of the words.
#
# > 位置编码用于为序列中的每个位置提供位置信息。设 $P$ 为位置编码矩阵，$P \in \mathbb{R}^{n \times h}$，则输入序列的位置编码表示为：
# >
# > $$P = \{p_1, p_2, ..., p_n\}$$
#
# In English: positional encoding provides position information for each position. Let $P$
# be the positional encoding matrix, $P \in \mathbb{R}^{n\times h}$; the positional encoding of
# the input sequence is $P = \{p_1, \dots, p_n\}$.
#
# > 3. **位置编码**：为序列中的每个位置提供位置信息。例如，第一个单词的位置编码为 $[0.1, 0.2, 0.3]$。
#
# In English: for example, the position code of the first word is $[0.1, 0.2, 0.3]$.
#
# The purpose is stated well. But the article never says how $p_i$ is computed, and its width
# $h$ is not the embeddings' width $d$. We fix both.

# %%
import math
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer import (LearnedPositionalEmbedding, MultiHeadAttention,
                         SinusoidalPositionalEncoding, TokenEmbedding, sinusoidal_table)

mg.set_num_threads(1)       # tiny matrices: one thread is faster than sharing the work
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "08_positional_encoding")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The article's P does not fit E
#
# The position code is *added* to the embeddings, $X = E + P$, element by element — one
# vector per token, of the same width. The article's $E$ is $(n, d)$ (lesson 06) and its $P$ is
# $(n, h)$: the sum exists only when $h = d$. With $n = 3$, $d = 4$, $h = 2$:

# %%
mg.manual_seed(0)
n, d, h = 3, 4, 2
E = mg.randn(n, d)                                   # (n, d) token embeddings
P = mg.randn(n, h)                                   # (n, h) the article's position codes
try:
    E + P
    raise RuntimeError("E + P should fail when h != d")
except mg.ShapeError as error:
    print("E", E.shape, "+ P", P.shape, "->", type(error).__name__ + ":", error)
P = mg.randn(n, d)                                   # h = d: the only width that works
print("with h = d:", (E + P).shape)
assert (E + P).shape == (n, d)

# %% [markdown]
# ## 2. Why attention needs positions at all
#
# Attention compares every token with every other by dot products and mixes them by weights
# that sum to 1. Nothing in it looks at *where* a token is. Shuffle the tokens, and the
# outputs are shuffled the same way — nothing else changes. This is *permutation
# equivariance*: $\operatorname{Attn}(\Pi X) = \Pi \operatorname{Attn}(X)$ for any permutation
# matrix $\Pi$.

# %%
C = 16
mg.manual_seed(1)
attention = MultiHeadAttention(C, n_head=2)
X = mg.randn(1, 5, C)                                  # (B, T, C), no positions
perm = np.array([3, 0, 4, 1, 2])
out = attention(X).numpy()
out_shuffled = attention(X[:, perm]).numpy()
gap = np.abs(out_shuffled - out[:, perm]).max()
print(f"Attn(shuffled X) vs shuffled Attn(X): max difference {gap:.1e}")
assert gap < 1e-5

# %% [markdown]
# So without positions "我是一个程序员" and any reordering of its characters give the same
# set of vectors: a bag of characters, not a sentence. Adding a vector that depends on the
# position breaks the symmetry.
#
# ## 3. The sinusoidal encoding
#
# The original Transformer (Vaswani et al., "Attention Is All You Need", 2017) uses a fixed
# table: for position $pos$ and pair index $i = 0, \dots, d/2 - 1$,
#
# $$PE(pos, 2i) = \sin\!\big(pos / 10000^{2i/d}\big), \qquad
# PE(pos, 2i+1) = \cos\!\big(pos / 10000^{2i/d}\big), \qquad PE \in \mathbb{R}^{T \times d}.$$
#
# Each pair of columns is a clock hand turning at its own angular speed
# $\omega_i = 10000^{-2i/d}$: the first pair once every $2\pi \approx 6.3$ positions, the last
# almost not at all. Together they give every position a distinct code of width $d$ — exactly
# the embeddings' width, so $E + PE$ is defined. It is a fixed table (nothing to learn, no
# gradient), so plain NumPy builds it; compare with the library's `sinusoidal_table`:

# %%
T, d = 64, 32
pos = np.arange(T)[:, None]                                           # (T, 1)
omega = 10000.0 ** (-np.arange(0, d, 2) / d)                          # (d/2,) one speed per pair
angle = pos * omega                                                   # (T, d/2)
pe_hand = np.stack([np.sin(angle), np.cos(angle)], axis=-1).reshape(T, d)   # (T, d/2, 2) -> (T, d)
pe = sinusoidal_table(T, d)                                           # (T, d) float64
print("PE table:", pe.shape, " by hand vs sinusoidal_table: max difference",
      float(np.abs(pe_hand - pe).max()))
assert np.allclose(pe_hand, pe, atol=1e-12)
wavelengths = 2 * np.pi / omega
print(f"wavelengths: pair 0 {wavelengths[0]:.2f} positions, last pair {wavelengths[-1]:.0f}")
assert math.isclose(wavelengths[0], 2 * np.pi)
assert math.isclose(wavelengths[-1], 2 * np.pi * 10000 ** ((d - 2) / d))
distinct = len({tuple(np.round(row, 6)) for row in pe})
print(f"{distinct} distinct codes for {T} positions")
assert distinct == T

# %% [markdown]
# ## 4. Where the article goes wrong: the first token's position code (D4)
#
# The article gives $[0.1, 0.2, 0.3]$ as the first token's position code, with no rule that
# produces it — and it is the very vector it gave as the *embedding* of "我". The sinusoidal
# encoding at position 0 is $\sin 0 = 0$ and $\cos 0 = 1$ in every pair: $[0, 1, 0, 1, \dots]$.
# At the article's width $d = 3$:

# %%
article_p0 = np.array([0.1, 0.2, 0.3])                 # the article's position code, word 1
article_wo = np.array([0.1, 0.2, 0.3])                 # the article's embedding of "我" (D2)
pe0 = sinusoidal_table(1, 3)[0]
print("article's p_1:", article_p0.tolist(), "  sinusoidal PE(0) at d = 3:", pe0.tolist())
print("sinusoidal PE(0) at d = 8:", sinusoidal_table(1, 8)[0].tolist())
assert np.array_equal(pe0, [0.0, 1.0, 0.0])
assert np.array_equal(sinusoidal_table(1, 8)[0], np.tile([0.0, 1.0], 4))
assert not np.allclose(article_p0, pe0) and np.array_equal(article_p0, article_wo)
x0 = article_wo + pe0
print("so the first token's input is e(我) + PE(0) =", np.round(x0, 6).tolist())
assert np.allclose(x0, [0.1, 1.2, 0.3])

# %% [markdown]
# A learned position table (section 7) could hold any numbers, $[0.1, 0.2, 0.3]$ included —
# but then they are learned, not given, and the article names no such table. With the
# sinusoidal encoding the first token's input is $[0.1, 1.2, 0.3]$.
#
# ## 5. Adding positions to the embeddings
#
# `SinusoidalPositionalEncoding(C, max_len)` holds the table as a buffer (not a parameter:
# nothing to train) and adds its first T rows: $X = E + PE_{0:T}$, shapes (B, T, C) + (T, C).
# Now the shuffle test of section 2 fails — as it should: order matters.

# %%
positions = SinusoidalPositionalEncoding(C, max_len=T)
embed = TokenEmbedding(vocab_size=20, d_model=C)
ids = mg.tensor([[4, 7, 1, 9, 2]])                                    # (B, T) = (1, 5)
X = positions(embed(ids))                                              # (1, 5, C)
assert np.allclose(X.numpy(), embed(ids).numpy() + sinusoidal_table(5, C), atol=1e-6)
X_shuffled = positions(embed(ids[:, perm]))
out, out_shuffled = attention(X).numpy(), attention(X_shuffled).numpy()
gap = np.abs(out_shuffled - out[:, perm]).max()
print(f"with positions: Attn(shuffled) vs shuffled Attn: max difference {gap:.3f}")
print("buffer, not parameter: parameters of SinusoidalPositionalEncoding =", positions.num_parameters())
assert gap > 0.01 and positions.num_parameters() == 0

# %% [markdown]
# ## 6. Relative positions: a shift is a rotation
#
# Why sines and cosines? Because of the angle-sum formulas
# $\sin(a+b) = \sin a \cos b + \cos a \sin b$ and $\cos(a+b) = \cos a \cos b - \sin a \sin b$.
# Moving from $pos$ to $pos + k$ turns each pair $(\sin pos\,\omega_i, \cos pos\,\omega_i)$ by
# the angle $k\omega_i$:
#
# $$\begin{pmatrix} PE(pos+k, 2i) \\ PE(pos+k, 2i+1) \end{pmatrix}
# = \begin{pmatrix} \cos k\omega_i & \sin k\omega_i \\ -\sin k\omega_i & \cos k\omega_i \end{pmatrix}
# \begin{pmatrix} PE(pos, 2i) \\ PE(pos, 2i+1) \end{pmatrix}.$$
#
# Stack these 2×2 blocks on the diagonal into $M_k \in \mathbb{R}^{d \times d}$: then
# $PE(pos + k) = M_k\, PE(pos)$ for **every** $pos$, with the same $M_k$. A layer can learn
# "look 3 tokens back" once, as one linear map, and it works at every position.

# %%
def shift_matrix(k, d):
    """M_k (d, d): the block-diagonal rotation with PE(pos + k) = M_k PE(pos)."""
    M = np.zeros((d, d))
    for i, w in enumerate(10000.0 ** (-np.arange(0, d, 2) / d)):
        c, s = np.cos(k * w), np.sin(k * w)
        M[2 * i:2 * i + 2, 2 * i:2 * i + 2] = [[c, s], [-s, c]]
    return M

for k in (1, 3, 10):
    M_k = shift_matrix(k, d)
    err = np.abs(pe[:T - k] @ M_k.T - pe[k:]).max()                  # rows: M_k PE(pos) vs PE(pos+k)
    print(f"k = {k:2d}: max |M_k PE(pos) - PE(pos + k)| over all {T - k} positions = {err:.1e}")
    assert err < 1e-12
M3, M7 = shift_matrix(3, d), shift_matrix(7, d)
assert np.allclose(M3 @ M3.T, np.eye(d))                    # a rotation: lengths are kept
assert np.allclose(M7 @ M3, shift_matrix(10, d))            # shifting by 3, then 7, is 10
print("M_k is orthogonal, and M_7 M_3 = M_10")

# %% [markdown]
# A consequence: the dot product of two codes depends only on their distance,
# $PE(pos) \cdot PE(pos+k) = \sum_i \cos(k\,\omega_i)$, whatever $pos$ is.

# %%
offsets = np.arange(0, 32)
dots = np.array([[pe[p] @ pe[p + k] for p in range(T - 32)] for k in offsets])   # (32, T - 32)
spread = float(dots.std(axis=1).max())
print("PE(pos)·PE(pos+k) for k = 0, 1, 2, 4, 8:", np.round(dots[[0, 1, 2, 4, 8], 0], 3).tolist(),
      f"— spread over pos: {spread:.1e}")
assert spread < 1e-9
assert np.allclose(dots[:, 0], [np.cos(k * omega).sum() for k in offsets])

# %% [markdown]
# ## 7. Learned position embeddings
#
# GPT and BERT do not use the formula: they learn a table $W_{pos} \in \mathbb{R}^{T_{max}
# \times C}$ like a second embedding (`LearnedPositionalEmbedding`). Compare the two on a task
# that cannot be solved without positions: **reverse a sequence** of 8 random digits. The model
# is the smallest possible: embedding (+ positions) → one attention layer → a linear read-out.
# Train three versions, 150 steps each: no positions, sinusoidal, learned.

# %%
V, T_task, C_task = 10, 8, 32

class Reverser(mg.nn.Module):
    """tokens (B, T) -> logits (B, T, V) for the reversed sequence; one attention layer."""

    def __init__(self, positions):
        super().__init__()
        self.embed = TokenEmbedding(V, C_task)
        self.positions = positions                   # a positional module, or None
        self.attention = MultiHeadAttention(C_task, n_head=2)
        self.read_out = mg.nn.Linear(C_task, V)

    def forward(self, idx):
        x = self.embed(idx)                                           # (B, T, C)
        if self.positions is not None:
            x = self.positions(x)                                     # (B, T, C)
        return self.read_out(x + self.attention(x))                   # (B, T, V)


def train_reverser(kind, steps=150):
    mg.manual_seed(0)
    positions = {"none": None,
                 "sinusoidal": SinusoidalPositionalEncoding(C_task, max_len=T_task),
                 "learned": LearnedPositionalEmbedding(T_task, C_task)}[kind]
    model = Reverser(positions)
    optimizer = mg.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        idx = rng.integers(0, V, size=(64, T_task))
        target = idx[:, ::-1].copy()                                  # the reversed sequence
        logits = model(mg.tensor(idx))
        loss = F.cross_entropy(logits.reshape(-1, V), mg.tensor(target.reshape(-1)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    idx = rng.integers(0, V, size=(500, T_task))                      # fresh test sequences
    with mg.no_grad():
        accuracy = float((model(mg.tensor(idx)).numpy().argmax(-1) == idx[:, ::-1]).mean())
    return model, losses, accuracy


runs = {}
for kind in ("none", "sinusoidal", "learned"):
    runs[kind] = train_reverser(kind)
    model, losses, accuracy = runs[kind]
    print(f"{kind:10s}: parameters {model.num_parameters():5d}, final loss "
          f"{np.mean(losses[-10:]):.3f}, test accuracy {accuracy:.3f}")
assert runs["none"][2] < 0.5                           # a bag of tokens cannot be reversed
assert all(np.mean(runs[k][1][-10:]) < np.mean(runs[k][1][:10]) / 5 for k in ("sinusoidal", "learned"))
assert np.mean(runs["learned"][1][-10:]) < np.mean(runs["sinusoidal"][1][-10:])
assert runs["sinusoidal"][2] > 0.9 and runs["learned"][2] > 0.9
assert runs["learned"][0].num_parameters() - runs["sinusoidal"][0].num_parameters() == T_task * C_task

# %% [markdown]
# Without positions the model is stuck well below perfect (it can only guess from the bag of
# digits); with either kind of position it learns the task. Here the learned table gets there
# faster: it can shape its 8 × 32 numbers to whatever the attention needs, while the fixed
# sinusoidal codes must be decoded by $W_Q$ and $W_K$. What each kind costs and buys:
#
# - **Learned**: $T_{max} \times C$ more parameters; any pattern the data asks for; but no
#   vector at all for a position it was not built for:

# %%
long_input = mg.tensor(np.zeros((1, T_task + 1), dtype=np.int64))    # one position too many
try:
    runs["learned"][0](long_input)
    raise RuntimeError("the learned table should have no row for position 8")
except mg.ShapeError as error:
    print("learned table, 9 positions ->", type(error).__name__ + ":", str(error)[:90], "...")

# %% [markdown]
# - **Sinusoidal**: no parameters; a value for every position (the formula has no end), and
#   the relative-position property above. A value is not the same as skill: a model trained
#   on length 8 still has to *learn* what to do at position 100. Later designs encode relative
#   positions directly inside attention (e.g. rotary embeddings, RoPE, which rotate each
#   query and key by the block rotation of its position — the $M_k$ of section 6 — so that
#   their dot products depend only on the distance).
#
# ## 8. See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 2, figsize=(13, 9), layout="constrained")
for column in (0, 1, 6, 7, 14):
    axes[0, 0].plot(pe[:, column], label=f"column {column} ({'sin' if column % 2 == 0 else 'cos'}, "
                                         f"i = {column // 2})")
axes[0, 0].set(xlabel="position", ylabel="PE value", title="sinusoidal PE: a few columns (d = 32)")
axes[0, 0].legend(fontsize=8)
image = axes[0, 1].imshow(pe, cmap="RdBu", aspect="auto", vmin=-1, vmax=1)
axes[0, 1].set(xlabel="column (2i: sin, 2i+1: cos)", ylabel="position", title="the PE table (64 × 32)")
fig.colorbar(image, ax=axes[0, 1])
axes[1, 0].plot(offsets, dots[:, 0], "o-")
axes[1, 0].set(xlabel="distance k", ylabel="PE(pos)·PE(pos+k)",
               title="the dot product depends on the distance only")
for kind, (model, losses, accuracy) in runs.items():
    axes[1, 1].plot(losses, label=f"{kind} (test accuracy {accuracy:.2f})")
axes[1, 1].set(xlabel="step", ylabel="cross-entropy", title="reversing 8 digits", yscale="log")
axes[1, 1].legend()
fig.savefig(os.path.join(OUT, "positional_encoding.png"), dpi=80)
print("plot saved to", os.path.join(OUT, "positional_encoding.png"))

# %% [markdown]
# ## Try it
#
# 1. In section 3, build the table by hand with the base 100 instead of 10000, for 2000
#    positions: how close do two codes of distant positions come? (Hint: the slowest clock
#    sets the range.)
# 2. In `train_reverser`, make the task "copy" (`target = idx`): does the model without
#    positions still fail? Why not?
# 3. Replace the sum $E + P$ by a concatenation $[E, P]$ (width $2C$): what changes in the
#    model's shapes, and what does the article's $h \ne d$ become then?
#
# Exercise: `python -m lessons check ex05` — compute the sinusoidal table yourself.
#
# ## What's next
#
# Lesson 09: after attention, each position goes through the same small feed-forward network,
# and the article's "0.55" meets its corrected 0.52.
#
# Next: [Lesson 09 — The feed-forward layer: ReLU, GELU, and one network per position](09_feed_forward.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
