# %% [markdown]
# # Lesson 03 — A language model: the probability of the next character
#
# **Promise.** After this lesson you can say exactly what a language model computes, build one
# from counts, train one with gradient descent, and score both with cross-entropy and
# perplexity on the same held-out text — real Chinese news, the People's Daily. FORMULAS ids:
# **A1** (the language model) and, partly, **A4** (the text must first be cut into tokens;
# lesson 04 does that properly).
#
# Lesson 02 gave us tensors and their gradients. Now they get a job.
#
# ## What the article says (§2.1)
#
# > - **语言模型**：一种概率模型，用于预测下一个词或字符的概率。
#
# In English: a *language model* is a probability model used to predict the probability of the
# next word or character.
#
# That is the whole definition, and it is right. This lesson makes it concrete.

# %%
import math
import os
import time
from collections import Counter

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer.datasets import peoples_daily_text, split
from transformer.metrics import perplexity
from transformer.tokenizers import CharTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "03_language_model")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The formula
#
# A text is a sequence of tokens $x_1, x_2, \dots, x_N$ (here: characters). By the chain rule
# of probability, the probability of the whole text is a product of next-token probabilities:
#
# $$P(x_1, \dots, x_N) = \prod_{t=1}^{N} P(x_t \mid x_1, \dots, x_{t-1}) .$$
#
# A language model is anything that gives $P(x_t \mid x_{<t})$, a distribution over the $V$
# tokens of the vocabulary for every prefix. We score it on text it has **not** trained on by
# the average negative log-probability it gave to what really came next — the
# **cross-entropy**, in nats — and by its exponential, the **perplexity**:
#
# $$H = -\frac{1}{N} \sum_{t=1}^{N} \log P(x_t \mid x_{<t}), \qquad \mathrm{PPL} = e^{H} .$$
#
# A model that spreads its probability evenly over $k$ tokens has perplexity $k$: perplexity
# is "how many tokens the model is still choosing between", on average. Lower is better.
#
# ## 2. The text
#
# 19,484 lines of the People's Daily, January 1998 (`transformer.datasets`). We split by line:
# 80% to train on, 10% to choose settings with (validation), 10% kept for the final score
# (test); `split` also makes sure that no line occurs in two parts.

# %%
lines = peoples_daily_text()
train_lines, valid_lines, test_lines = split(lines, (0.8, 0.1, 0.1), seed=0)
print(f"{len(lines):,} lines -> train {len(train_lines):,}, valid {len(valid_lines):,}, "
      f"test {len(test_lines):,}")
assert not set(train_lines) & set(test_lines) and not set(train_lines) & set(valid_lines)
assert len(train_lines) > 7 * len(test_lines)

# %% [markdown]
# One token per character, and a vocabulary of the $V = 1500$ most frequent characters of the
# training text, counting the newline that separates lines (so the model also learns how lines
# start and end) and `<unk>` for every rarer character. Both models below use this same
# vocabulary, so their scores can be compared.

# %%
V = 1500
frequency = Counter("\n".join(train_lines))
frequency.pop("\n")
tokenizer = CharTokenizer(["\n"] + [c for c, _ in frequency.most_common(V - 2)])
assert tokenizer.vocab_size == V


def encode(part):
    return np.array(tokenizer.encode("\n" + "\n".join(part) + "\n"))


train, valid, test = encode(train_lines), encode(valid_lines), encode(test_lines)
unk = tokenizer.token_to_id("<unk>")
print(f"tokens: train {len(train):,}, valid {len(valid):,}, test {len(test):,}; "
      f"<unk> is {np.mean(test == unk):.1%} of the test text")
assert train.max() < V and np.mean(test == unk) < 0.05

# %% [markdown]
# ## 3. No context: the uniform and the unigram model
#
# Two baselines first. The **uniform** model gives every token $1/V$: its perplexity is $V$
# exactly. The **unigram** model ignores the prefix and predicts each character by how often
# it appears in the training text, $P(x_t) = (\mathrm{count}(x_t) + 1) / (N + V)$ (the + 1 so
# that no character is impossible).

# %%
def cross_entropy(probabilities):
    """H = mean of -log P over the predictions made (an array of the P given to the truth)."""
    return float(-np.mean(np.log(probabilities)))


unigram = np.bincount(train, minlength=V) + 1.0           # + 1: no character is impossible
unigram /= unigram.sum()
scores = {"uniform": math.log(V), "unigram": cross_entropy(unigram[test[1:]])}
for name, H in scores.items():
    print(f"{name:8} cross-entropy {H:.3f} nats, perplexity {perplexity(H):7.1f}")
assert abs(perplexity(scores["uniform"]) - V) < 1e-6
assert scores["unigram"] < scores["uniform"]

# %% [markdown]
# ## 4. A count-based bigram model
#
# The simplest model with context looks at the one previous character:
# $P(x_t \mid x_{<t}) \approx P(x_t \mid x_{t-1})$. Estimate it by counting, in the training
# text, how often $b$ follows $a$:
#
# $$P(b \mid a) = \frac{\mathrm{count}(a\,b) + \alpha}{\sum_{b'} \mathrm{count}(a\,b') + \alpha V} .$$
#
# $\alpha > 0$ is **add-α smoothing**: a pair never seen in training must not get probability
# 0, or a single unseen pair in the test text makes the cross-entropy infinite. We try a few
# values of $\alpha$ on the validation text and keep the best; the test text is used only once.

# %%
counts = np.zeros((V, V))                                 # counts[a, b]: b follows a
np.add.at(counts, (train[:-1], train[1:]), 1)


def bigram(alpha):
    """P[a, b] = P(next = b | previous = a), add-α smoothed; rows sum to 1."""
    return (counts + alpha) / (counts.sum(axis=1, keepdims=True) + alpha * V)


validation = {alpha: cross_entropy(bigram(alpha)[valid[:-1], valid[1:]])
              for alpha in (0.01, 0.03, 0.1, 0.3, 1.0)}
for alpha, H in validation.items():
    print(f"alpha {alpha:<4}  validation cross-entropy {H:.4f}")
best_alpha = min(validation, key=validation.get)
P_counts = bigram(best_alpha)
scores["bigram, counts"] = cross_entropy(P_counts[test[:-1], test[1:]])
print(f"best alpha {best_alpha}; test cross-entropy {scores['bigram, counts']:.3f}, "
      f"perplexity {perplexity(scores['bigram, counts']):.1f}")
np.testing.assert_allclose(P_counts.sum(axis=1), 1.0)
assert counts.sum() == len(train) - 1 and best_alpha in (0.03, 0.1, 0.3)
assert scores["bigram, counts"] < scores["unigram"] - 1.0       # context helps a lot

# %% [markdown]
# What the model has learned is a table of next-character distributions, one row per previous
# character. After 中 ("middle"), this newspaper most often continues with 国 (中国, China):

# %%
zhong = tokenizer.token_to_id("中")
top = np.argsort(P_counts[zhong])[::-1][:5]
print("P(next | 中):", "  ".join(f"{tokenizer.id_to_token(int(b))} {P_counts[zhong, b]:.3f}"
                                 for b in top))
assert tokenizer.id_to_token(int(top[0])) == "国"

# %% [markdown]
# ## 5. A neural bigram model, trained with minigrad
#
# Now the same question answered by a network. The model is a table of **logits**
# $W \in \mathbb{R}^{V \times V}$: the previous character $a$ picks row $W_a$ (an embedding
# lookup, lesson 05), and $P(\cdot \mid a) = \mathrm{softmax}(W_a)$. We train it by gradient
# descent on the training cross-entropy, the loss of lesson 01.
#
# A trick keeps training fast: the loss over all 1.5 million training positions only depends
# on which pair $(a, b)$ occurs how often, so it can be written with the count table,
#
# $$L(W) = -\frac{1}{N}\sum_{t} \log \mathrm{softmax}(W_{x_{t-1}})_{x_t}
#        = -\frac{1}{N}\sum_{a,b} \mathrm{count}(a\,b)\, \log \mathrm{softmax}(W_a)_b ,$$
#
# one (V, V) operation per step instead of 1.5 million rows. Every step sees all the data.
# The validation cross-entropy has the same form with the validation counts, so each step also
# measures it, and we keep the table that scored best (early stopping).

# %%
def pair_frequencies(ids):
    """count(a b) / (number of pairs): the share of each pair (a, b) in a token stream."""
    table = np.zeros((V, V))
    np.add.at(table, (ids[:-1], ids[1:]), 1)
    return table / table.sum()


mg.manual_seed(0)
W = mg.zeros(V, V, requires_grad=True)                    # all logits 0: starts uniform
train_pairs = mg.tensor((counts / counts.sum()).astype(np.float32))   # = pair_frequencies(train)
valid_pairs = pair_frequencies(valid)
optimizer = mg.optim.Adam([W], lr=0.1)

train_curve, valid_curve, best = [], [], (math.inf, None, -1)
for step in range(90):
    log_p = F.log_softmax(W, dim=1)                       # (V, V): row a is log P(· | a)
    loss = -(train_pairs * log_p).sum()
    train_curve.append(loss.item())
    valid_curve.append(float(-(valid_pairs * log_p.numpy()).sum()))
    if valid_curve[-1] < best[0]:
        best = (valid_curve[-1], W.numpy().copy(), step)   # the table after `step` updates
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(f"training cross-entropy {train_curve[0]:.3f} -> {train_curve[-1]:.3f}; best validation "
      f"{best[0]:.4f} after {best[2]} steps")
assert abs(train_curve[0] - math.log(V)) < 1e-4                  # W = 0 is the uniform model
assert train_curve[-1] < train_curve[0] - 2.5 and best[2] < 80   # learned, and stopped early

# %% [markdown]
# The test score of the neural model. Its prediction for position $t$ is
# $\mathrm{softmax}(W_{x_{t-1}})$; for one row that is exactly what `F.cross_entropy` computes
# from logits, which we check on the first thousand test positions.

# %%
W_best = best[1]
log_p = F.log_softmax(mg.tensor(W_best), dim=1).numpy()
scores["bigram, neural"] = float(-log_p[test[:-1], test[1:]].mean())
first = F.cross_entropy(mg.tensor(W_best[test[:1000]]), mg.tensor(test[1:1001])).item()
print(f"neural bigram: test cross-entropy {scores['bigram, neural']:.3f}, "
      f"perplexity {perplexity(scores['bigram, neural']):.1f}")
assert abs(first - float(-log_p[test[:1000], test[1:1001]].mean())) < 1e-4
assert abs(scores["bigram, neural"] - scores["bigram, counts"]) < 0.01

# %% [markdown]
# The two bigram models score the same to within a hundredth of a nat, and for a good reason:
# the count table (with $\alpha = 0$) is the exact minimum of the training loss, the
# maximum-likelihood estimate. Gradient descent walks towards the same answer. Training longer
# would fit the training pairs ever better and the validation text worse — the validation
# curve below turns up — so early stopping plays the role that smoothing plays for counts.
# The neural model's real advantage is elsewhere: the same recipe (logits from a network,
# softmax, cross-entropy, gradient descent) works for a context of 1,000 characters, where no
# table of counts could ever be filled.

# %%
P_neural = np.exp(log_p)
top_neural = np.argsort(P_neural[zhong])[::-1][:5]
print("P(next | 中), neural:", "  ".join(
    f"{tokenizer.id_to_token(int(b))} {P_neural[zhong, b]:.3f}" for b in top_neural))
assert top_neural[0] == top[0]                          # the same favourite, 国

# %% [markdown]
# ## 6. More context: a trigram model
#
# One more character of context, $P(x_t \mid x_{t-2}, x_{t-1})$, already helps. With
# $V^2 = 2.25$ million possible contexts, most trigrams are never seen in training, so we mix
# the trigram estimate with the bigram (**interpolation**), choosing the weight $\lambda$ on the
# validation text:
#
# $$P(c \mid a\,b) = \lambda\, \frac{\mathrm{count}(a\,b\,c)}{\mathrm{count}(a\,b)} + (1-\lambda)\, P(c \mid b) .$$

# %%
def ngram_keys(ids, n):
    """Each window of n ids as one integer (base V)."""
    key = np.zeros(len(ids) - n + 1, dtype=np.int64)
    for k in range(n):
        key = key * V + ids[k:len(ids) - n + 1 + k]
    return key


def count_lookup(keys, table_keys, table_counts):
    """How often each key occurs in the training text (0 for an unseen one)."""
    at = np.minimum(np.searchsorted(table_keys, keys), len(table_keys) - 1)
    return np.where(table_keys[at] == keys, table_counts[at], 0)


tri_keys, tri_counts = np.unique(ngram_keys(train, 3), return_counts=True)
ctx_keys, ctx_counts = np.unique(ngram_keys(train[:-1], 2), return_counts=True)


def trigram_parts(ids):
    """For t = 2..N-1: count(x_{t-2} x_{t-1} x_t) / count(x_{t-2} x_{t-1}) (0 for an unseen
    context) and the bigram's P(x_t | x_{t-1}); the model mixes them with weight lambda."""
    n_abc = count_lookup(ngram_keys(ids, 3), tri_keys, tri_counts)
    n_ab = count_lookup(ngram_keys(ids[:-1], 2), ctx_keys, ctx_counts)
    return np.where(n_ab > 0, n_abc / np.maximum(n_ab, 1), 0.0), P_counts[ids[1:-1], ids[2:]]


def trigram_cross_entropy(parts, lam):
    p_tri, p_bi = parts
    return cross_entropy(lam * p_tri + (1 - lam) * p_bi)


valid_parts = trigram_parts(valid)
lambdas = (0.3, 0.4, 0.5, 0.6, 0.7)
best_lambda = min(lambdas, key=lambda lam: trigram_cross_entropy(valid_parts, lam))
scores["trigram, counts"] = trigram_cross_entropy(trigram_parts(test), best_lambda)
seen = np.mean(count_lookup(ngram_keys(test, 3), tri_keys, tri_counts) > 0)
print(f"{len(tri_keys):,} distinct trigrams in training; {seen:.1%} of the test trigrams "
      f"were seen; lambda {best_lambda}")
print(f"trigram: test cross-entropy {scores['trigram, counts']:.3f}, "
      f"perplexity {perplexity(scores['trigram, counts']):.1f}")
assert scores["trigram, counts"] < scores["bigram, counts"] - 0.2
assert len(tri_keys) < 0.01 * V ** 3 and seen < 0.9

# %% [markdown]
# ## 7. All the scores, on the same test text

# %%
print(f"{'model':18} {'cross-entropy':>14} {'perplexity':>11}")
for name, H in scores.items():
    print(f"{name:18} {H:14.3f} {perplexity(H):11.1f}")
order = ["uniform", "unigram", "bigram, counts", "trigram, counts"]
assert all(scores[a] > scores[b] for a, b in zip(order, order[1:]))
for name, H in scores.items():
    assert abs(perplexity(H) - math.exp(H)) < 1e-9 * math.exp(H)
assert 500 < perplexity(scores["unigram"]) < 600 and perplexity(scores["bigram, counts"]) < 100
assert 55 < perplexity(scores["trigram, counts"]) < 70

# %% [markdown]
# Each character of context cuts the perplexity a lot: from choosing among 1,500 characters
# (uniform), to about 540 with character frequencies alone, to under 100 with one character
# of context and about 60 with two.
#
# A language model can also **write**: draw $x_1$ from $P(\cdot \mid \text{newline})$, then
# $x_2$ from $P(\cdot \mid x_1)$, and so on. Here are 40 characters from the count bigram —
# local pairs look like news, the whole does not, because the model never sees more than one
# character back.

# %%
rng = np.random.default_rng(0)
token, sample = tokenizer.token_to_id("\n"), []
for _ in range(40):
    token = int(rng.choice(V, p=P_counts[token]))
    sample.append(token)
text = tokenizer.decode(sample)
print("bigram sample:", text.replace("\n", "⏎"))
assert len(sample) == 40 and all(0 <= t < V for t in sample)

# %% [markdown]
# ## 8. See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
steps = np.arange(len(train_curve))
left.plot(steps, train_curve, label="neural bigram, training")
left.plot(steps, valid_curve, label="neural bigram, validation")
left.axhline(validation[best_alpha], color="k", ls="--", lw=0.8,
             label=f"count bigram (α={best_alpha}), validation")
left.axvline(best[2], color="grey", ls=":", lw=0.8, label="early stop")
left.set(xlabel="Adam steps (each sees all training pairs)", ylabel="cross-entropy (nats)",
         ylim=(3.9, 6.0), title="the neural bigram learns what the counts know")
left.legend(fontsize=8)
names = list(scores)
right.bar(names, [perplexity(scores[n]) for n in names], color="#88c0d0")
for i, n in enumerate(names):
    right.text(i, perplexity(scores[n]), f"{perplexity(scores[n]):.0f}", ha="center",
               va="bottom", fontsize=8)
right.set(yscale="log", ylabel="test perplexity (log scale)",
          title="People's Daily, held-out test text")
right.tick_params(axis="x", labelrotation=20, labelsize=8)
fig.tight_layout()
fig.savefig(os.path.join(OUT, "language_models.png"), dpi=90)
print("saved", os.path.join(OUT, "language_models.png"))

# %% [markdown]
# ## Try it
#
# 1. Set $\alpha = 0$ in `bigram`: what happens to the test cross-entropy, and why?
# 2. Train the neural bigram for 300 steps instead of 90 and watch the validation curve.
#    Add weight decay (`mg.optim.AdamW(..., weight_decay=...)`): does it replace early stopping?
# 3. Change $V$ to 500 or 3,000. Why can perplexities computed with different vocabularies not
#    be compared?
# 4. Exercises: `python -m lessons check ex11` — write the smoothed bigram table and its
#    perplexity yourself; `python -m lessons check ex03` — the backward of the cross-entropy
#    the neural bigram was trained with.
#
# ## What's next
#
# Lesson 04 looks harder at the first step we took for granted here: cutting text into tokens.
#
# Next: [Lesson 04 — Cleaning, tokenization and part-of-speech tags, in Chinese](04_tokenization.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
