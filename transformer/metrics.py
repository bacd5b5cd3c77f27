"""Evaluation metrics (FORMULAS F1): classification scores, perplexity, and corpus BLEU.

Plain NumPy and Python: nothing here needs gradients. Labels may be lists, NumPy arrays or
minigrad Tensors. Arguments come in the order ``(pred, target)`` (scikit-learn's is
``(y_true, y_pred)``); the numbers are scikit-learn's and sacrebleu's, which the tests use as
oracles when they are installed.

    accuracy             mean(pred == target)
    precision_recall_f1  P = TP/(TP+FP), R = TP/(TP+FN), F1 = 2PR/(P+R); binary, macro, micro
    confusion_matrix     M[i, j] = #{true class i, predicted class j}
    perplexity           exp(mean negative log-likelihood in nats)
    corpus_bleu          BP · exp(Σ_n (1/N) log p_n), sacrebleu's defaults
"""
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from minigrad.errors import DTypeError, ShapeError

__all__ = ["accuracy", "precision_recall_f1", "PrecisionRecallF1", "confusion_matrix",
           "perplexity", "corpus_bleu", "BLEUScore", "tokenize_bleu"]


def _to_numpy(x):
    """A list, NumPy array or minigrad Tensor as a NumPy array."""
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x)


def _label_pair(pred, target, fn):
    """pred and target as two flat label arrays of one length, or a typed error from ``fn``."""
    p, t = _to_numpy(pred), _to_numpy(target)
    if p.shape != t.shape:
        raise ShapeError(f"{fn}: pred has shape {p.shape} ({p.size} labels) but target has shape "
                         f"{t.shape} ({t.size} labels); pass class ids, e.g. logits.argmax(-1)")
    if p.size == 0:
        raise ValueError(f"{fn}: pred and target are empty; there is nothing to score")
    for name, a in (("pred", p), ("target", t)):
        if a.dtype.kind == "f" and not np.all(a == np.round(a)):
            raise DTypeError(f"{fn}: {name} holds non-integer floats (probabilities?); pass class "
                             f"ids, e.g. probs.argmax(-1) or probs > 0.5")
    return p.reshape(-1), t.reshape(-1)


def accuracy(pred, target) -> float:
    """The fraction of labels predicted right: mean(pred == target), over every element.

    >>> accuracy([0, 1, 1, 2], [0, 1, 2, 2])
    0.75
    """
    p, t = _label_pair(pred, target, "accuracy")
    return float(np.mean(p == t))


def _counts(p, t, labels):
    """The confusion matrix over ``labels`` (sorted): rows the true class, columns the predicted."""
    k = len(labels)
    pairs = np.searchsorted(labels, t) * k + np.searchsorted(labels, p)
    return np.bincount(pairs, minlength=k * k).reshape(k, k)


def confusion_matrix(pred, target, num_classes=None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: ``M[i, j]`` = #{target = i, pred = j}.

    Rows are the true classes and columns the predicted ones, as in scikit-learn; the diagonal
    holds the hits. The classes are ``0 .. num_classes-1`` when given (labels outside are an
    error), else the sorted labels present in pred or target (scikit-learn's default).

    >>> confusion_matrix([0, 2, 1, 2], [0, 1, 1, 2])   # the true 1 predicted as 2: M[1, 2]
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 0, 1]])
    >>> confusion_matrix([1, 1], [1, 1], num_classes=3)
    array([[0, 0, 0],
           [0, 2, 0],
           [0, 0, 0]])
    """
    p, t = _label_pair(pred, target, "confusion_matrix")
    if num_classes is None:
        return _counts(p, t, np.union1d(p, t))
    if not isinstance(num_classes, (int, np.integer)) or isinstance(num_classes, bool) \
            or num_classes < 1:
        raise ValueError(f"confusion_matrix: num_classes must be a positive int, "
                         f"got {num_classes!r}")
    for name, a in (("pred", p), ("target", t)):
        bad = a[(a < 0) | (a >= num_classes)] if a.dtype.kind in "iufb" else a
        if bad.size:
            raise ValueError(f"confusion_matrix: {name} holds {bad[0]!r}, not a class id in "
                             f"0..{num_classes - 1} (num_classes={num_classes})")
    return _counts(p.astype(np.int64), t.astype(np.int64), np.arange(num_classes))


class PrecisionRecallF1(NamedTuple):
    """What ``precision_recall_f1`` returns; unpack it or read the fields."""
    precision: float
    recall: float
    f1: float


def _ratio(num, den):
    """num / den, and 0 where den is 0 (no warning)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision_recall_f1(pred, target, average="binary", pos_label=1) -> PrecisionRecallF1:
    """Precision, recall and F1 of class predictions, as scikit-learn's ``zero_division=0``.

    Per class, from the counts of true positives, false positives and false negatives:

        P = TP / (TP + FP)     of the items predicted as the class, the fraction in it
        R = TP / (TP + FN)     of the items of the class, the fraction found
        F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN)

    A ratio with a zero denominator (a class never predicted has TP + FP = 0) counts as 0,
    silently. ``average`` says which class or classes:

    - ``"binary"``: the class ``pos_label`` only; pred and target may hold at most two labels.
    - ``"macro"``: the plain mean of each class's P, R and F1 (every class weighs the same;
      macro F1 is the mean of the F1s, not the F1 of the mean P and R).
    - ``"micro"``: P, R, F1 of the counts pooled over the classes. With one label per item,
      every error is one FP and one FN, so micro P = R = F1 = accuracy.

    The classes are the labels present in pred or target.

    >>> pred, target = [1, 1, 0, 0, 1, 1], [1, 0, 0, 1, 1, 1]   # TP = 3, FP = 1, FN = 1
    >>> precision_recall_f1(pred, target)
    PrecisionRecallF1(precision=0.75, recall=0.75, f1=0.75)
    >>> p, r, f1 = precision_recall_f1([0, 2, 1, 2], [0, 1, 1, 2], average="macro")
    >>> round(p, 4), round(r, 4), round(f1, 4)   # P (1, 1, 1/2), R (1, 1/2, 1), F1 (1, 2/3, 2/3)
    (0.8333, 0.8333, 0.7778)
    >>> precision_recall_f1([0, 2, 1, 2], [0, 1, 1, 2], average="micro")
    PrecisionRecallF1(precision=0.75, recall=0.75, f1=0.75)
    """
    p, t = _label_pair(pred, target, "precision_recall_f1")
    if average not in ("binary", "macro", "micro"):
        raise ValueError(f"precision_recall_f1: average must be 'binary', 'macro' or 'micro', "
                         f"got {average!r}")
    labels = np.union1d(p, t)
    m = _counts(p, t, labels)
    tp = np.diag(m)
    fp, fn = m.sum(axis=0) - tp, m.sum(axis=1) - tp
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(f"precision_recall_f1: average='binary' needs at most two labels, "
                             f"found {len(labels)}: {labels.tolist()}; use 'macro' or 'micro'")
        hit = labels == pos_label
        if len(labels) == 2 and not hit.any():
            raise ValueError(f"precision_recall_f1: pos_label={pos_label!r} is not one of the "
                             f"labels {labels.tolist()}")
        tp, fp, fn = tp[hit].sum(), fp[hit].sum(), fn[hit].sum()   # zeros if absent
    elif average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return PrecisionRecallF1(float(np.mean(precision)), float(np.mean(recall)), float(np.mean(f1)))


def perplexity(mean_nll) -> float:
    """exp(mean negative log-likelihood per token, in nats): the model's effective branching.

    ``PPL = exp(-(1/N) Σ_t log p(x_t | x_<t))``. A model that spreads its probability evenly
    over k tokens has perplexity k. Pass the mean cross-entropy (minigrad's and PyTorch's
    ``cross_entropy`` use nats, the natural log); a float, a NumPy scalar or a one-element
    Tensor. For a loss in bits, perplexity is 2 ** bits instead.

    >>> round(perplexity(math.log(65)), 9)   # uniform over a 65-character vocabulary
    65.0
    >>> perplexity(0.0)                 # always certain and right
    1.0
    """
    a = _to_numpy(mean_nll)
    if a.size != 1:
        raise ShapeError(f"perplexity: mean_nll must be one number (the mean NLL), got shape "
                         f"{a.shape}; average the per-token losses first")
    x = float(a.reshape(()))
    if math.isnan(x) or x < 0:
        raise ValueError(f"perplexity: mean_nll must be a non-negative number of nats, got {x}")
    try:
        return math.exp(x)
    except OverflowError:  # exp of more than ~709.78 nats is beyond float64
        return math.inf


# -- BLEU ------------------------------------------------------------------------------------

# mteval-v13a.pl's language-dependent rules, as sacrebleu's tokenizer_re.py writes them.
_MTEVAL_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # split off symbols/punctuation
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period and comma unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # ... or unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),       # a dash after a digit
)


def _mteval_split(line):
    for pattern, replacement in _MTEVAL_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def _tokenize_13a(line):
    """mteval-v13a: drop <skipped> and line-end hyphens, unescape 4 entities, the rules above."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    for entity, char in (("&quot;", '"'), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        line = line.replace(entity, char)
    return _mteval_split(f" {line} ")


# The code points sacrebleu's 'zh' tokenizer treats as Chinese (tokenizer_zh.py, in its order).
_ZH_RANGES = (
    (0x3400, 0x4DB5), (0x4E00, 0x9FA5), (0x9FA6, 0x9FBB), (0xF900, 0xFA2D), (0xFA30, 0xFA6A),
    (0xFA70, 0xFAD9),
    # sacrebleu writes '\u20000'..'\u2a6d6' and '\u2f800'..'\u2fa1d' for Extension B and the
    # compatibility supplement; Python reads two characters ('\u2000' '0'), so the test it
    # makes, and we copy, is U+2001..U+2A6D (punctuation, currency, arrows, maths...) and
    # U+2F81..U+2FA1.
    (0x2001, 0x2A6D), (0x2F81, 0x2FA1),
    (0xFF00, 0xFFEF), (0x2E80, 0x2EFF), (0x3000, 0x303F), (0x31C0, 0x31EF), (0x2F00, 0x2FDF),
    (0x2FF0, 0x2FFF), (0x3100, 0x312F), (0x31A0, 0x31BF), (0xFE10, 0xFE1F), (0xFE30, 0xFE4F),
    (0x2600, 0x26FF), (0x2700, 0x27BF), (0x3200, 0x32FF), (0x3300, 0x33FF),
)


def _tokenize_zh(line):
    """Each Chinese character a token; the rest split by the mteval rules (no 13a unescaping)."""
    chinese = lambda c: any(lo <= ord(c) <= hi for lo, hi in _ZH_RANGES)  # noqa: E731
    return _mteval_split("".join(f" {c} " if chinese(c) else c for c in line.strip()))


_TOKENIZERS = {
    "13a": _tokenize_13a,                     # sacrebleu's default (WMT's mteval-v13a)
    "zh": _tokenize_zh,                       # Chinese characters one by one
    "char": lambda line: " ".join(line).split(),  # every non-space character
    "none": str.split,                        # already tokenized: split on whitespace
}


def tokenize_bleu(text, tokenize="13a", lowercase=False):
    """The tokens BLEU counts in ``text``, as sacrebleu's tokenizer of the same name.

    ``"13a"`` (default) splits off punctuation except inside numbers and leaves CJK text whole;
    ``"zh"`` makes each Chinese character (and, as sacrebleu, most symbols U+2001..U+2A6D)
    a token; ``"char"`` every non-space character; ``"none"`` only splits on whitespace.

    >>> tokenize_bleu("Hello, world! It costs $3.50.")
    ['Hello', ',', 'world', '!', 'It', 'costs', '$', '3.50', '.']
    >>> tokenize_bleu("我是程序员，喜欢编程")
    ['我是程序员，喜欢编程']
    >>> tokenize_bleu("我是程序员，喜欢编程", tokenize="zh")
    ['我', '是', '程', '序', '员', '，', '喜', '欢', '编', '程']
    """
    if tokenize not in _TOKENIZERS:
        raise ValueError(f"tokenize_bleu: tokenize must be one of {list(_TOKENIZERS)}, "
                         f"got {tokenize!r}")
    if lowercase:
        text = text.lower()
    return _TOKENIZERS[tokenize](text.rstrip())


def _ngrams(tokens, max_n):
    """Counts of every n-gram, 1 <= n <= max_n, keyed by the tuple of its tokens."""
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_n + 1)
                   for i in range(len(tokens) - n + 1))


@dataclass(frozen=True)
class BLEUScore:
    """What ``corpus_bleu`` returns; ``str()`` prints it as sacrebleu does."""
    score: float             # BLEU, 0..100
    precisions: tuple        # p_n in percent, n = 1..max_n (smoothed where no n-gram matched)
    bp: float                # brevity penalty
    sys_len: int             # c: hypothesis tokens, whole corpus
    ref_len: int             # r: for each hypothesis, its closest reference's length, summed
    counts: tuple            # matched (clipped) n-grams, n = 1..max_n
    totals: tuple            # hypothesis n-grams, n = 1..max_n

    def __str__(self):
        ratio = self.sys_len / self.ref_len if self.ref_len else 0
        return (f"BLEU = {self.score:.2f} {'/'.join(f'{p:.1f}' for p in self.precisions)} "
                f"(BP = {self.bp:.3f} ratio = {ratio:.3f} hyp_len = {self.sys_len:d} "
                f"ref_len = {self.ref_len:d})")


def corpus_bleu(hypotheses, references, max_n=4, tokenize="13a", lowercase=False) -> BLEUScore:
    """Corpus BLEU, the same numbers as ``sacrebleu.corpus_bleu(hypotheses, [references])``.

    ``references[i]`` is the reference of ``hypotheses[i]``: a string, or a list of strings
    when there are several (sacrebleu takes them transposed: one list per reference set). With
    every segment tokenized (``tokenize_bleu``) and counts summed over the corpus:

        p_n = Σ_hyp Σ_ngram min(count in hyp, max count in any ref) / Σ_hyp #n-grams in hyp
        BP  = 1 if c >= r else exp(1 - r/c)     (c hypothesis tokens; r, per hypothesis the
                                                 reference length closest to it, shorter on ties)
        BLEU = 100 · BP · exp(Σ_{n=1..N} (1/N) log p_n)     (N = max_n, weights w_n = 1/N)

    As sacrebleu's defaults (smooth_method='exp', mteval's): where no n-gram of order n matched,
    the k-th such order gets p_n = 1 / (2^k · #n-grams) instead of 0. No match at all, or a
    corpus too short to have n-grams of some order, scores 0.

    >>> s = corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    >>> [round(p, 2) for p in s.precisions]     # 5/6, 3/5, 2/4, 1/3
    [83.33, 60.0, 50.0, 33.33]
    >>> round(s.score, 2)                       # 100 · (5/6 · 3/5 · 2/4 · 1/3) ** (1/4)
    53.73
    >>> refs = [["the cat sat on a mat", "a cat was on the mat today"]]     # two references
    >>> print(corpus_bleu(["the cat sat on the mat today"], refs))
    BLEU = 76.52 85.7/100.0/80.0/50.0 (BP = 1.000 ratio = 1.000 hyp_len = 7 ref_len = 7)
    >>> corpus_bleu(["a cat sat"], refs).score     # 3 tokens: no 4-gram, so p_4 = 0
    0.0
    """
    if isinstance(hypotheses, str):
        raise TypeError("corpus_bleu: hypotheses must be a list of strings, got one string")
    hypotheses, references = list(hypotheses), list(references)
    if not hypotheses:
        raise ValueError("corpus_bleu: hypotheses is empty; there is nothing to score")
    if len(hypotheses) != len(references):
        raise ShapeError(f"corpus_bleu: {len(hypotheses)} hypotheses but {len(references)} "
                         f"references; give one reference (or list of them) per hypothesis")
    if not isinstance(max_n, int) or max_n < 1:
        raise ValueError(f"corpus_bleu: max_n must be a positive int, got {max_n!r}")
    if tokenize not in _TOKENIZERS:
        raise ValueError(f"corpus_bleu: tokenize must be one of {list(_TOKENIZERS)}, "
                         f"got {tokenize!r}")
    counts, totals, sys_len, ref_len = [0] * max_n, [0] * max_n, 0, 0
    for i, (hyp, refs) in enumerate(zip(hypotheses, references)):
        refs = [refs] if isinstance(refs, str) else list(refs)
        if not refs or not all(isinstance(s, str) for s in [hyp, *refs]):
            raise TypeError(f"corpus_bleu: hypothesis {i} needs a string and at least one "
                            f"reference string, got {hyp!r} and {refs!r}")
        hyp_tokens = tokenize_bleu(hyp, tokenize, lowercase)
        ref_tokens = [tokenize_bleu(ref, tokenize, lowercase) for ref in refs]
        max_ref_counts = Counter()
        for tokens in ref_tokens:
            max_ref_counts |= _ngrams(tokens, max_n)           # | keeps the larger count
        for gram, count in _ngrams(hyp_tokens, max_n).items():
            totals[len(gram) - 1] += count
            counts[len(gram) - 1] += min(count, max_ref_counts[gram])
        c = len(hyp_tokens)
        sys_len += c
        ref_len += min((len(tokens) for tokens in ref_tokens), key=lambda r: (abs(r - c), r))

    bp = 1.0 if sys_len >= ref_len else (math.exp(1 - ref_len / sys_len) if sys_len else 0.0)
    precisions = [0.0] * max_n
    if any(counts):
        smooth = 1.0
        for n in range(max_n):
            if totals[n] == 0:       # no n-grams this long: p_n stays 0, BLEU is 0
                break
            if counts[n] == 0:
                smooth *= 2
                precisions[n] = 100.0 / (smooth * totals[n])
            else:
                precisions[n] = 100.0 * counts[n] / totals[n]
    score = 0.0 if 0.0 in precisions else \
        bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return BLEUScore(score, tuple(precisions), bp, sys_len, ref_len, tuple(counts), tuple(totals))
