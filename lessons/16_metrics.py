# %% [markdown]
# # Lesson 16 — Metrics: what a score measures, and what it hides
#
# **Promise.** You will compute accuracy, precision, recall, F1 (binary, macro, micro), the
# confusion matrix, BLEU and perplexity by hand, check each against `transformer.metrics`, and
# see one case where each of them misleads. FORMULAS id: **F1**.
#
# ## What the article says (§9.5)
#
# > 评估LLM的性能通常使用指标如准确率、召回率、F1分数等。具体指标取决于任务类型。例如，在文本分类任务中，可以使用准确率来衡量模型性能；在机器翻译任务中，可以使用BLEU分数来评估翻译质量。
#
# In English: the performance of an LLM is usually evaluated with metrics such as accuracy,
# recall and the F1 score; which metric depends on the task. For example, in text
# classification accuracy can measure the model's performance; in machine translation the BLEU
# score evaluates the quality of a translation.
#
# A word on the words: 准确率 usually means *accuracy*, but many Chinese texts use it for
# *precision* (精确率, 查准率) — so when you read 准确率 next to 召回率 (recall, 查全率), check
# which is meant. Recall and F1 are built from precision, so this lesson does precision too.
# The article names no metric for language models themselves; we add the standard one,
# **perplexity**.

# %%
import json
import math
import os
import textwrap
import time
from collections import Counter

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer import metrics

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "16_metrics")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("metrics:", ", ".join(metrics.__all__), "— plots go to", OUT)

# %% [markdown]
# ## 1. Binary classification: the four counts
#
# A sentiment classifier labels 12 reviews positive (1) or negative (0). Every prediction
# falls in one of four boxes: a true positive (TP: predicted 1, is 1), a false positive (FP:
# predicted 1, is 0), a false negative (FN: predicted 0, is 1) or a true negative (TN).
#
# $$\text{accuracy} = \frac{TP + TN}{N}, \quad P = \frac{TP}{TP + FP}, \quad
#   R = \frac{TP}{TP + FN}, \quad F_1 = \frac{2PR}{P + R} = \frac{2\,TP}{2\,TP + FP + FN}.$$
#
# Precision asks "of what I flagged, how much was right?"; recall asks "of what was there, how
# much did I find?". F1 is their harmonic mean: it is high only when both are.

# %%
target = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0])       # (N,) the true labels
pred = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0])         # (N,) the classifier's labels
TP = int(np.sum((pred == 1) & (target == 1)))
FP = int(np.sum((pred == 1) & (target == 0)))
FN = int(np.sum((pred == 0) & (target == 1)))
TN = int(np.sum((pred == 0) & (target == 0)))
acc_hand = (TP + TN) / len(target)
p_hand, r_hand = TP / (TP + FP), TP / (TP + FN)
f1_hand = 2 * p_hand * r_hand / (p_hand + r_hand)
print(f"TP={TP} FP={FP} FN={FN} TN={TN}")
print(f"by hand:  accuracy {acc_hand:.4f}  precision {p_hand:.4f}  recall {r_hand:.4f}  "
      f"F1 {f1_hand:.4f}")

acc = metrics.accuracy(pred, target)
p, r, f1 = metrics.precision_recall_f1(pred, target, average="binary")
print(f"library:  accuracy {acc:.4f}  precision {p:.4f}  recall {r:.4f}  F1 {f1:.4f}")
assert TP + FP + FN + TN == len(target)
assert np.isclose(acc, acc_hand) and np.allclose([p, r, f1], [p_hand, r_hand, f1_hand])
assert np.isclose(f1_hand, 2 * TP / (2 * TP + FP + FN))

# %% [markdown]
# The **confusion matrix** holds all four counts: row $i$ is the true class, column $j$ the
# predicted one, $M_{ij} = \#\{\text{target} = i, \text{pred} = j\}$; the diagonal holds the
# hits. For two classes, $M = \begin{pmatrix} TN & FP \\ FN & TP \end{pmatrix}$.

# %%
M_hand = np.zeros((2, 2), dtype=int)
for t, y in zip(target, pred):
    M_hand[t, y] += 1
M = metrics.confusion_matrix(pred, target)
print("confusion matrix (rows: true 0, 1; columns: predicted 0, 1):\n", M)
np.testing.assert_array_equal(M, M_hand)
np.testing.assert_array_equal(M, [[TN, FP], [FN, TP]])

# %% [markdown]
# ## 2. Several classes: macro and micro averages
#
# A news classifier sorts 15 articles into sport (0), finance (1) and tech (2). Each class $c$
# has its own $P_c, R_c, F1_c$ (that class against the rest). Two ways to make one number:
#
# - **macro**: the plain mean over the $K$ classes, $\frac{1}{K}\sum_c F1_c$ — every class
#   weighs the same, however rare;
# - **micro**: pool the counts first, $P = \sum_c TP_c / \sum_c (TP_c + FP_c)$. With one
#   label per item every mistake is one FP (for the predicted class) and one FN (for the true
#   class), so micro P = micro R = micro F1 = accuracy.

# %%
news_target = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2])
news_pred = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 2, 2, 1, 1])
K = 3
M3 = metrics.confusion_matrix(news_pred, news_target)
tp = np.diag(M3)
fp, fn = M3.sum(axis=0) - tp, M3.sum(axis=1) - tp           # column and row totals minus hits
p_c, r_c = tp / (tp + fp), tp / (tp + fn)
f1_c = 2 * p_c * r_c / (p_c + r_c)
print("confusion matrix:\n", M3)
for c, name in enumerate(["sport", "finance", "tech"]):
    print(f"  {name:8s} P {p_c[c]:.3f}  R {r_c[c]:.3f}  F1 {f1_c[c]:.3f}")
macro_hand = (p_c.mean(), r_c.mean(), f1_c.mean())
micro_p = tp.sum() / (tp + fp).sum()
micro_r = tp.sum() / (tp + fn).sum()
macro = metrics.precision_recall_f1(news_pred, news_target, average="macro")
micro = metrics.precision_recall_f1(news_pred, news_target, average="micro")
print(f"macro: P {macro.precision:.4f} R {macro.recall:.4f} F1 {macro.f1:.4f}")
print(f"micro: P {micro.precision:.4f} R {micro.recall:.4f} F1 {micro.f1:.4f}   "
      f"accuracy {metrics.accuracy(news_pred, news_target):.4f}")
assert M3.shape == (K, K) and M3.sum() == len(news_target)
assert np.allclose(macro, macro_hand)
assert np.allclose(micro, [micro_p, micro_r, 2 * micro_p * micro_r / (micro_p + micro_r)])
assert np.allclose(micro, metrics.accuracy(news_pred, news_target))
assert not np.isclose(macro.f1, micro.f1)            # the small tech class pulls macro down

# %% [markdown]
# ### What accuracy hides: class imbalance
#
# Take 1,000 emails of which 20 are spam, and a "classifier" that always says *not spam*.
# Its accuracy is 98%. Its recall of spam is 0 and so is its F1: it never finds one. When one
# class is rare, report precision, recall and F1 of the rare class (or macro F1), not accuracy.

# %%
spam = np.zeros(1000, dtype=int)
spam[:20] = 1
lazy = np.zeros(1000, dtype=int)                         # always "not spam"
lazy_acc = metrics.accuracy(lazy, spam)
lazy_prf = metrics.precision_recall_f1(lazy, spam)
print(f"always 'not spam': accuracy {lazy_acc:.3f}, spam precision {lazy_prf.precision:.1f}, "
      f"recall {lazy_prf.recall:.1f}, F1 {lazy_prf.f1:.1f}")
assert np.isclose(lazy_acc, 1 - spam.mean()) and lazy_acc > 0.95
assert lazy_prf == (0.0, 0.0, 0.0)            # P = 0/0 counts as 0 (scikit-learn's rule)

# %% [markdown]
# ## 3. BLEU: n-gram overlap with a reference translation
#
# BLEU compares a machine translation (the *hypothesis*) with a human one (the *reference*),
# token by token, in four steps:
#
# 1. **Modified n-gram precision** $p_n$ for $n = 1..4$: each hypothesis n-gram counts as a
#    match at most as often as it occurs in the reference (clipping), summed over the corpus:
#    $$p_n = \frac{\sum_{\text{n-gram}} \min(\text{count}_{hyp}, \text{count}_{ref})}
#                 {\sum_{\text{n-gram}} \text{count}_{hyp}}.$$
# 2. **Brevity penalty**: precision alone rewards saying little, so with $c$ hypothesis tokens
#    and $r$ reference tokens, $BP = 1$ if $c \ge r$, else $e^{1 - r/c}$.
# 3. **Geometric mean** of the four precisions, weights $w_n = 1/4$:
#    $$\text{BLEU} = BP \cdot \exp\Big(\sum_{n=1}^{4} \tfrac14 \log p_n\Big) \quad (\times 100).$$
#
# First, why clipping: a hypothesis that repeats one right word.

# %%
def ngrams(tokens, n):
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


silly, ref = "the the the the the the the".split(), "the cat is on the mat".split()
unclipped = sum(c for g, c in ngrams(silly, 1).items() if g in ngrams(ref, 1)) / len(silly)
clipped = sum(min(c, ngrams(ref, 1)[g]) for g, c in ngrams(silly, 1).items()) / len(silly)
print(f"'the' × 7 against '{' '.join(ref)}': unigram precision {unclipped:.3f} unclipped, "
      f"{clipped:.3f} clipped (2/7)")
assert unclipped == 1.0 and np.isclose(clipped, 2 / 7)
assert np.isclose(metrics.corpus_bleu([" ".join(silly)], [" ".join(ref)], max_n=1)
                  .precisions[0], 100 * clipped)

# %% [markdown]
# Now a corpus of two translations, by hand, step by step.

# %%
hypotheses = ["the cat is sitting on the mat", "a dog is in the garden"]
references = ["the cat is sitting on the red mat", "a dog is playing in the garden"]
hyp_tokens = [h.split() for h in hypotheses]
ref_tokens = [r.split() for r in references]

matches, totals = [], []
for n in range(1, 5):
    matches.append(sum(sum(min(c, ngrams(rt, n)[g]) for g, c in ngrams(ht, n).items())
                       for ht, rt in zip(hyp_tokens, ref_tokens)))
    totals.append(sum(len(ht) - n + 1 for ht in hyp_tokens))
p_n = [m / t for m, t in zip(matches, totals)]
c = sum(len(ht) for ht in hyp_tokens)
r = sum(len(rt) for rt in ref_tokens)
bp = 1.0 if c >= r else math.exp(1 - r / c)
geometric_mean = math.exp(sum(math.log(p) for p in p_n) / 4)
bleu_hand = 100 * bp * geometric_mean
for n in range(4):
    print(f"  p_{n + 1} = {matches[n]}/{totals[n]} = {p_n[n]:.4f}")
print(f"c = {c}, r = {r}, BP = {bp:.4f}, geometric mean {geometric_mean:.4f}, "
      f"BLEU = {bleu_hand:.2f}")

bleu = metrics.corpus_bleu(hypotheses, references)
print("library:", bleu)
assert all(m > 0 for m in matches)                   # no smoothing needed: the same formula
assert np.allclose(bleu.precisions, [100 * p for p in p_n])
assert (bleu.sys_len, bleu.ref_len) == (c, r) and np.isclose(bleu.bp, bp)
assert np.isclose(bleu.score, bleu_hand) and bp < 1  # each hypothesis is a word short

# %% [markdown]
# ### What BLEU hides: tokenization, and meaning
#
# BLEU counts *tokens*, and the standard tokenizer (`13a`, WMT's) splits on spaces and
# punctuation. Chinese has no spaces: the whole sentence is one token, so a translation with a
# single character changed has no matching n-gram at all and scores 0, the same as nonsense.
# Score Chinese per character (`tokenize="zh"`, sacrebleu's rule) or after word segmentation.

# %%
reference_zh = "我是一个程序员，喜欢编程和解决问题"
hypothesis_zh = "我是一名程序员，喜欢编程和解决问题"       # 个 -> 名: same meaning
print("13a tokens:", metrics.tokenize_bleu(hypothesis_zh))
print("zh tokens: ", " ".join(metrics.tokenize_bleu(hypothesis_zh, tokenize="zh")))
bleu_13a = metrics.corpus_bleu([hypothesis_zh], [reference_zh])
bleu_zh = metrics.corpus_bleu([hypothesis_zh], [reference_zh], tokenize="zh")
print(f"BLEU with 13a: {bleu_13a.score:.2f}   with zh (per character): {bleu_zh.score:.2f}")
assert len(metrics.tokenize_bleu(hypothesis_zh)) == 1 and bleu_13a.score == 0.0
assert len(metrics.tokenize_bleu(hypothesis_zh, tokenize="zh")) == len(hypothesis_zh)
assert 50 < bleu_zh.score < 100

# %% [markdown]
# Even tokenized well, BLEU measures overlap, not meaning: 我是一名程序员 loses points for a
# synonym, and a reordering that changes the meaning can keep most n-grams. Report BLEU on a
# whole test corpus (it is a corpus statistic — sentence-level BLEU is noisy), say which
# tokenizer you used, and read some outputs.
#
# ## 4. Perplexity: the language model's own metric
#
# A language model assigns each next token a probability. Its cross-entropy on held-out text
# is the mean negative log-likelihood per token, and perplexity is its exponential:
#
# $$\text{CE} = -\frac{1}{N}\sum_{t=1}^{N} \log p(x_t \mid x_{<t}), \qquad
#   \text{PPL} = e^{\text{CE}}.$$
#
# A model that spreads its probability evenly over $k$ tokens has perplexity $k$: perplexity
# is the number of choices the model is, in effect, still hesitating between. We fit a
# character bigram model (counts with add-one smoothing) on some Python documentation and
# score held-out text with `F.cross_entropy` on its log-probabilities.

# %%
text = json.__doc__ + textwrap.__doc__ + math.__doc__ + Counter.__doc__
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
ids = np.array([stoi[ch] for ch in text])
V = len(chars)
split = int(0.8 * len(ids))
train_ids, held_out = ids[:split], ids[split:]

counts = np.ones((V, V))                                      # add-one smoothing
np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1)
log_probs = np.log(counts / counts.sum(axis=1, keepdims=True))   # (V, V): log p(next | prev)
logits = mg.tensor(log_probs[held_out[:-1]])                  # (N, V), one row per position
next_ids = mg.tensor(held_out[1:])                            # (N,)
ce = F.cross_entropy(logits, next_ids).item()
ppl = metrics.perplexity(ce)
ce_hand = -np.mean(log_probs[held_out[:-1], held_out[1:]])
print(f"{len(ids)} characters, V = {V}; held-out: {len(held_out)}")
print(f"bigram model: cross-entropy {ce:.4f} nats/char, perplexity {ppl:.2f} "
      f"(uniform model: {metrics.perplexity(math.log(V)):.1f} = V)")
assert np.isclose(ce, ce_hand, rtol=1e-5) and np.isclose(ppl, math.exp(ce_hand), rtol=1e-5)
assert np.isclose(metrics.perplexity(math.log(V)), V)
assert 1 < ppl < V

# %% [markdown]
# ### What perplexity hides: the unit
#
# Perplexity is "per token", so it depends on what a token is. The same model, with the same
# total log-likelihood of the held-out text, has a per-character perplexity and a much larger
# per-word one: $\text{PPL}_{word} = e^{\text{total NLL} / N_{words}}$. Compare models only on
# the same text with the same tokenizer (or convert to bits per character). The per-word
# number is huge because each word spans several characters and this weak model pays for
# every one of them.

# %%
total_nll = ce * len(next_ids)
n_words = len("".join(chars[i] for i in held_out[1:]).split())
ppl_word = math.exp(total_nll / n_words)
print(f"the same model: {ppl:.2f} per character, {ppl_word:.1f} per word "
      f"({len(next_ids)} characters, {n_words} words); {ce / math.log(2):.3f} bits per character")
assert np.isclose(ppl_word, ppl ** (len(next_ids) / n_words))
assert ppl_word > ppl

# %% [markdown]
# ## See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, middle, right) = plt.subplots(1, 3, figsize=(14, 4))
left.imshow(M3, cmap="Blues")
for i in range(K):
    for j in range(K):
        left.text(j, i, str(M3[i, j]), ha="center", va="center",
                  color="white" if M3[i, j] > M3.max() / 2 else "black")
names = ["sport", "finance", "tech"]
left.set_xticks(range(K), names)
left.set_yticks(range(K), names)
left.set(xlabel="predicted", ylabel="true", title="confusion matrix (news)")

middle.bar([f"p{n + 1}" for n in range(4)] + ["BP", "BLEU/100"],
           list(p_n) + [bp, bleu_hand / 100], color=["C0"] * 4 + ["C1", "C2"])
middle.set(ylim=(0, 1.05), title="BLEU: n-gram precisions, brevity penalty")

scores = {"accuracy": lazy_acc, "precision": lazy_prf.precision, "recall": lazy_prf.recall,
          "F1": lazy_prf.f1}
right.bar(list(scores), list(scores.values()), color="C3")
right.set(ylim=(0, 1.05), title="always 'not spam' (2% spam)")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "metrics.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "metrics.png"))

# %% [markdown]
# ## Try it
#
# 1. In section 1, make the classifier flag every review as positive: what happens to P, R, F1?
# 2. Add a second reference to each BLEU hypothesis (`references=[[r1, r2], ...]`): which
#    precisions rise, and why can a clipped precision never fall? Can BLEU itself fall? (Hint:
#    with several references, $r$ is the reference length closest to the hypothesis's.)
# 3. Smooth the bigram model with 0.01 instead of 1: does held-out perplexity go up or down?
# 4. Exercises: BLEU by hand — `python -m lessons check ex09`; a bigram model and its
#    perplexity — `python -m lessons check ex11`.
#
# ## What's next
#
# Lesson 17 measures the cost side: parameters, FLOPs and time of the models built here.
#
# Next: [Lesson 17 — What training costs, what makes it faster, what makes it better](17_performance.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
