# %% [markdown]
# # Lesson 09 — The feed-forward layer: ReLU, GELU, and one network per position
#
# **Promise.** After this lesson you can write a fully connected layer with its activation,
# build the Transformer's position-wise feed-forward network and prove that it treats every
# position on its own, say why GPT and BERT use GELU instead of ReLU — and redo the article's
# "0.55" correctly. FORMULAS ids: **C1** (the components), **C5** (fully connected layer and
# ReLU; the position-wise FFN) and **D5** (the worked example's fully connected output).
#
# ## What the article says (§4.1, §4.3.1)
#
# > - **全连接层（Fully Connected Layer）**：将自注意力机制和位置编码的结果映射为一个固定大小的向量。
# > - **激活函数（Activation Function）**：通常使用ReLU函数。
#
# In English: the fully connected layer maps the results of self-attention and positional
# encoding to a vector of fixed size. The activation function is usually ReLU.
#
# > 4. **全连接层**：将自注意力机制和位置编码的结果映射为一个固定大小的向量。例如，对于“我”，其全连接层的输出为 $[0.1 + 0.35 + 0.1] = [0.55]$。
# >
# > 5. **激活函数**：通常使用ReLU函数。
#
# In English: for example, for "我" (I), the output of the fully connected layer is
# $[0.1 + 0.35 + 0.1] = [0.55]$. The activation function is usually ReLU.
#
# The article's list of components (§4.1: embedding, self-attention, positional encoding,
# fully connected layer, ReLU — FORMULAS C1) is the right list; lessons 05–08 built the first
# three. This lesson builds the last two, then checks the article's example.

# %%
import math
import os
import time
from fractions import Fraction

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer import GPT, GPTConfig, DecoderLayer, FeedForward, MultiHeadAttention

mg.set_num_threads(1)       # tiny matrices: one thread is faster than sharing the work
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "09_feed_forward")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. A fully connected layer with ReLU
#
# A fully connected (linear, dense) layer multiplies its input by a weight matrix and adds a
# bias; the activation then bends the result, element by element. ReLU keeps positives and
# zeroes negatives:
#
# $$y = \operatorname{ReLU}(x W + b), \qquad \operatorname{ReLU}(z) = \max(0, z), \qquad
# x \in \mathbb{R}^{C_{in}},\ W \in \mathbb{R}^{C_{in} \times C_{out}},\ b, y \in \mathbb{R}^{C_{out}}.$$
#
# `mg.nn.Linear` stores $W$ as PyTorch does, transposed: `weight` is $(C_{out}, C_{in})$ and
# the layer computes $x\,W^\mathsf{T} + b$. Without the activation, two linear layers in a row
# would collapse into one (a product of matrices is a matrix); the bend is what lets a network
# of layers compute more than a single linear map.

# %%
mg.manual_seed(0)
layer = mg.nn.Linear(4, 3)
x = mg.randn(2, 4)                                                # (B, C_in)
y = F.relu(layer(x))                                              # (B, C_out)
z_by_hand = x.numpy() @ layer.weight.numpy().T + layer.bias.numpy()
y_by_hand = np.maximum(0, z_by_hand)
print("x", x.shape, "-> Linear(4, 3) -> ReLU ->", y.shape)
print("pre-activation z =\n", np.round(z_by_hand, 3), "\ny = ReLU(z) =\n", np.round(y.numpy(), 3))
assert np.allclose(y.numpy(), y_by_hand, atol=1e-6)
assert (y.numpy() == 0).sum() == (z_by_hand <= 0).sum()

# %% [markdown]
# ReLU's gradient is a switch: 1 where $z > 0$, 0 elsewhere. A unit whose pre-activation is
# negative for every input passes no gradient at all and stops learning (a "dead" ReLU).

# %%
z = mg.tensor(np.linspace(-2, 2, 9), requires_grad=True)
F.relu(z).sum().backward()
print("z       :", z.numpy().round(2).tolist())
print("dReLU/dz:", z.grad.tolist())
assert np.array_equal(z.grad, (z.numpy() > 0).astype(np.float32))

# %% [markdown]
# ## 2. The Transformer's feed-forward network, one position at a time
#
# After attention has mixed information *between* positions, every position goes through the
# same two-layer network, on its own:
#
# $$\operatorname{FFN}(x) = \max(0,\ x W_1 + b_1)\, W_2 + b_2, \qquad
# W_1 \in \mathbb{R}^{C \times d_{ff}},\ W_2 \in \mathbb{R}^{d_{ff} \times C},$$
#
# usually with $d_{ff} = 4C$: widen, bend, narrow. On a batch the shapes are
# (B, T, C) → (B, T, d_ff) → (B, T, C). `transformer.FeedForward` is this layer; rebuild it:

# %%
B, T, C = 2, 6, 8
ffn = FeedForward(C, 4 * C)                                       # activation="relu"
x = mg.randn(B, T, C)                                             # (B, T, C)
hidden = F.relu(x @ ffn.fc1.weight.T + ffn.fc1.bias)              # (B, T, 4C)
y_hand = hidden @ ffn.fc2.weight.T + ffn.fc2.bias                 # (B, T, C)
y_lib = ffn(x)
print(ffn)
print("x", x.shape, "-> hidden", hidden.shape, "-> y", y_lib.shape,
      f"; by hand vs FeedForward: {np.abs(y_hand.numpy() - y_lib.numpy()).max():.1e}")
assert np.abs(y_hand.numpy() - y_lib.numpy()).max() < 1e-5
assert ffn.num_parameters() == C * 4 * C + 4 * C + 4 * C * C + C

# %% [markdown]
# "Position-wise" is a claim that can be checked: running the FFN on each position
# separately and stacking the results gives the same as running it on the whole sequence;
# and changing one position changes that position's output only. Attention fails the second
# test — it is the only place where positions talk to each other.

# %%
one_by_one = mg.stack([ffn(x[:, t]) for t in range(T)], dim=1)   # T × (B, C) -> (B, T, C)
print(f"position by position vs all at once: {np.abs(one_by_one.numpy() - y_lib.numpy()).max():.1e}")
assert np.abs(one_by_one.numpy() - y_lib.numpy()).max() < 1e-6

x_changed = x.numpy().copy()
x_changed[:, 3] += 5.0                                            # change position 3 only
change_ffn = np.abs(ffn(mg.tensor(x_changed)).numpy() - y_lib.numpy()).max(axis=(0, 2))   # (T,)
attention = MultiHeadAttention(C, n_head=2)
change_attn = np.abs(attention(mg.tensor(x_changed)).numpy() - attention(x).numpy()).max(axis=(0, 2))
print("output change per position after changing position 3:")
print("  FFN      :", [round(float(c), 3) for c in change_ffn])
print("  attention:", [round(float(c), 3) for c in change_attn])
assert change_ffn[3] > 0.1 and np.delete(change_ffn, 3).max() == 0
assert (change_attn > 1e-3).all()

# %% [markdown]
# How much of a Transformer is this "simple" layer? In a block, attention has $4C^2$ weights
# ($W_Q, W_K, W_V, W_O$) and the FFN $2 \cdot C \cdot 4C = 8C^2$: about two thirds of every
# layer's parameters sit in the feed-forward network.

# %%
block = DecoderLayer(64, n_head=4, d_ff=256, cross_attention=False)
share = block.ffn.num_parameters() / block.num_parameters()
print(f"DecoderLayer(C=64): attention {block.self_attn.num_parameters()}, FFN "
      f"{block.ffn.num_parameters()}, the FFN's share {share:.2f}")
assert block.self_attn.num_parameters() == 4 * 64 * 64 + 4 * 64
assert block.ffn.num_parameters() == 2 * 64 * 256 + 256 + 64 and 0.6 < share < 0.7

# %% [markdown]
# ## 3. GELU: the activation of GPT and BERT
#
# The article says the activation is "usually ReLU". That was true of the original Transformer
# (2017); GPT, GPT-2 and BERT use GELU, a smooth ReLU (many later models use GELU or gated
# variants such as SwiGLU):
#
# $$\operatorname{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\Big(1 + \operatorname{erf}\frac{x}{\sqrt 2}\Big),$$
#
# where $\Phi$ is the standard normal distribution function: the input is kept in proportion
# to how likely a standard normal variable is to be below it. GPT-2 used the tanh
# approximation $\frac{x}{2}\big(1 + \tanh[\sqrt{2/\pi}\,(x + 0.044715\,x^3)]\big)$.
# Check `F.gelu` against the formula, and look at the gradients: GELU's does not switch off
# abruptly for negative inputs.

# %%
grid = np.linspace(-4, 4, 161)
gelu_formula = grid * 0.5 * (1 + np.array([math.erf(v / math.sqrt(2)) for v in grid]))
tanh_formula = 0.5 * grid * (1 + np.tanh(math.sqrt(2 / math.pi) * (grid + 0.044715 * grid ** 3)))
x_grid = mg.tensor(grid, dtype=mg.float64, requires_grad=True)
gelu = F.gelu(x_grid)
gelu.sum().backward()
gelu_grad = x_grid.grad.copy()
print(f"F.gelu vs x·Φ(x): {np.abs(gelu.numpy() - gelu_formula).max():.1e};  tanh form vs its "
      f"formula: {np.abs(F.gelu(mg.tensor(grid), approximate='tanh').numpy() - tanh_formula).max():.1e}")
print(f"largest gap between exact and tanh GELU on [-4, 4]: {np.abs(gelu_formula - tanh_formula).max():.1e}")
assert np.abs(gelu.numpy() - gelu_formula).max() < 1e-12
assert np.abs(F.gelu(mg.tensor(grid), approximate="tanh").numpy() - tanh_formula).max() < 1e-5
assert np.abs(gelu_formula - tanh_formula).max() < 1e-3
minimum = int(np.argmin(gelu_formula))
print(f"GELU dips below 0: minimum {gelu_formula[minimum]:.3f} at x = {grid[minimum]:.2f}; "
      f"gradient at x = -1: {gelu_grad[np.isclose(grid, -1)][0]:.3f} (ReLU's: 0)")
assert gelu_formula[minimum] < -0.16 and abs(grid[minimum] + 0.75) < 0.06 and gelu_grad[np.isclose(grid, -1)][0] < -0.05
gpt = GPT(GPTConfig(vocab_size=16, block_size=8, n_layer=1, n_head=2, n_embd=8))
print("the GPT of this project uses:", gpt.blocks[0].ffn.activation)
assert gpt.blocks[0].ffn.activation == "gelu"

# %% [markdown]
# ## 4. Where the article goes wrong: "[0.1 + 0.35 + 0.1] = [0.55]" (D5)
#
# The article does not say what its three terms are. The reading that fits its example: the
# first number of "我"'s embedding [0.1, 0.2, 0.3] (D2), the similarity of "我" and "是"
# (D3), and the first number of the first position code [0.1, 0.2, 0.3] (D4). First reproduce
# its sum, then redo it with the similarity as it really is (lesson 06: 0.32, not 0.35) —
# computed again here from the two vectors.

# %%
e_wo = mg.tensor([0.1, 0.2, 0.3], dtype=mg.float64)              # "我" (D2)
e_shi = mg.tensor([0.4, 0.5, 0.6], dtype=mg.float64)             # "是" (D2)
p_1 = mg.tensor([0.1, 0.2, 0.3], dtype=mg.float64)               # position code of word 1 (D4)
article_similarity, article_output = Fraction("0.35"), Fraction("0.55")   # the article's numbers
exact = lambda t: Fraction(str(round(t.item(), 12)))                      # a float64 as a fraction
first_e, first_p = exact(e_wo[0]), exact(p_1[0])                          # 0.1 and 0.1
similarity = exact((e_wo * e_shi).sum())                                  # 0.32, computed
article_sum = first_e + article_similarity + first_p
corrected = first_e + similarity + first_p
print(f"the article's terms: {float(first_e)} + {float(article_similarity)} + {float(first_p)} = "
      f"{float(article_sum)}  (the article prints {float(article_output)})")
print(f"with the real similarity {float(similarity)}: {float(first_e)} + {float(similarity)} + "
      f"{float(first_p)} = {float(corrected)}")
assert article_sum == article_output                    # the article's own addition is right
assert similarity == Fraction(8, 25)                    # but its 0.35 was 0.32
assert corrected == Fraction(13, 25) and corrected != article_output

# %% [markdown]
# So the article's addition is right for its inputs; the error is inherited from D3, and the
# corrected output is 0.52.
#
# But the bigger point is what a fully connected layer *is*. The article adds three numbers of
# different kinds with weight 1 each and returns a 1-number vector. A fully connected layer
# multiplies its whole input vector by a **learned** weight matrix: the sum above is the
# special case $W = [1, 1, 1]^\mathsf{T}$, $b = 0$, applied to the input $[0.1, 0.32, 0.1]$ —
# a choice nobody would train to, since nothing in it was learned.

# %%
features = mg.tensor([[0.1, float(similarity), 0.1]], dtype=mg.float64)   # (1, 3)
fixed = mg.nn.Linear(3, 1).double()
with mg.no_grad():
    fixed.weight.fill_(1.0)                                                 # W = [1, 1, 1]
    fixed.bias.fill_(0.0)
out = F.relu(fixed(features))                                               # (1, 1)
print(f"Linear(3, 1) with W = [1, 1, 1], b = 0, then ReLU: {out.item():.2f}")
assert math.isclose(out.item(), float(corrected))

# %% [markdown]
# In a real layer $W$ and $b$ are parameters: training computes $\partial L / \partial W$ and
# moves them. For one output, $\partial y / \partial W = x$ (when ReLU is on) — the gradient
# says exactly how to re-weigh each input. And a real FFN maps the whole C-wide vector of every
# position to another C-wide vector (section 2), not three hand-picked numbers to one.

# %%
out.backward()
print("dy/dW =", fixed.weight.grad.round(6).tolist(), " = the input", features.numpy().tolist())
assert np.allclose(fixed.weight.grad, features.numpy())

# %% [markdown]
# ## 5. Activations and gradients, as histograms
#
# A network's health shows in the distribution of its activations and gradients. Run one
# `FeedForward` on a batch of random positions, keep its hidden pre-activations $z = xW_1 + b_1$,
# and compare what ReLU and GELU do with them. ReLU's gradient is exactly 0 wherever $z < 0$:
# those units pass nothing back for these inputs (a unit with $z < 0$ for *every* input is
# "dead" and never learns again). GELU's gradient is small there, but not zero.

# %%
mg.manual_seed(1)
B_h, T_h, C_h = 16, 32, 32
ffn_h = FeedForward(C_h, 4 * C_h)
x_h = mg.randn(B_h, T_h, C_h)
z_h = ffn_h.fc1(x_h).detach()                                 # (B, T, 4C) pre-activations
z_h.requires_grad = True
histograms = {}
for name, act in (("ReLU", F.relu), ("GELU", F.gelu)):
    z_h.grad = None
    out_h = act(z_h)
    out_h.sum().backward()
    histograms[name] = (out_h.numpy().ravel(), z_h.grad.ravel().copy())
negative = float((z_h.numpy() < 0).mean())
relu_zero = float((histograms["ReLU"][1] == 0).mean())
gelu_zero = float((histograms["GELU"][1] == 0).mean())
print(f"pre-activations z {tuple(z_h.shape)}: mean {z_h.numpy().mean():+.3f}, std {z_h.numpy().std():.3f}, "
      f"{negative:.1%} negative")
print(f"gradients exactly 0: ReLU {relu_zero:.1%} (= the negative share), GELU {gelu_zero:.1%}")
assert relu_zero == negative and gelu_zero < 0.01 and 0.3 < negative < 0.7

# %% [markdown]
# ## 6. See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, ((left, middle, right), (h_z, h_out, h_grad)) = plt.subplots(
    2, 3, figsize=(16, 9), layout="constrained")
left.plot(grid, np.maximum(0, grid), label="ReLU")
left.plot(grid, gelu_formula, label="GELU (exact)")
left.plot(grid, tanh_formula, "--", label="GELU (tanh, GPT-2)")
left.set(title="activations", xlabel="z")
left.legend()
middle.plot(grid, (grid > 0).astype(float), label="ReLU'")
middle.plot(grid, gelu_grad, label="GELU'")
middle.set(title="their gradients", xlabel="z")
middle.legend()
right.bar(range(T), change_ffn, width=0.4, label="FFN", align="edge")
right.bar(np.arange(T) - 0.4, change_attn, width=0.4, label="attention", align="edge")
right.set(title="output change after changing position 3", xlabel="position", ylabel="max |Δy|")
right.legend()
h_z.hist(z_h.numpy().ravel(), bins=60)
h_z.set(title="pre-activations z = xW₁ + b₁", xlabel="z")
for name, (values, grads) in histograms.items():
    h_out.hist(values, bins=60, alpha=0.6, label=name)
    h_grad.hist(grads, bins=60, alpha=0.6, label=name)
h_out.set(title="activations", xlabel="act(z)", yscale="log")
h_grad.set(title="gradients d act / dz (a spike at 0 for ReLU)", xlabel="d act / dz", yscale="log")
h_out.legend()
h_grad.legend()
fig.savefig(os.path.join(OUT, "feed_forward.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "feed_forward.png"))

# %% [markdown]
# ## Try it
#
# 1. Build `FeedForward(C, 4 * C, activation="gelu")` and redo the position-by-position test:
#    does the activation matter for it?
# 2. Remove the ReLU in section 1 and stack two `Linear` layers: find the single `Linear`
#    that gives the same output (multiply their weight matrices).
# 3. In section 4, give `fixed` the weights `[0.5, 2.0, 0.5]`: which input does the layer now
#    care about most? Why can only training decide such weights?
#
# Exercise: `python -m lessons check ex12` — write GELU's backward yourself.
#
# ## What's next
#
# Lesson 10 puts embedding, attention, positions and the feed-forward together on the
# article's worked example, and trains it until it really reproduces the sentence.
#
# Next: [Lesson 10 — The article's worked example, end to end](10_worked_example.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
