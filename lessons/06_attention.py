# %% [markdown]
# # Lesson 06 — Self-attention: the article's formula, why it cannot run, and the one that does
#
# **Promise.** After this lesson you can compute scaled dot-product attention by hand, say what
# every matrix in it means and what shape it has, explain why scores are divided by √d_k — and
# you will have seen, shape by shape, why the article's version of the formula cannot work.
# FORMULAS ids: **C3** (self-attention as written, and the correct form) and **D3** (the
# similarity of "我" and "是" in the worked example).
#
# ## What the article says (§4.2.2 and §4.3.1)
#
# > 设 $E$ 为输入序列的嵌入表示，$H$ 为自注意力机制生成的权重矩阵，$O$ 为全连接层的输出。自注意力机制的计算过程如下：
# >
# > $$H = softmax(\frac{E^T Q}{\sqrt{d}})$$
# >
# > 其中，$Q$ 为注意力查询矩阵，$K$ 为注意力键矩阵，$V$ 为注意力值矩阵。设 $K, V \in \mathbb{R}^{d \times h}$，$Q \in \mathbb{R}^{h \times d}$，则：
# >
# > $$O = H^T O$$
#
# In English: let $E$ be the embedded input sequence, $H$ the weight matrix produced by
# self-attention, and $O$ the output of the fully connected layer. Self-attention computes
# $H = \mathrm{softmax}(E^\mathsf{T} Q / \sqrt d)$, where $Q$ is the query matrix, $K$ the key
# matrix and $V$ the value matrix. With $K, V \in \mathbb{R}^{d\times h}$ and
# $Q \in \mathbb{R}^{h\times d}$, then $O = H^\mathsf{T} O$.
#
# > 2. **自注意力机制**：计算输入序列中每个单词的相似度，生成权重矩阵。例如，对于“我”和“是”，它们的相似度为 $0.1 \times 0.4 + 0.2 \times 0.5 + 0.3 \times 0.6 = 0.35$。
#
# In English: self-attention computes the similarity of every pair of words in the input and
# produces a weight matrix. For example, the similarity of "我" (I) and "是" (am) is
# $0.1 \times 0.4 + 0.2 \times 0.5 + 0.3 \times 0.6 = 0.35$.
#
# The idea — every word looks at every other word, weighs them by similarity, and mixes them —
# is right. The formula as printed is not. We take it apart first, then build the real one.

# %%
import math
import os
import time
from fractions import Fraction

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

mg.set_num_threads(1)       # small matrices: one thread is faster than sharing the work
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "06_attention")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The article's formula, read with shapes
#
# Write the embedded sentence as a matrix with one row per token, as the code of this project
# does: $E \in \mathbb{R}^{n \times d}$ ($n$ tokens, embedding width $d$; in the code this is
# (T, C)). Take the first three characters "我是一", $d = 4$, and $h = 2$ for the article's
# other width. Then $E^\mathsf{T}$ is $(d, n) = (4, 3)$ and $Q$ is $(h, d) = (2, 4)$:
# the product $E^\mathsf{T} Q$ needs the inner sizes to agree, $n = h$.

# %%
mg.manual_seed(0)
n, d, h = 3, 4, 2
E = mg.randn(n, d)                                  # (n, d): one row per token
Q = mg.randn(h, d, requires_grad=True)              # the article's Q ∈ R^{h×d}
K = mg.randn(d, h, requires_grad=True)              # the article's K ∈ R^{d×h}
V = mg.randn(d, h, requires_grad=True)              # the article's V ∈ R^{d×h}
print("E", E.shape, " Eᵀ", E.T.shape, " Q", Q.shape, " K", K.shape, " V", V.shape)
try:
    E.T @ Q
    raise RuntimeError("Eᵀ Q should not type-check when n != h")
except mg.ShapeError as error:
    print("Eᵀ Q with n = 3, h = 2 ->", type(error).__name__ + ":", error)

# %% [markdown]
# **Defect 1: $E^\mathsf{T} Q$ only works when $n = h$** — the number of tokens would have to
# equal a fixed width of the model, so a sentence of any other length cannot be processed.
# And even when $n = h$, the result is $(d, d)$: weights between *embedding dimensions*, not
# the $(n, n)$ weights between *tokens* that the article's own words describe.

# %%
Q_square = mg.randn(n, d, requires_grad=True)      # force h = n = 3
H = F.softmax((E.T @ Q_square) / math.sqrt(d), dim=-1)
print("with h = n = 3: H = softmax(EᵀQ/√d) has shape", H.shape, "— (d, d), not (n, n) =", (n, n))
assert H.shape == (d, d) and H.shape != (n, n)

# %% [markdown]
# Reading $E$ the other way round, one *column* per token ($d \times n$), does not rescue it:
# then $E^\mathsf{T} Q$ is $(n, d)(h, d)$, which needs $h = d$ and gives $(n, d)$ — still not
# the $(n, n)$ weights between tokens.

# %%
E_columns = E.T                                    # (d, n): one column per token
Q_hd = mg.randn(d, d)                              # force h = d = 4
print("E as columns: Eᵀ Q =", E_columns.T.shape, "@", Q_hd.shape, "->", (E_columns.T @ Q_hd).shape)
assert (E_columns.T @ Q_hd).shape == (n, d) != (n, n)

# %% [markdown]
# **Defect 2: $K$ and $V$ are never used.** They are defined, but neither appears in $H$ or in
# $O$. Write the formula as a function of all four matrices and let the autograd engine
# confirm it: after back-propagating through $H$, the gradient with respect to $Q$ exists, and
# with respect to $K$ and $V$ there is none — $H$ does not depend on them.

# %%
def article_H(E, Q, K, V):
    """H = softmax(Eᵀ Q / √d), exactly as printed: K and V have nowhere to go."""
    return F.softmax((E.T @ Q) / math.sqrt(E.shape[1]), dim=-1)

K_square, V_square = mg.randn(d, n, requires_grad=True), mg.randn(d, n, requires_grad=True)
H = article_H(E, Q_square, K_square, V_square)
H.sum().backward()
print("dH/dQ exists:", Q_square.grad is not None, "  dH/dK:", K_square.grad, "  dH/dV:", V_square.grad)
assert Q_square.grad is not None and K_square.grad is None and V_square.grad is None

# %% [markdown]
# **Defect 3: $O = H^\mathsf{T} O$ defines $O$ by itself.** An equation in which the unknown
# appears on both sides does not compute anything; at best it constrains $O$. Here the
# constraint is weak: $O = 0$ satisfies it, and because each row of $H$ sums to 1, $H^\mathsf{T}$
# has the eigenvalue 1, so every multiple $c\,\pi$ of its eigenvector $\pi$ satisfies it too.
# Infinitely many "outputs", and none of them involves the values $V$.

# %%
Ht = H.detach().numpy().T.astype(np.float64)                   # (d, d)
eigenvalues, eigenvectors = np.linalg.eig(Ht)
one = np.argmin(np.abs(eigenvalues - 1))
pi = np.real(eigenvectors[:, one])
print(f"eigenvalue of Hᵀ closest to 1: {np.real(eigenvalues[one]):.6f}")
assert abs(eigenvalues[one] - 1) < 1e-6
for c in (0.0, 1.0, -7.5):
    O = c * pi
    print(f"O = {c:+.1f}·π satisfies O = HᵀO: {np.allclose(Ht @ O, O)}")
    assert np.allclose(Ht @ O, O, atol=1e-6)

# %% [markdown]
# ## 2. The correct form: scaled dot-product attention
#
# Each token's embedding is projected three ways, by learned matrices
# $W_Q, W_K \in \mathbb{R}^{d \times d_k}$ and $W_V \in \mathbb{R}^{d \times d_v}$:
#
# $$Q = E W_Q,\quad K = E W_K,\quad V = E W_V \qquad (n, d_k),\ (n, d_k),\ (n, d_v)$$
#
# A *query* asks "what am I looking for?", a *key* says "what do I contain?", a *value* is
# "what I pass on". The score of token $i$ for token $j$ is the dot product $q_i \cdot k_j$;
# a row-wise softmax turns each row of scores into weights that sum to 1, and the output of
# token $i$ is the weighted mix of all values:
#
# $$A = \operatorname{softmax}\!\Big(\frac{Q K^\mathsf{T}}{\sqrt{d_k}}\Big)\ \ (n, n),
# \qquad O = A V\ \ (n, d_v).$$
#
# Nothing constrains $n$: the same weights serve a sentence of any length. Built by hand with
# minigrad's ops, for the first four characters "我是一个", $d = 8$, $d_k = d_v = 4$:

# %%
mg.manual_seed(1)
tokens = list("我是一个")
n, d, d_k = len(tokens), 8, 4
E = mg.randn(n, d)                                                   # (n, d)
def weight(rows, cols):
    """A trainable (rows, cols) matrix ~ N(0, 1/rows): projections keep entries ~ N(0, 1)."""
    return (mg.randn(rows, cols) / math.sqrt(rows)).requires_grad_()

W_Q, W_K, W_V = weight(d, d_k), weight(d, d_k), weight(d, d_k)      # (d, d_k) each

def attention_by_hand(E):
    Q, K, V = E @ W_Q, E @ W_K, E @ W_V                              # (n, d_k) each
    scores = Q @ K.T / math.sqrt(d_k)                                # (n, n)
    A = F.softmax(scores, dim=-1)                                    # (n, n), rows sum to 1
    return A @ V, A                                                  # (n, d_v), (n, n)

O, A = attention_by_hand(E)
print("Q, K, V:", (E @ W_Q).shape, " A:", A.shape, " O:", O.shape)
print("A =\n", np.round(A.numpy(), 3))
print("row sums of A:", np.round(A.numpy().sum(axis=1), 6))
assert A.shape == (n, n) and O.shape == (n, d_k)
assert np.allclose(A.numpy().sum(axis=1), 1.0, atol=1e-6) and (A.numpy() > 0).all()

# %% [markdown]
# The library has this as one fused op, `F.scaled_dot_product_attention(Q, K, V)` (PyTorch's
# name and signature; with the Numba kernels it never even stores $A$). It must give the same
# output, and the same gradients for the weights.

# %%
O_hand, _ = attention_by_hand(E)
O_hand.sum().backward()
grads_hand = [w.grad.copy() for w in (W_Q, W_K, W_V)]
for w in (W_Q, W_K, W_V):
    w.grad = None
O_lib = F.scaled_dot_product_attention(E @ W_Q, E @ W_K, E @ W_V)    # (n, d_v)
O_lib.sum().backward()
out_diff = np.abs(O_hand.numpy() - O_lib.numpy()).max()
grad_diff = max(np.abs(g - w.grad).max() for g, w in zip(grads_hand, (W_Q, W_K, W_V)))
print(f"hand vs F.scaled_dot_product_attention: output max diff {out_diff:.1e}, "
      f"weight-gradient max diff {grad_diff:.1e}")
assert out_diff < 1e-5 and grad_diff < 1e-4

# %% [markdown]
# And the length is free: the same $W_Q, W_K, W_V$ process the whole 17-character sentence,
# and the defect of section 1 is gone.

# %%
sentence = "我是一个程序员，喜欢编程和解决问题"
E_long = mg.randn(len(sentence), d)                                  # (17, d)
O_long, A_long = attention_by_hand(E_long)
print(f"the whole sentence: n = {len(sentence)}, A {A_long.shape}, O {O_long.shape}")
assert A_long.shape == (17, 17) and O_long.shape == (17, d_k)

# %% [markdown]
# ## 3. Why divide by √d_k? Check it numerically
#
# If the entries of $q$ and $k$ are independent with mean 0 and variance 1, then
# $q \cdot k = \sum_{m=1}^{d_k} q_m k_m$ is a sum of $d_k$ terms of variance 1:
#
# $$\operatorname{Var}(q \cdot k) = d_k, \qquad \operatorname{Var}\!\Big(\frac{q \cdot k}{\sqrt{d_k}}\Big) = 1 .$$
#
# Measure it: 4000 random pairs for each width.

# %%
mg.manual_seed(2)
widths = [4, 16, 64, 256, 1024]
raw_var, scaled_var = [], []
for width in widths:
    q, k = mg.randn(4000, width), mg.randn(4000, width)
    s = (q * k).sum(dim=-1)                                           # (4000,) dot products
    raw_var.append(float(s.numpy().var()))
    scaled_var.append(float((s / math.sqrt(width)).numpy().var()))
    print(f"d_k = {width:5d}: Var(q·k) = {raw_var[-1]:8.1f}   Var(q·k/√d_k) = {scaled_var[-1]:.3f}")
assert all(abs(v / w - 1) < 0.15 for v, w in zip(raw_var, widths))
assert all(abs(v - 1) < 0.15 for v in scaled_var)

# %% [markdown]
# Why it matters: a softmax of large scores *saturates*. With scores of standard deviation
# $\sqrt{256} = 16$, one key takes almost all the weight, and the gradient that reaches the
# scores through the softmax, $A \odot (g - \sum_j g_j A_j)$ for an upstream gradient $g$, all
# but vanishes — the model cannot learn to move its attention. Compare 500 queries over 16 keys at $d_k = 256$, with and without the
# scaling: the average largest weight per row, and the average size of the gradient reaching
# the scores.

# %%
T_keys, width = 16, 256
q, k = mg.randn(500, 1, width), mg.randn(500, T_keys, width)
raw_scores = (q @ k.transpose(-2, -1)).reshape(500, T_keys)        # (500, 16)
upstream = mg.randn(500, T_keys)                                    # some gradient from above
saturation = {}
for label, scale in (("unscaled", 1.0), ("scaled by 1/√d_k", 1 / math.sqrt(width))):
    s = (raw_scores * scale).detach().requires_grad_()
    weights = F.softmax(s, dim=-1)                                  # (500, 16)
    (weights * upstream).sum().backward()
    saturation[label] = (float(weights.numpy().max(axis=1).mean()), float(np.abs(s.grad).mean()))
    print(f"{label:17s}: mean largest weight {saturation[label][0]:.3f}, "
          f"mean |d loss / d score| {saturation[label][1]:.4f}")
(max_raw, grad_raw), (max_scaled, grad_scaled) = saturation.values()
assert max_raw > 0.8 and max_scaled < 0.5          # unscaled rows are nearly one-hot
assert grad_scaled > 3 * grad_raw                   # and pass back far less gradient

# %% [markdown]
# ## 4. Where the article goes wrong in the worked example (D3)
#
# The article's toy embeddings are "我" → [0.1, 0.2, 0.3] and "是" → [0.4, 0.5, 0.6], and it
# states their similarity (dot product) is 0.35. Compute it — in float64, and exactly with
# fractions:

# %%
wo = mg.tensor([0.1, 0.2, 0.3], dtype=mg.float64)                  # "我"
shi = mg.tensor([0.4, 0.5, 0.6], dtype=mg.float64)                 # "是"
similarity = (wo * shi).sum().item()
terms = [Fraction(a) * Fraction(b) for a, b in (("0.1", "0.4"), ("0.2", "0.5"), ("0.3", "0.6"))]
exact = sum(terms)
article_similarity = 0.35                                           # the article's number
print("terms:", [float(t) for t in terms], " sum (exact):", exact, "=", float(exact))
print(f"minigrad: {similarity:.6f}   the article: {article_similarity}")
assert math.isclose(similarity, float(exact), abs_tol=1e-12)
assert abs(similarity - article_similarity) > 0.02                 # the article's slip

# %% [markdown]
# $0.04 + 0.10 + 0.18 = 0.32$, not 0.35 — an arithmetic slip. Lesson 09 carries the corrected
# 0.32 into the article's fully connected example. Note also that a raw dot product is not yet
# an attention *weight*: attention scales it by $1/\sqrt{d}$ and takes a softmax over all
# tokens. For the two-token sentence "我是" with the identity as $W_Q, W_K, W_V$:

# %%
E_toy = mg.stack([wo, shi])                                          # (2, 3)
A_toy = F.softmax(E_toy @ E_toy.T / math.sqrt(3), dim=-1)           # (2, 2)
print("scores E Eᵀ =\n", np.round((E_toy @ E_toy.T).numpy(), 4))
print("A = softmax(E Eᵀ / √3) =\n", np.round(A_toy.numpy(), 4))
assert math.isclose((E_toy @ E_toy.T).numpy()[0, 1], similarity)
assert np.allclose(A_toy.numpy().sum(axis=1), 1.0)

# %% [markdown]
# ## 5. See it
#
# Attention of the 17-character sentence, with random embeddings of width 256 and random
# projections — once with the $1/\sqrt{d_k}$ scaling and once without. The unscaled map is
# nearly one-hot per row: saturation, as measured above. (Tick labels are the characters'
# pinyin: the plotting fonts here have no Chinese glyphs.)

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

PINYIN = {"我": "wo", "是": "shi", "一": "yi", "个": "ge", "程": "cheng", "序": "xu",
          "员": "yuan", "，": ",", "喜": "xi", "欢": "huan", "编": "bian", "和": "he",
          "解": "jie", "决": "jue", "问": "wen", "题": "ti"}
labels = [PINYIN[c] for c in sentence]

mg.manual_seed(3)
d_wide = 256
E_wide = mg.randn(len(sentence), d_wide)                                 # (17, 256)
Qw, Kw = E_wide @ weight(d_wide, d_wide), E_wide @ weight(d_wide, d_wide)   # (17, 256) each
maps = {"softmax(QKᵀ/√d_k)": F.softmax(Qw @ Kw.T / math.sqrt(d_wide), dim=-1).numpy(),
        "softmax(QKᵀ), no scaling": F.softmax(Qw @ Kw.T, dim=-1).numpy()}

fig, axes = plt.subplots(1, 3, figsize=(17, 5), layout="constrained")
for ax, (title, weights) in zip(axes, maps.items()):
    image = ax.imshow(weights, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90)
    ax.set_yticks(range(len(labels)), labels)
    ax.set(title=title, xlabel="key j", ylabel="query i")
fig.colorbar(image, ax=axes[1], fraction=0.046)
axes[2].loglog(widths, raw_var, "o-", label="Var(q·k)")
axes[2].loglog(widths, scaled_var, "s-", label="Var(q·k / √d_k)")
axes[2].set(xlabel="d_k", ylabel="variance of the score", title="√d_k keeps scores at variance 1")
axes[2].legend()
fig.savefig(os.path.join(OUT, "attention.png"), dpi=90, bbox_inches="tight")
max_weights = {title: weights.max(axis=1).mean() for title, weights in maps.items()}
print("mean largest weight per row:", {t: round(float(v), 3) for t, v in max_weights.items()})
assert max_weights["softmax(QKᵀ), no scaling"] > max_weights["softmax(QKᵀ/√d_k)"]
print("plot saved to", os.path.join(OUT, "attention.png"))

# %% [markdown]
# ## Try it
#
# 1. In section 3, use `scale = 1 / width` instead of `1 / math.sqrt(width)`. Now the scores are
#    too *small*: what happens to the largest weight (hint: uniform attention is 1/16)?
# 2. In `attention_by_hand`, drop the softmax and use the raw scores as weights. Do the rows
#    still sum to 1? What happens to $O$ for a long sentence?
# 3. Give the article a chance: write $H = \operatorname{softmax}(E W_Q (E W_K)^\mathsf{T} /
#    \sqrt{d_k})$, $O = H (E W_V)$ — the smallest change that uses $K$ and $V$ and defines $O$ —
#    and check that it is exactly section 2.
#
# Exercises: `python -m lessons check ex06` — write attention (with a causal mask) from
# minigrad ops yourself; `python -m lessons check ex02` — the backward of softmax.
#
# ## What's next
#
# Lesson 07 runs several attentions side by side (multi-head), adds masks, and looks at what
# the heads of a trained model attend to.
#
# Next: [Lesson 07 — Multi-head attention, masks, and what attention maps do (not) tell you](07_multi_head.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
