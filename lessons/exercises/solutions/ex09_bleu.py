"""Reference solution of exercise 09 — BLEU: clipped n-gram precisions and the brevity penalty.

Taught in lesson 16; FORMULAS F1.

Task: write the three functions below for one hypothesis (a list of tokens) and one reference.

1. ``modified_precision(hypothesis, reference, n)`` -> (matched, total):
   total = the number of n-grams in the hypothesis (len − n + 1, or 0);
   matched = Σ over the distinct n-grams of the hypothesis of min(count in hypothesis,
   count in reference). The min is the clipping: "the the the the" against "the cat" matches
   "the" once, not four times.
2. ``brevity_penalty(c, r)``: 1 if c ≥ r, else exp(1 − r/c) (c: hypothesis length, r:
   reference length). Without it, a one-word hypothesis that appears in the reference would
   score perfectly.
3. ``bleu(hypothesis, reference, max_n=4)`` = BP · exp(Σ_{n=1..N} (1/N) log p_n), with
   p_n = matched_n / total_n: the geometric mean of the precisions times the penalty, in 0..1
   (sacrebleu prints it × 100). If some p_n is 0 (or the hypothesis has no n-gram of some
   order), return 0.0.

Example: hypothesis "the cat sat on the mat", reference "the cat sat on a mat":
p_1 = 5/6, p_2 = 3/5, p_3 = 2/4, p_4 = 1/3, BP = 1, BLEU ≈ 0.5373.

Hint: ``collections.Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))``
counts the n-grams; ``counter_a & counter_b`` keeps the minimum of each count.

Check your work:
    python -m lessons check ex09 --solution
"""
import math
from collections import Counter


def modified_precision(hypothesis, reference, n):
    """(matched, total): the clipped n-gram matches of hypothesis in reference, and its n-grams."""
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hyp = ngrams(hypothesis)
    return sum((hyp & ngrams(reference)).values()), sum(hyp.values())


def brevity_penalty(c, r):
    """1 if the hypothesis (length c) is as long as the reference (length r) or longer, else
    exp(1 − r/c)."""
    return 1.0 if c >= r else math.exp(1 - r / c)


def bleu(hypothesis, reference, max_n=4):
    """BP · geometric mean of p_1..p_max_n, in 0..1 (0 when some p_n is 0)."""
    log_sum = 0.0
    for n in range(1, max_n + 1):
        matched, total = modified_precision(hypothesis, reference, n)
        if matched == 0:
            return 0.0
        log_sum += math.log(matched / total) / max_n
    return brevity_penalty(len(hypothesis), len(reference)) * math.exp(log_sum)
