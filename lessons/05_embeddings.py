# %% [markdown]
# # Lesson 05 — Embeddings: a lookup table that learns
#
# **Promise.** After this lesson you can turn a sentence into the matrix $E$ of its token
# vectors, show that the lookup is the same as a one-hot matrix times the table, explain why
# the table's gradient is a *scatter-add* of rows (and why a repeated token gets the sum), and
# rebuild the article's toy embeddings. FORMULAS ids: **C2** (the embedding layer) and **D2**
# (the toy embeddings of the worked example).
#
# Lesson 04 turned text into token ids. This lesson turns ids into vectors.
#
# ## What the article says (§4.2.1 and §4.3.1)
#
# > 设输入序列为 $X = \{x_1, x_2, ..., x_n\}$，其中 $x_i$ 表示第 $i$ 个单词。嵌入层将每个单词映射为一个向量 $e(x_i) \in \mathbb{R}^d$，其中 $d$ 为嵌入维度。则输入序列的嵌入表示为：
# >
# > $$E = \{e(x_1), e(x_2), ..., e(x_n)\}$$
#
# In English: let the input sequence be $X = \{x_1, x_2, ..., x_n\}$, where $x_i$ is the
# $i$-th word. The embedding layer maps each word to a vector $e(x_i) \in \mathbb{R}^d$, where
# $d$ is the embedding dimension. The embedded input sequence is then
# $E = \{e(x_1), e(x_2), ..., e(x_n)\}$.
#
# > 1. **嵌入层**：将文本序列中的每个单词映射为一个向量。例如，“我”映射为 $[0.1, 0.2, 0.3]$，“是”映射为 $[0.4, 0.5, 0.6]$，依此类推。
#
# In English: 1. *Embedding layer*: map each word of the text sequence to a vector. For
# example, "我" (I) maps to $[0.1, 0.2, 0.3]$, "是" (am) maps to $[0.4, 0.5, 0.6]$, and so on.

# %%
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer.tokenizers import CharTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "05_embeddings")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
SENTENCE = "我是一个程序员，喜欢编程和解决问题"
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. X: the sentence as token ids
#
# We cut the article's sentence into characters (lesson 04 compared the alternatives) and give
# each distinct character an id. $X$ is then a sequence of $n = 17$ integers, each in
# $[0, V)$ for a vocabulary of $V$ tokens.
#
# One detail of the notation: the article writes $X$ and $E$ with set braces $\{\ \}$. A set
# has no order and no repeats, but a sentence has both: 程 occurs twice, at positions 4 and 11,
# and "喜欢编程" is not "编程喜欢". Read $X$ as a *sequence* and $E$ as a *matrix* with one row
# per position, $E \in \mathbb{R}^{n \times d}$, which is what the code computes.

# %%
tokenizer = CharTokenizer.from_text(SENTENCE)
X = mg.tensor(tokenizer.encode(SENTENCE))                  # (n,) int64
V = tokenizer.vocab_size                                   # 16 characters + <unk>
print("X =", X.tolist(), " shape", X.shape, " V =", V)
print("程 has id", tokenizer.token_to_id("程"), "at positions",
      [i for i, t in enumerate(X.tolist()) if t == tokenizer.token_to_id("程")])
assert X.shape == (17,) and V == len(set(SENTENCE)) + 1 == 17
assert X[4].item() == X[11].item() == tokenizer.token_to_id("程")

# %% [markdown]
# ## 2. e(x_i) and E: rows of a table
#
# The embedding layer holds a table $W \in \mathbb{R}^{V \times d}$, one row per token of the
# vocabulary. $e(x_i)$ is simply row $x_i$ of that table, and $E$ stacks the rows of the
# sentence:
#
# $$e(x_i) = W_{x_i,:} \in \mathbb{R}^d, \qquad E = W[X] \in \mathbb{R}^{n \times d} .$$
#
# In the code, a batch of sentences has ids of shape (B, T), and the embedding gives (B, T, C):
# C is the article's $d$. The table starts random; training moves its rows.

# %%
mg.manual_seed(0)
d = 4
embedding = mg.nn.Embedding(V, d)                          # W: (V, d)
E = embedding(X)                                           # (n,) -> (n, d)
print("W", embedding.weight.shape, "-> E", E.shape)
print("e(x_0) = e('我') =", np.round(E[0].numpy(), 4))
assert E.shape == (17, d)
np.testing.assert_array_equal(E.numpy(), embedding.weight.numpy()[X.numpy()])
np.testing.assert_array_equal(E[4].numpy(), E[11].numpy())   # the same token, the same vector

# %% [markdown]
# ## 3. A lookup is a one-hot vector times the table
#
# Write token $x_i$ as a **one-hot** vector: $V$ zeros with a single 1 at position $x_i$. Then
# a matrix product picks out exactly one row of $W$:
#
# $$\mathrm{onehot}(x_i)\, W = \sum_{v} [v = x_i]\, W_{v,:} = W_{x_i,:},
# \qquad E = \mathrm{onehot}(X)\, W \quad (n \times V)(V \times d) = (n \times d).$$
#
# So the embedding layer is a fully connected layer (lesson 09) without bias whose input is
# one-hot. Frameworks use the lookup because it does the same thing without the zeros.

# %%
one_hot = F.one_hot(X, V).float()                          # (n, V): one 1 per row
E_by_matmul = one_hot @ embedding.weight                   # (n, V) @ (V, d) -> (n, d)
print("one-hot", one_hot.shape, "@ W", embedding.weight.shape, "=", E_by_matmul.shape)
np.testing.assert_array_equal(E_by_matmul.numpy(), E.numpy())   # exactly equal
assert (one_hot.numpy().sum(axis=1) == 1).all()
print("lookup == one-hot @ W: every element equal")

V_real, d_real, n_real = 30522, 384, 128                   # all-MiniLM-L6-v2's sizes
matmul_flops = 2 * n_real * V_real * d_real
copies = n_real * d_real
print(f"at MiniLM's size (V={V_real}, d={d_real}) a {n_real}-token input costs "
      f"{matmul_flops / 1e9:.1f} GFLOP as a product, {copies:,} copied numbers as a lookup")
assert matmul_flops == 2 * V_real * copies

# %% [markdown]
# ## 4. The gradient is a scatter-add of rows
#
# Suppose a loss $L$ sends back $G = \partial L/\partial E$, one row $G_{i,:}$ per position.
# From $E = \mathrm{onehot}(X)\,W$, the matrix-product rule gives
#
# $$\frac{\partial L}{\partial W} = \mathrm{onehot}(X)^\mathsf{T}\, G, \qquad
# \frac{\partial L}{\partial W_{v,:}} = \sum_{i \,:\, x_i = v} G_{i,:} .$$
#
# Row $v$ of the gradient is the **sum** of the rows of $G$ at every position where token $v$
# occurs; a token that does not occur gets zero. In code this is a *scatter-add*: start from
# zeros, add each $G_{i,:}$ into row $x_i$. A token used twice (程) gets two rows added — the
# same rule as in lessons 01 and 02: a value used twice receives both contributions.

# %%
G = mg.randn(17, d)                                        # a made-up upstream gradient
embedding.weight.grad = None
(E * G).sum().backward()                                   # L = Σ E ⊙ G, so dL/dE = G
dW = embedding.weight.grad                                 # (V, d)

by_hand = np.zeros((V, d), dtype=np.float32)
np.add.at(by_hand, X.numpy(), G.numpy())                   # scatter-add: row x_i += G_i
by_product = one_hot.numpy().T @ G.numpy()                 # onehot(X)ᵀ G
cheng = tokenizer.token_to_id("程")
print("dW", dW.shape, "; rows that are not zero:", int((np.abs(dW).sum(axis=1) > 0).sum()),
      "= distinct tokens of the sentence:", len(set(SENTENCE)))
print("dW['程'] =", np.round(dW[cheng], 4))
print("G[4] + G[11] =", np.round(G.numpy()[4] + G.numpy()[11], 4))
np.testing.assert_allclose(dW, by_hand, rtol=1e-6)
np.testing.assert_allclose(dW, by_product, rtol=1e-5, atol=1e-6)
np.testing.assert_allclose(dW[cheng], G.numpy()[4] + G.numpy()[11], rtol=1e-6)
assert (np.abs(dW).sum(axis=1) > 0).sum() == len(set(SENTENCE))
assert not dW[tokenizer.token_to_id("<unk>")].any()        # never used: no gradient

# %% [markdown]
# The classic bug: writing `dW[X] = G` (or `dW[X] += G`) instead of a scatter-add. With a
# repeated index NumPy performs only one of the writes, so 程 keeps just one of its two rows.

# %%
wrong = np.zeros((V, d), dtype=np.float32)
wrong[X.numpy()] += G.numpy()                              # buffered: repeats are lost
print("dW[X] += G gives  dW['程'] =", np.round(wrong[cheng], 4), "(only G[11])")
np.testing.assert_allclose(wrong[cheng], G.numpy()[11])
assert not np.allclose(wrong[cheng], dW[cheng])
others = [v for v in range(V) if v != cheng]
np.testing.assert_allclose(wrong[others], dW[others], rtol=1e-6)   # right everywhere else

# %% [markdown]
# `mg.viz.step_backward` shows the same scatter-add from inside the engine: the lookup is a
# `GetItem` op, and its contribution to $W$ has zero rows for unused tokens. (The table has
# 68 numbers, so we ask for arrays up to 68 elements to be printed in full.)

# %%
steps = mg.viz.step_backward((embedding(X[:3]) * G[:3]).sum(), out=None, max_elements=68)
lookup = steps[-1]
print(str(lookup).split("\n  -> ")[0])
print("rows of dW that the 3-token lookup touches:",
      np.flatnonzero(np.abs(lookup.contributions[0].grad).sum(axis=1)).tolist(),
      "= ids", X[:3].tolist())
assert lookup.op == "GetItem" and lookup.contributions[0].tensor is embedding.weight
assert np.flatnonzero(np.abs(lookup.contributions[0].grad).sum(axis=1)).tolist() == \
    sorted(X[:3].tolist())

# %% [markdown]
# ## 5. The article's toy embeddings (D2)
#
# The worked example gives two rows of the table, with $d = 3$: 我 → [0.1, 0.2, 0.3] and
# 是 → [0.4, 0.5, 0.6], "and so on" for the rest. Those numbers are made up to illustrate;
# a real model learns its table. We put them into an `Embedding` of our vocabulary, fill the
# other rows at random, and embed "我是".

# %%
mg.manual_seed(1)
toy = mg.nn.Embedding(V, 3)
with mg.no_grad():
    toy.weight[tokenizer.token_to_id("我")] = mg.tensor([0.1, 0.2, 0.3])
    toy.weight[tokenizer.token_to_id("是")] = mg.tensor([0.4, 0.5, 0.6])
E_toy = toy(mg.tensor(tokenizer.encode("我是")))          # (2, 3)
print("E('我是') =", E_toy.numpy().astype(np.float64).round(4).tolist())
np.testing.assert_allclose(E_toy.numpy(), [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], rtol=1e-6)

# %% [markdown]
# Training changes these rows, and only the rows of tokens it has seen. One SGD step with
# $\eta = 0.1$ on the made-up loss $L = \sum E \odot G$ moves exactly the two rows of 我 and
# 是, each by $-\eta$ times its gradient; every other row of the table stays where it was.
# Lesson 06 computes the article's similarity of these two vectors (0.32, not 0.35).

# %%
before = toy.weight.numpy().copy()
optimizer = mg.optim.SGD(toy.parameters(), lr=0.1)
G_toy = mg.tensor([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
(toy(mg.tensor(tokenizer.encode("我是"))) * G_toy).sum().backward()
optimizer.step()
moved = np.flatnonzero(np.abs(toy.weight.numpy() - before).sum(axis=1) > 0).tolist()
print("rows moved by one step:", moved, "= ids of 我, 是:", tokenizer.encode("我是"))
print("我 after the step:", np.round(toy.weight.numpy()[tokenizer.token_to_id("我")], 4))
assert moved == sorted(tokenizer.encode("我是"))
np.testing.assert_allclose(toy.weight.numpy()[tokenizer.token_to_id("我")],
                           [0.1 - 0.1, 0.2, 0.3 + 0.1], rtol=1e-6, atol=1e-7)

# %% [markdown]
# ## 6. See it
#
# Top: the lookup as a product, one-hot rows times the table give the sentence's rows.
# Bottom: the gradient, the upstream rows $G$ scattered and added into the table's rows — the
# row of 程 (chéng, marked) is the sum of two.

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 3, figsize=(11, 7), gridspec_kw={"width_ratios": [V, d, d]})
panels = [
    (one_hot.numpy(), "onehot(X)  (n × V)", "Greys"),
    (embedding.weight.numpy(), "W  (V × d)", "coolwarm"),
    (E.numpy(), "E = W[X]  (n × d)", "coolwarm"),
    (one_hot.numpy().T, "onehot(X)ᵀ  (V × n)", "Greys"),
    (G.numpy(), "G = dL/dE  (n × d)", "coolwarm"),
    (dW, "dW = onehot(X)ᵀ G  (V × d)", "coolwarm"),
]
for ax, (array, title, cmap) in zip(axes.flat, panels):
    limit = max(abs(array).max(), 1e-9)
    ax.imshow(array, cmap=cmap, vmin=-limit if cmap != "Greys" else 0, vmax=limit,
              aspect="auto")
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
for ax in (axes[0, 0], axes[0, 2], axes[1, 1]):
    ax.set_ylabel("position i (n = 17)")
for ax in (axes[0, 1], axes[1, 0], axes[1, 2]):
    ax.set_ylabel("token id v (V = 17)")
axes[1, 2].axhline(cheng, color="k", lw=2, alpha=0.4)
axes[1, 2].text(d - 0.5, cheng, " chéng: G[4] + G[11]", va="center", fontsize=8)
fig.tight_layout()
fig.savefig(os.path.join(OUT, "lookup_and_gradient.png"), dpi=90)
print("saved", os.path.join(OUT, "lookup_and_gradient.png"))

# %% [markdown]
# ## Try it
#
# 1. Embed a sentence that repeats one character three times. What is that row of `dW`?
# 2. Make $d$ = 64 and $V$ = 5,000: time `one_hot @ W` against `embedding(X)` with
#    `time.perf_counter()`. How many times slower is the product?
# 3. Give `mg.nn.Embedding` a `padding_idx`: which row never receives a gradient now?
# 4. Exercise: `python -m lessons check ex10` — write the embedding's backward as a
#    scatter-add.
#
# ## What's next
#
# Lesson 06 lets the token vectors look at each other: self-attention, starting from the
# article's formula and its similarity of 我 and 是.
#
# Next: [Lesson 06 — Self-attention: the article's formula, why it cannot run, and the one that does](06_attention.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
