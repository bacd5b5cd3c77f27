# %% [markdown]
# # Lesson 02 — Tensors, broadcasting, and why a broadcast gradient is a sum
#
# **Promise.** After this lesson you can say what shape every tensor in a layer has, predict
# the shape of a broadcast operation, explain why the gradient of a broadcast input is a *sum*
# over the broadcast axes (and check it), read a computation graph, replay `backward()` one
# node at a time with the step debugger, and find the one op whose backward is wrong in a model
# that fails its gradient check. FORMULAS id: **C1** (the components of the model, introduced:
# every one of them is an operation on tensors).
#
# Lesson 01 worked with single numbers. Real models work with whole arrays at once.
#
# ## What the article says (§4.1)
#
# > LLM的数学模型主要包括以下组成部分：
# >
# > - **嵌入层（Embedding Layer）**：将输入的单词映射为一个固定大小的向量。
# > - **自注意力机制（Self-Attention Mechanism）**：通过计算输入序列中每个单词的相似度，生成权重矩阵，用于加权融合输入序列。
# > - **位置编码（Positional Encoding）**：为序列中的每个位置提供位置信息。
# > - **全连接层（Fully Connected Layer）**：将自注意力机制和位置编码的结果映射为一个固定大小的向量。
# > - **激活函数（Activation Function）**：通常使用ReLU函数。
#
# In English: the mathematical model of an LLM is made mainly of these parts — an embedding
# layer, which maps each input word to a vector of fixed size; a self-attention mechanism,
# which computes how similar the words of the input are to each other and produces a weight
# matrix used to mix the input sequence; a positional encoding, which gives each position of
# the sequence its position information; a fully connected layer, which maps the result of
# self-attention and positional encoding to a vector of fixed size; and an activation
# function, usually ReLU.
#
# Vectors, weight matrices, sequences of vectors: all of these are **tensors**, n-dimensional
# arrays. Later lessons take the parts one by one (embeddings in 05, attention in 06–07,
# positional encoding in 08, the fully connected layer and ReLU in 09). This lesson is about
# the arrays they all work on.

# %%
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "02_tensors")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. A tensor is an array with a shape
#
# A batch of B = 2 sentences, each T = 4 tokens long, each token a vector of C = 3 numbers, is
# one tensor of shape (B, T, C) = (2, 4, 3). The letters B, T, C are the names this project
# uses everywhere (with H heads, D head size, V vocabulary size). Indexing, reshaping and
# transposing change the shape, never the numbers.

# %%
x = mg.arange(24, dtype=mg.float32).reshape(2, 4, 3)     # (B, T, C)
print("x", x.shape, x.dtype, " ndim", x.ndim, " elements", x.numel())
print("x[1] (one sentence)      ", x[1].shape)             # (T, C)
print("x[:, 0] (first tokens)   ", x[:, 0].shape)           # (B, C)
print("x.reshape(8, 3) (tokens) ", x.reshape(8, 3).shape)   # (B*T, C)
print("x.transpose(1, 2)        ", x.transpose(1, 2).shape)  # (B, C, T)
print("x[1, 2] =", x[1, 2].tolist())
assert x.shape == (2, 4, 3) and x.numel() == 24
assert x[1].shape == (4, 3) and x[:, 0].shape == (2, 3)
assert x.reshape(8, 3).shape == (8, 3) and x.transpose(1, 2).shape == (2, 3, 4)
assert x[1, 2].tolist() == [18.0, 19.0, 20.0]          # element (b, t, c) is 12b + 3t + c

# %% [markdown]
# ## 2. Broadcasting: when shapes differ
#
# An op on two tensors of different shapes lines the shapes up **from the right**. Two sizes
# fit when they are equal or one of them is 1; a missing dimension counts as 1. A size-1
# dimension is then *stretched* (repeated, without copying) to the other size.
#
# | a | b | a + b |
# | --- | --- | --- |
# | (2, 4, 3) | (3,) | (2, 4, 3): b is added to every token of every sentence |
# | (4, 1) | (1, 3) | (4, 3): every pair, an "outer" sum |
# | (3,) | (4,) | error: 3 and 4 differ and neither is 1 |
#
# The fully connected layer of §4.1 is the everyday case: $y = x W + b$ with $x$ of shape
# (B, C_in), $W$ (C_in, C_out) and the bias $b$ (C_out,) — the same bias for every row of the
# batch.

# %%
bias = mg.tensor([100.0, 200.0, 300.0])                  # (C,)
print("x + bias:", (x + bias).shape, " first token:", (x + bias)[0, 0].tolist())
column = mg.arange(4, dtype=mg.float32).reshape(4, 1)    # (4, 1)
row = mg.tensor([[0.0, 10.0, 20.0]])                     # (1, 3)
outer = column + row
print("(4, 1) + (1, 3) ->", outer.shape)
print(outer.numpy())
assert (x + bias).shape == (2, 4, 3) and (x + bias)[0, 0].tolist() == [100.0, 201.0, 302.0]
np.testing.assert_array_equal(outer.numpy(), np.arange(4)[:, None] + np.array([0, 10, 20]))
try:
    mg.ones(3) + mg.ones(4)
    raise RuntimeError("shapes (3,) and (4,) should not broadcast")
except mg.ShapeError as error:
    print("(3,) + (4,) ->", type(error).__name__ + ":", error)

# %% [markdown]
# ## 3. The gradient of a broadcast input is a sum
#
# Take $y = x + b$ with $x$ of shape (B, C) and $b$ of shape (C,). Written out,
# $y_{ij} = x_{ij} + b_j$: **every** row $i$ uses the same $b_j$. By the chain rule each use
# sends its share of the gradient back to $b_j$, and the shares add up (lesson 01: a value used
# twice gets both contributions):
#
# $$\frac{\partial L}{\partial b_j} = \sum_{i=1}^{B} \frac{\partial L}{\partial y_{ij}}
# \cdot \frac{\partial y_{ij}}{\partial b_j} = \sum_{i=1}^{B} \frac{\partial L}{\partial y_{ij}} .$$
#
# So the gradient of a broadcast input is the upstream gradient **summed over the axes it was
# broadcast along** — here axis 0, the batch. It has $b$'s shape, (C,), so that the update
# $b \leftarrow b - \eta\,\partial L/\partial b$ makes sense. Let us check this on a loss
# $L = \sum_{ij} y_{ij}^2$, whose upstream gradient $\partial L/\partial y = 2y$ we know.

# %%
mg.manual_seed(0)
B, C = 4, 3
x = mg.randn(B, C, dtype=mg.float64, requires_grad=True)
b = mg.randn(C, dtype=mg.float64, requires_grad=True)
y = x + b                                                # (B, C): b broadcast over the batch
loss = (y * y).sum()
loss.backward()
upstream = 2 * y.numpy()                                 # dL/dy, shape (B, C)
print("dL/dy shape", upstream.shape, "-> dL/db shape", b.grad.shape)
print("b.grad              ", np.round(b.grad, 4))
print("dL/dy summed, axis 0", np.round(upstream.sum(axis=0), 4))
np.testing.assert_allclose(b.grad, upstream.sum(axis=0))
np.testing.assert_allclose(x.grad, upstream)             # x is not broadcast: no sum
assert b.grad.shape == (C,)
print("gradcheck of x + b:", mg.gradcheck(lambda x, b: x + b, x, b))

# %% [markdown]
# The same rule covers every broadcast op and every stretched axis. In the outer product
# $z_{ij} = u_i v_j$ with $u$ (4, 1) and $v$ (1, 3), $u$ is stretched along axis 1 and $v$
# along axis 0, so $\partial L/\partial u_i = \sum_j g_{ij} v_j$ (a sum over axis 1) and
# $\partial L/\partial v_j = \sum_i g_{ij} u_i$ (a sum over axis 0). minigrad's
# `minigrad.broadcast.unbroadcast` is this sum; every binary op calls it in its backward.

# %%
u = mg.randn(4, 1, dtype=mg.float64, requires_grad=True)
v = mg.randn(1, 3, dtype=mg.float64, requires_grad=True)
g = np.random.default_rng(0).standard_normal((4, 3))     # a made-up upstream gradient
(u * v).backward(mg.tensor(g))
print("u.grad", u.grad.shape, " v.grad", v.grad.shape)
np.testing.assert_allclose(u.grad, (g * v.numpy()).sum(axis=1, keepdims=True))
np.testing.assert_allclose(v.grad, (g * u.numpy()).sum(axis=0, keepdims=True))
assert mg.gradcheck(lambda u, v: u * v, u, v)
print("u.grad = Σ_j g·v (axis 1) and v.grad = Σ_i g·u (axis 0): checked")

# %% [markdown]
# What if an op forgot the sum? Its backward would hand back a (B, C) gradient for a (C,)
# input. The engine refuses it at once, and says what to do:

# %%
class AddForgetsTheSum(mg.Function):
    """y = a + b;  da = g,  db = g — wrong when b was broadcast: db must be summed back."""

    @staticmethod
    def forward(ctx, a, b):
        return a + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


try:
    AddForgetsTheSum.apply(x, b).sum().backward()
    raise RuntimeError("the unsummed gradient was accepted")
except mg.ShapeError as error:
    message = str(error)
    print("ShapeError:", message)
assert "(4, 3)" in message and "(3,)" in message and "unbroadcast" in message

# %% [markdown]
# Why a picture helps: the upstream gradient $\partial L/\partial y$ is a (B, C) grid; the
# bias gradient is each column of that grid added up.

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), gridspec_kw={"width_ratios": [3, 3]})
image = left.imshow(upstream, cmap="coolwarm", vmin=-abs(upstream).max(), vmax=abs(upstream).max())
for (i, j), value in np.ndenumerate(upstream):
    left.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
left.set(title="dL/dy  (B=4 rows, C=3 columns)", xlabel="column j", ylabel="batch row i",
         xticks=range(C), yticks=range(B))
right.bar(range(C), b.grad, color="#d08770")
for j, value in enumerate(b.grad):
    right.text(j, value, f"{value:.2f}", ha="center", va="bottom" if value >= 0 else "top")
right.axhline(0, color="k", lw=0.6)
right.set(title="dL/db = each column summed", xlabel="j", xticks=range(C))
fig.tight_layout()
fig.savefig(os.path.join(OUT, "broadcast_gradient.png"), dpi=90)
print("saved", os.path.join(OUT, "broadcast_gradient.png"))

# %% [markdown]
# ## 4. The computation graph of a layer
#
# Now the fully connected layer with ReLU from §4.1, on a batch of B = 4 inputs with 3
# features and 2 outputs: $h = \mathrm{ReLU}(x W + b)$, then a loss $L = \mathrm{mean}(h^2)$.
# `mg.viz.summarize_graph` lists every tensor the loss was computed from, inputs first;
# `mg.viz.draw_graph` draws the same graph (saved as a picture).

# %%
mg.manual_seed(1)
x = mg.randn(4, 3, dtype=mg.float64)
W = mg.randn(3, 2, dtype=mg.float64, requires_grad=True)
b = mg.tensor([0.5, -0.5], dtype=mg.float64, requires_grad=True)
x.name, W.name, b.name = "x", "W", "b"
h = (x @ W + b).relu()                                   # (4, 3) @ (3, 2) + (2,) -> (4, 2)
loss = (h * h).mean()
summary = mg.viz.summarize_graph(loss)
print(summary)
figure = mg.viz.draw_graph(loss, path=os.path.join(OUT, "graph.png"))
print("graph drawn to", os.path.join(OUT, "graph.png"))
lines = summary.splitlines()
assert len(lines) == 8 and lines[-1].startswith("#7 Mean(#6)")
assert "Mul(#5, #5)" in summary                          # h is used twice

# %% [markdown]
# ## 5. Stepping through backward, one node at a time
#
# `loss.backward()` does all of its work at once. `mg.viz.step_backward(loss)` replays the
# same pass one node at a time, in the same order, and prints for each op:
#
# - the **rule**: the op's forward and backward formulas (from its docstring);
# - the **upstream** gradient $g = \partial L/\partial(\text{output})$ that arrived there;
# - for each input, the **contribution** it receives — for an element-wise op, $g$ times the
#   local derivative, shown side by side — and how that contribution is **added** into the
#   input's gradient (a running sum: $h$ is used twice, so it gets two);
# - at the end, the `.grad` each parameter will hold.
#
# It changes nothing: no `.grad` is written and the graph is kept, so `loss.backward()` gives
# the same result afterwards. In a terminal, `step_backward(loss, interactive=True)` waits for
# Enter after each step. In a notebook, the returned list of steps can be inspected.

# %%
steps = mg.viz.step_backward(loss)

# %% [markdown]
# Every number in the replay can be checked. The steps come in the engine's order (the root's
# op first); the bias's contribution arrives summed over the batch axis, as section 3 said;
# and the final sums are exactly what `backward()` puts into `.grad`.

# %%
print("ops in backward order:", [s.op for s in steps])
assert [s.op for s in steps] == ["Mean", "Mul", "ReLU", "Add", "MatMul"]
relu = steps[2]
(contribution,) = relu.contributions
np.testing.assert_allclose(contribution.grad, relu.upstream * contribution.local)  # g × local
add = steps[3]
bias_part = add.contributions[1]
assert bias_part.tensor is b and bias_part.summed_axes == (0,)
np.testing.assert_allclose(bias_part.grad, add.upstream.sum(axis=0))
mul = steps[1]
first, second = mul.contributions                        # h * h: two contributions to h
np.testing.assert_allclose(second.total, first.grad + second.grad)
loss.backward()
np.testing.assert_allclose(bias_part.total, b.grad)
W_total = next(c.total for c in steps[4].contributions if c.tensor is W)
np.testing.assert_allclose(W_total, W.grad)
print("b.grad after backward():", np.round(b.grad, 4), "= the replay's sum: checked")

# %% [markdown]
# ## 6. Finding a wrong backward
#
# When you write your own op and get its backward wrong, `mg.gradcheck` on the whole model
# tells you that *something* is wrong, but a model has many ops. Here is a classic mistake: a
# bias-add whose backward **averages** the batch instead of summing it. It has the right shape,
# so the engine cannot notice — only the numbers are wrong.

# %%
class AddBias(mg.Function):
    """y = x + b, b (C,) broadcast over the rows of x (B, C);  dx = g,  db = Σ_rows g.

    The backward below has a planted mistake: it takes the mean over the rows, not the sum.
    """

    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, grad):
        return grad, grad.mean(axis=0)                   # wrong: should be grad.sum(axis=0)


mg.manual_seed(2)
inputs = mg.randn(5, 3, dtype=mg.float64)                # B = 5
targets = mg.tensor([0, 1, 1, 0, 1])
W1 = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
b1 = mg.randn(4, dtype=mg.float64, requires_grad=True)
W2 = mg.randn(4, 2, dtype=mg.float64, requires_grad=True)


def model(W1, b1, W2, add_bias=AddBias.apply):
    hidden = add_bias(inputs @ W1, b1).tanh()            # (5, 4)
    return F.cross_entropy(hidden @ W2, targets)


try:
    mg.gradcheck(model, W1, b1, W2)
    raise RuntimeError("the wrong backward was not caught")
except mg.GradcheckError as error:
    print("gradcheck of the model:", str(error)[:150], "...")

# %% [markdown]
# `mg.viz.find_bad_backward(fn, *inputs)` runs the model once, recording every op with the
# inputs it really received, then checks **each op on its own**: its `backward` against
# finite differences of its own `forward`, in float64. It reports the first op, in forward
# order, whose local gradient is wrong — with the input, its shape, the worst element, and the
# expected and actual values.

# %%
bad = mg.viz.find_bad_backward(model, W1, b1, W2)
print(bad)
assert bad.op == "AddBias" and bad.input == 1 and bad.shape == (4,)
assert bad.call == 2 and bad.calls >= 4                 # right after the first MatMul
print(f"expected / got = {bad.expected / bad.got:.6f}  (the batch size is {inputs.shape[0]})")
assert abs(bad.expected / bad.got - inputs.shape[0]) < 1e-4   # mean = sum / B: off by B

# %% [markdown]
# The ratio gives the bug away: the expected value is exactly B = 5 times what the backward
# returned, a mean instead of a sum. With `sum` the model passes both checks:

# %%
def add_bias_right(x, b):
    return x + b                                         # minigrad's Add sums over the batch


assert mg.gradcheck(lambda W1, b1, W2: model(W1, b1, W2, add_bias_right), W1, b1, W2)
assert mg.viz.find_bad_backward(lambda W1, b1, W2: model(W1, b1, W2, add_bias_right),
                                W1, b1, W2) is None
print("with minigrad's own add: gradcheck passes, find_bad_backward finds nothing")

# %% [markdown]
# ## Try it
#
# 1. Give `bias` the shape (1, 1, 3) in section 2, or (4, 1): which axes of $x + b$'s gradient
#    are summed now? Check your answer with `step_backward`.
# 2. Run `mg.viz.step_backward(loss, interactive=True)` in a terminal and predict each
#    contribution before pressing Enter.
# 3. Plant a different mistake in `AddBias.backward` (return `-grad` for `x`): which op and
#    which input does `find_bad_backward` name now?
# 4. Exercise: `python -m lessons check ex01` — write the backward of `Mul`, `Div` and `Pow`
#    with broadcasting.
#
# ## What's next
#
# Lesson 03 builds the first language model: the probability of the next character, from
# counts and then from a model trained with these gradients.
#
# Next: [Lesson 03 — A language model: the probability of the next character](03_language_model.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
