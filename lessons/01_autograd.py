# %% [markdown]
# # Lesson 01 — Autograd: where a network's gradients come from
#
# **Promise.** After this lesson you can follow the chain rule through a computation graph,
# check any gradient against finite differences, write your own differentiable op, and train a
# small network with gradient descent and with Adam — and you will have seen, on a loss curve,
# what the optimizer and the batch size change. FORMULAS id: **B4** (training: cross-entropy,
# gradient descent and Adam, batch size 32/64/128).
#
# ## What the article says (§3.2.3)
#
# > - **损失函数（Loss Function）**：使用交叉熵损失函数（Cross-Entropy Loss）来衡量模型预测和真实标签之间的差距。
# > - **优化算法（Optimizer）**：使用梯度下降（Gradient Descent）或其变种（如Adam优化器）来更新模型参数。
# > - **批量大小（Batch Size）**：在训练过程中，每次更新的数据量，通常选择32、64或128。
#
# In English: training measures the gap between the model's predictions and the true labels with
# the cross-entropy loss; it updates the parameters with gradient descent or a variant such as
# Adam; each update sees a batch of 32, 64 or 128 examples.
#
# Every one of these steps needs the gradient of the loss with respect to every parameter.
# This lesson shows where those gradients come from.

# %%
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "01_autograd")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The chain rule, by hand and by the engine
#
# Take two numbers and one small expression:
#
# $$c = a\,b + b, \qquad L = c^2 .$$
#
# The chain rule walks backwards from $L$: $\partial L/\partial c = 2c$, then
# $\partial L/\partial a = 2c \cdot b$ and $\partial L/\partial b = 2c\,(a + 1)$ — $b$ is used
# twice, so its two contributions add up.

# %%
a = mg.tensor(2.0, requires_grad=True)
b = mg.tensor(-3.0, requires_grad=True)
c = a * b + b
L = c ** 2
L.backward()                                    # fills a.grad and b.grad

c_value = a.item() * b.item() + b.item()
by_hand_a = 2 * c_value * b.item()
by_hand_b = 2 * c_value * (a.item() + 1)
print(f"c = {c.item()},  L = {L.item()}")
print(f"dL/da: engine {a.grad.item():+.1f}, by hand {by_hand_a:+.1f}")
print(f"dL/db: engine {b.grad.item():+.1f}, by hand {by_hand_b:+.1f}")
assert np.isclose(a.grad.item(), by_hand_a) and np.isclose(b.grad.item(), by_hand_b)

# %% [markdown]
# The engine recorded a graph while the forward pass ran: each tensor remembers the op that made
# it and that op's inputs. `backward()` visits the graph from $L$ to the leaves, in reverse
# topological order, and at each node multiplies the gradient arriving from above by the op's
# local derivative. Here is that graph, as text and as a picture.

# %%
a.grad = b.grad = None
a.name, b.name = "a", "b"
c = a * b + b
L = c ** 2
print(mg.viz.summarize_graph(L))
figure = mg.viz.draw_graph(L, path=os.path.join(OUT, "graph.png"))
print("graph drawn to", os.path.join(OUT, "graph.png"))

# %% [markdown]
# ## 2. Trust, but check: finite differences
#
# A derivative is a limit: $f'(x) \approx \dfrac{f(x+\varepsilon) - f(x-\varepsilon)}{2\varepsilon}$.
# `mg.gradcheck` compares the engine's gradient with this central difference for every element,
# in float64. Every op in minigrad passes it (the tests check all of them).

# %%
x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
w = mg.randn(4, 2, dtype=mg.float64, requires_grad=True)
print("softmax(x @ w) passes gradcheck:", mg.gradcheck(lambda x, w: F.softmax(x @ w, dim=-1), x, w))

eps = 1e-6
probe = x.detach().numpy().copy()
def loss_of(array):
    return F.softmax(mg.tensor(array) @ w.detach(), dim=-1)[0, 0].item()
plus, minus = probe.copy(), probe.copy()
plus[0, 1] += eps
minus[0, 1] -= eps
numeric = (loss_of(plus) - loss_of(minus)) / (2 * eps)
x.grad = None
F.softmax(x @ w, dim=-1)[0, 0].backward()
print(f"d softmax[0,0] / d x[0,1]: engine {x.grad[0, 1]:.8f}, finite difference {numeric:.8f}")
assert abs(x.grad[0, 1] - numeric) < 1e-7

# %% [markdown]
# ## 3. Your own op
#
# Every op in minigrad is a `Function`: a `forward` on plain arrays and a `backward` that turns
# $\partial L/\partial y$ into $\partial L/\partial x$. For $y = x^3$, $\partial L/\partial x =
# \partial L/\partial y \cdot 3x^2$. A wrong backward is caught at once.

# %%
class Cube(mg.Function):
    """y = x³;  dx = g · 3x²."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class WrongCube(Cube):
    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x           # forgot the square


x = mg.randn(5, dtype=mg.float64, requires_grad=True)
print("Cube passes gradcheck:", mg.gradcheck(Cube.apply, x))
try:
    mg.gradcheck(WrongCube.apply, x)
    raise RuntimeError("the wrong gradient was not caught")
except mg.GradcheckError as error:
    print("WrongCube is caught:\n ", str(error)[:160], "...")

# %% [markdown]
# ## 4. Training: cross-entropy, gradient descent, Adam, batch size
#
# Now a real job: two interleaving half-moons, 2-d points in two classes that no straight line
# separates. A network with two hidden layers maps each point to two logits $z$; the
# cross-entropy loss of a point with label $t$ is
#
# $$\ell = -\log \operatorname{softmax}(z)_t = -z_t + \log \textstyle\sum_c e^{z_c},$$
#
# averaged over a batch. Gradient descent moves every parameter against its gradient,
# $\theta \leftarrow \theta - \eta\, \partial \ell / \partial \theta$; Adam divides each step by a
# running estimate of the gradient's size, so every parameter moves at a similar pace.

# %%
X, y = mg.data.make_moons(n_samples=512, noise=0.1, random_state=0)
X = (X - X.mean(axis=0)) / X.std(axis=0)
split = 384
X_train, y_train, X_val, y_val = X[:split], y[:split], X[split:], y[split:]
print("train", X_train.shape, "validation", X_val.shape, "classes", np.bincount(y))


def make_model():
    return mg.nn.Sequential(mg.nn.Linear(2, 32), mg.nn.ReLU(),
                            mg.nn.Linear(32, 32), mg.nn.ReLU(),
                            mg.nn.Linear(32, 2))


def accuracy(model, X, y):
    with mg.no_grad():
        return float((model(mg.tensor(X)).numpy().argmax(axis=1) == y).mean())


def train(optimizer_name, batch_size, epochs=30, seed=0):
    mg.manual_seed(seed)
    model = make_model()
    if optimizer_name == "SGD":
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    loader = mg.data.DataLoader(mg.data.TensorDataset(X_train, y_train),
                                batch_size=batch_size, shuffle=True)
    losses = []
    for epoch in range(epochs):
        for inputs, targets in loader:
            loss = F.cross_entropy(model(inputs), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model, losses


runs = {}
for name, batch_size in [("SGD", 32), ("Adam", 32), ("Adam", 64), ("Adam", 128)]:
    model, losses = train(name, batch_size)
    runs[(name, batch_size)] = (model, losses)
    print(f"{name:4s} batch {batch_size:3d}: {len(losses):4d} steps, final loss "
          f"{np.mean(losses[-10:]):.3f}, validation accuracy {accuracy(model, X_val, y_val):.3f}")

for (name, batch_size), (model, losses) in runs.items():
    assert accuracy(model, X_val, y_val) >= 0.95, (name, batch_size)
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) / 5
final = {key: np.mean(losses[-10:]) for key, (model, losses) in runs.items()}
assert final[("Adam", 32)] < final[("Adam", 128)]   # same examples seen, more updates

# %% [markdown]
# All four runs learn the moons. Two things to notice in the curves below:
#
# - **Batch size**: the x-axis counts training examples seen, so every curve has read the same
#   data. Batch 32 turns it into four times as many updates as batch 128: each step is noisier,
#   but at the same cost in examples it gets much further. Larger batches buy smoother steps
#   (and, on a GPU, better hardware use), not progress per example.
# - **Optimizer**: plain SGD needs its learning rate tuned by hand (try 1.0 or 0.001);
#   Adam's per-parameter scaling makes a default like 0.01 work for most small networks.

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
for (name, batch_size), (model, losses) in runs.items():
    seen = np.arange(1, len(losses) + 1) * batch_size
    left.plot(seen, losses, label=f"{name}, batch {batch_size}", alpha=0.8)
left.set(xlabel="training examples seen", ylabel="cross-entropy", yscale="log",
         title="loss curves")
left.legend()

model = runs[("Adam", 32)][0]
grid = np.stack(np.meshgrid(np.linspace(-2.5, 2.5, 200), np.linspace(-2.5, 2.5, 200)), -1)
with mg.no_grad():
    p = F.softmax(model(mg.tensor(grid.reshape(-1, 2).astype(np.float32))), dim=-1)
right.contourf(grid[..., 0], grid[..., 1], p.numpy()[:, 1].reshape(200, 200), levels=20,
               cmap="coolwarm", alpha=0.6)
right.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=12)
right.set(title="Adam, batch 32: P(class 1)", xlabel="x₀", ylabel="x₁")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "moons.png"), dpi=90)
print("plots saved to", OUT)

# %% [markdown]
# ## Try it
#
# 1. Change SGD's learning rate to 1.0, then to 0.001. What happens to the loss curve?
# 2. Remove the hidden layers (`Linear(2, 2)` only): what accuracy can a straight line reach?
# 3. In `Cube.backward`, return `grad * 3 * x ** 2 + 1e-3`: is gradcheck strict enough to notice?
#
# ## What's next
#
# Lesson 02 goes from single numbers to tensors: broadcasting, and why its gradient is a sum.

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
