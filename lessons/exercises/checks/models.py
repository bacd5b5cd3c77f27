"""Checks of the forward exercises: ex05 positional encoding, ex06 attention, ex07 multi-head
split/merge, ex08 the Adam step, ex09 BLEU, ex11 a bigram language model's perplexity.

References: minigrad's and transformer's own functions (``sinusoidal_table``,
``F.scaled_dot_product_attention``, ``mg.optim.Adam``, ``corpus_bleu``, ``F.cross_entropy``) or
an independent computation (heads cut by slicing; bigram counts as onehotᵀ @ onehot).
"""
import math

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from lessons.exercises.checks.helpers import gradcheck_fn, leaf, need, nonzero, shapes
from lessons.exercises.compare import CheckFailed, as_array, expect_close
from minigrad.tensor import Tensor
from transformer.embedding import sinusoidal_table
from transformer.metrics import corpus_bleu, perplexity

__all__ = ["check_positional_encoding", "check_attention", "check_split_heads",
           "check_merge_heads", "check_adam", "check_modified_precision",
           "check_brevity_penalty", "check_bleu", "check_bigram_probabilities",
           "check_perplexity"]


# -- ex05 ------------------------------------------------------------------------------------

def check_positional_encoding(module, rng):
    fn = need(module, "sinusoidal_positional_encoding")
    hint = ("angle[pos, i] = pos / 10000^(2i/d) for pos = 0..T−1 and i = 0..d/2−1; "
            "PE[:, 0::2] = sin(angle), PE[:, 1::2] = cos(angle)")
    sizes = [(1, 2), (6, 4), (10, 8), (int(rng.integers(20, 60)), 2 * int(rng.integers(2, 17)))]
    for max_len, d in sizes:
        expected = sinusoidal_table(max_len, d)
        pos = np.arange(max_len)[:, None]
        i = np.arange(d // 2)
        angle = pos / 10000 ** (2 * i / d)
        swapped = np.empty((max_len, d))
        swapped[:, 0::2], swapped[:, 1::2] = np.cos(angle), np.sin(angle)
        half = np.empty((max_len, d))
        half[:, 0::2], half[:, 1::2] = np.sin(pos / 10000 ** (i / d)), np.cos(pos / 10000 ** (i / d))
        from_one = sinusoidal_table(max_len + 1, d)[1:]
        variants = {"sin and cos are swapped (sin goes in the even columns 0, 2, 4, ...)": swapped,
                    "the exponent is i/d instead of 2i/d": half,
                    "the sines fill the first half and the cosines the second (they must "
                    "interleave: column 2i sin, column 2i+1 cos)":
                    np.concatenate([np.sin(angle), np.cos(angle)], axis=1),
                    "positions count from 1 instead of 0": from_one}
        expect_close("the encoding", fn(max_len, d), expected, f"max_len={max_len}, d_model={d}",
                     hint, variants)


# -- ex06 ------------------------------------------------------------------------------------

def _attention(q, k, v, scale, causal, axis=-1, hide="future"):
    """Attention in NumPy with a chosen mistake: scale, softmax axis, or the hidden triangle."""
    scores = q @ np.swapaxes(k, -1, -2) * scale                        # (..., Tq, Tk)
    tq, tk = scores.shape[-2:]
    if causal:
        hidden = np.triu(np.ones((tq, tk), bool), k=1) if hide == "future" else \
            np.tril(np.ones((tq, tk), bool), k=-1)
        scores = np.where(hidden, -np.inf, scores)
    weights = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return (weights / weights.sum(axis=axis, keepdims=True)) @ v


def check_attention(module, rng):
    fn = need(module, "scaled_dot_product_attention")
    hint = ("scores = q @ k.transpose(-2, -1) / √D  (..., Tq, Tk); if causal, "
            "scores = scores.masked_fill(np.triu(np.ones((T, T), dtype=bool), k=1), float('-inf')); "
            "weights = mg.softmax(scores, dim=-1); return weights @ v — with minigrad ops, so "
            "gradients flow")
    cases = [((3, 4), (5, 4), (5, 2), False), ((2, 5, 4), (2, 5, 4), (2, 5, 4), True),
             ((2, 2, 4, 3), (2, 2, 6, 3), (2, 2, 6, 5), False),
             ((1, 3, 6, 4), (1, 3, 6, 4), (1, 3, 6, 4), True)]
    for q_shape, k_shape, v_shape, causal in cases:
        q, k, v = nonzero(rng, q_shape), nonzero(rng, k_shape), nonzero(rng, v_shape)
        case = f"{shapes('qkv', (q, k, v))}, causal={causal}"
        q_leaf, k_leaf, v_leaf = leaf(q), leaf(k), leaf(v)
        got = fn(q_leaf, k_leaf, v_leaf, causal=causal)
        d = q.shape[-1]
        expected = F.scaled_dot_product_attention(*(leaf(x) for x in (q, k, v)), is_causal=causal)
        variants = {"the scores are not divided by √D": _attention(q, k, v, 1.0, causal),
                    "the scores are divided by D instead of √D": _attention(q, k, v, 1 / d, causal),
                    "the softmax runs over the queries (dim −2), not over the keys (dim −1)":
                    _attention(q, k, v, 1 / math.sqrt(d), causal, axis=-2)}
        if causal:
            variants["no causal mask is applied"] = _attention(q, k, v, 1 / math.sqrt(d), False)
            variants["the mask hides the past instead of the future (the wrong triangle)"] = \
                _attention(q, k, v, 1 / math.sqrt(d), True, hide="past")
        try:
            expect_close("the output", got, expected.numpy(), case, hint, variants)
        except CheckFailed as failure:
            if causal and np.isnan(as_array("the output", got)).any():
                raise CheckFailed(f"{failure}\nin attention, a NaN comes from a row of scores "
                                  "that is all −inf: every key of some query is masked. Query i "
                                  "must always see key i (np.triu(..., k=1) keeps the diagonal)",
                                  hint) from None
            raise
        if not isinstance(got, Tensor) or not got.requires_grad:
            raise CheckFailed(f"the output for {case} is right but not connected to the graph "
                              "(no gradient can reach q, k, v): build it from minigrad ops on the "
                              "tensors you get (@, .transpose, .masked_fill, mg.softmax), not from "
                              ".numpy() arrays", hint)
        g = nonzero(rng, got.shape)
        reference = [leaf(x) for x in (q, k, v)]
        F.scaled_dot_product_attention(*reference, is_causal=causal).backward(g)
        got.backward(g)
        for name, mine, ref in zip("qkv", (q_leaf, k_leaf, v_leaf), reference):
            expect_close(f"the gradient for {name} (computed by minigrad through your ops)",
                         mine.grad, ref.grad, case, hint)
    q, k, v = nonzero(rng, (3, 2)), nonzero(rng, (3, 2)), nonzero(rng, (3, 2))
    gradcheck_fn(lambda a, b, c: fn(a, b, c, causal=True), [leaf(q), leaf(k), leaf(v)],
                 "q, k, v (3, 2), causal=True", "scaled_dot_product_attention")


# -- ex07 ------------------------------------------------------------------------------------

HEAD_CASES = [(1, 2, 4, 2), (2, 3, 6, 3), (2, 4, 8, 2), (1, 3, 5, 1), (2, 2, 12, 4)]  # B, T, C, H
HEAD_HINT = ("(B, T, C) → .reshape(B, T, H, D) → .transpose(1, 2) → (B, H, T, D), D = C / H; "
             "merge undoes it: .transpose(1, 2) → .reshape(B, T, C). A reshape alone gives the "
             "right shape and the wrong numbers")


def _heads_by_slicing(x, h):
    d = x.shape[-1] // h
    return np.stack([x[:, :, i * d:(i + 1) * d] for i in range(h)], axis=1)   # (B, H, T, D)


def _connected(what, out, case):
    if not isinstance(out, Tensor) or not out.requires_grad:
        raise CheckFailed(f"{what} for {case} is not a Tensor connected to the graph: use the "
                          "Tensor methods .reshape and .transpose (not NumPy), so that "
                          "gradients flow back through it", HEAD_HINT)


def check_split_heads(module, rng):
    fn = need(module, "split_heads")
    for b, t, c, h in HEAD_CASES:
        x = nonzero(rng, (b, t, c))
        case, d = f"x {x.shape}, n_head={h}", c // h
        got = fn(leaf(x), h)
        variants = {"you reshaped straight to (B, H, T, D) without the transpose: that cuts the "
                    "time axis, not the channels, into heads": x.reshape(b, h, t, d),
                    "the channels are dealt out to the heads in turn (reshape to (B, T, D, H)): "
                    "head i must get the D consecutive channels i·D .. (i+1)·D − 1":
                    x.reshape(b, t, d, h).transpose(0, 3, 1, 2)}
        expect_close("split_heads(x)", got, _heads_by_slicing(x, h), case, HEAD_HINT, variants)
        _connected("split_heads(x)", got, case)
    x = nonzero(rng, (1, 2, 4))
    gradcheck_fn(lambda t: fn(t, 2), [leaf(x)], "x (1, 2, 4), n_head=2", "split_heads")


def check_merge_heads(module, rng):
    fn = need(module, "merge_heads")
    for b, t, c, h in HEAD_CASES:
        x = nonzero(rng, (b, t, c))
        y = _heads_by_slicing(x, h)                                   # (B, H, T, D)
        case = f"y {y.shape} (B, H, T, D)"
        got = fn(leaf(y))
        variants = {"you reshaped (B, H, T, D) straight to (B, T, C) without the transpose":
                    y.reshape(b, t, c)}
        expect_close("merge_heads(y)", got, x, case, HEAD_HINT, variants)
        _connected("merge_heads(y)", got, case)
    y = nonzero(rng, (1, 2, 2, 2))
    gradcheck_fn(fn, [leaf(y)], "y (1, 2, 2, 2)", "merge_heads")


# -- ex08 ------------------------------------------------------------------------------------

def _adam_variant(p, grads, lr, beta1, beta2, eps, correct=True, ascend=False):
    """Adam with a chosen mistake, the trajectory of p (a list, one entry per step)."""
    m, v, out = np.zeros_like(p), np.zeros_like(p), []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat, v_hat = (m / (1 - beta1**t), v / (1 - beta2**t)) if correct else (m, v)
        p = p + (1 if ascend else -1) * lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def check_adam(module, rng):
    step = need(module, "adam_step")
    hint = ("m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²;  m̂ = m / (1 − β1^t);  "
            "v̂ = v / (1 − β2^t);  p = p − lr m̂ / (√v̂ + ε);  t counts from 1")
    for shape in [(3,), (2, 4)]:
        lr = float(rng.uniform(0.005, 0.05))
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        p0 = nonzero(rng, shape)
        grads = [nonzero(rng, shape) for _ in range(4)]
        param = mg.tensor(p0.copy(), dtype=mg.float64, requires_grad=True)
        optimizer = mg.optim.Adam([param], lr=lr, betas=(beta1, beta2), eps=eps)
        p, m, v = p0.copy(), np.zeros(shape), np.zeros(shape)
        known = {"there is no bias correction (m and v are not divided by 1 − β^t)":
                 _adam_variant(p0, grads, lr, beta1, beta2, eps, correct=False),
                 "the step goes up the gradient (p + ..., it must be p − ...)":
                 _adam_variant(p0, grads, lr, beta1, beta2, eps, ascend=True)}
        for t, g in enumerate(grads, start=1):
            param.grad = g.copy()
            optimizer.step()
            summed_g = sum(beta1 ** (t - s) * grads[s - 1] for s in range(1, t + 1))
            expected_m = (1 - beta1) * summed_g
            expected_v = (1 - beta2) * sum(beta2 ** (t - s) * grads[s - 1] ** 2
                                           for s in range(1, t + 1))
            case = f"param {shape}, step t={t}, lr={lr:.4g}"
            result = step(p, g.copy(), m, v, t, lr=lr, beta1=beta1, beta2=beta2, eps=eps)
            if not isinstance(result, (tuple, list)) or len(result) != 3:
                raise CheckFailed("adam_step must return a tuple (param, m, v): the new values",
                                  hint)
            p, m, v = (as_array(name, value, case) for name, value in zip("pmv", result))
            expect_close("m (the running mean of g)", m, expected_m, case, hint,
                         {"m = β1 m + g (the factor 1 − β1 is missing)": summed_g,
                          "you returned m̂ = m / (1 − β1^t) as m: return m itself (the next "
                          "step needs it) and correct a copy": expected_m / (1 - beta1**t)})
            expect_close("v (the running mean of g²)", v, expected_v, case, hint,
                         {"v is built from g, not from g²":
                          (1 - beta2) * sum(beta2 ** (t - s) * grads[s - 1]
                                            for s in range(1, t + 1)),
                          "you returned v̂ = v / (1 − β2^t) as v: return v itself (the next "
                          "step needs it) and correct a copy": expected_v / (1 - beta2**t)})
            expect_close("the updated param", p, param.numpy(), case, hint,
                         {text: trajectory[t - 1] for text, trajectory in known.items()})


# -- ex09 ------------------------------------------------------------------------------------

WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog"]


def _sentence(rng, low=4, high=12):
    return [WORDS[i] for i in rng.integers(0, len(WORDS), size=int(rng.integers(low, high + 1)))]


def _perturbed(rng, reference):
    hyp = list(reference)
    for _ in range(int(rng.integers(1, 3))):
        hyp[int(rng.integers(0, len(hyp)))] = WORDS[int(rng.integers(0, len(WORDS)))]
    return hyp[:len(hyp) - int(rng.integers(0, 3))] + ["a"] * int(rng.integers(0, 2))


def _sacrebleu_like(hyp, ref):
    return corpus_bleu([" ".join(hyp)], [" ".join(ref)], max_n=4, tokenize="none")


def _pairs(rng):
    pairs = [("the the the the the the the".split(), "the cat is on the mat".split())]
    for _ in range(6):
        pairs.append((_sentence(rng), _sentence(rng)))
    return pairs


def check_modified_precision(module, rng):
    fn = need(module, "modified_precision")
    hint = ("count each n-gram of the hypothesis at most as many times as it occurs in the "
            "reference (clipping): matched = Σ min(count_hyp, count_ref), total = number of "
            "n-grams in the hypothesis")
    for hyp, ref in _pairs(rng):
        score = _sacrebleu_like(hyp, ref)
        for n in range(1, 5):
            expected = (score.counts[n - 1], score.totals[n - 1])
            result = fn(hyp, ref, n)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise CheckFailed("modified_precision must return a pair (matched, total)", hint)
            got = tuple(int(x) for x in result)
            if got == expected:
                continue
            grams = lambda s: [tuple(s[i:i + n]) for i in range(len(s) - n + 1)]  # noqa: E731
            unclipped = sum(1 for gram in grams(hyp) if gram in set(grams(ref)))
            why = ""
            if abs(got[1] - expected[1]) == 1:
                why = (f"\n  your total is off by one: {len(hyp)} tokens hold "
                       f"{len(hyp)} − n + 1 = {expected[1]} n-grams of length n = {n}")
            elif got[0] == unclipped != expected[0]:
                why = ("\n  your matched count is not clipped: an n-gram repeated in the "
                       "hypothesis counts only as often as it occurs in the reference")
            elif got[1] == len(grams(ref)) != expected[1]:
                why = "\n  your total counts the reference's n-grams; it must count the hypothesis's"
            raise CheckFailed(f"modified_precision(hypothesis, reference, n={n}) returned "
                              f"(matched, total) = {got}, expected {expected}\n  hypothesis: "
                              f"{' '.join(hyp)}\n  reference:  {' '.join(ref)}{why}", hint)


def check_brevity_penalty(module, rng):
    fn = need(module, "brevity_penalty")
    hint = "BP = 1 if c ≥ r, else exp(1 − r/c); c = hypothesis length, r = reference length"
    pairs = [(4, 6), (6, 4), (5, 5), (1, 9)] + [tuple(int(x) for x in rng.integers(1, 30, 2))
                                                for _ in range(4)]
    for c, r in pairs:
        expected = _sacrebleu_like(["a"] * c, ["a"] * r).bp
        variants = {"r and c are swapped in exp(1 − r/c)": math.exp(1 - c / r) if c < r else 1.0,
                    "the penalty also applies when the hypothesis is longer (it must be 1 "
                    "then)": math.exp(1 - r / c)}
        expect_close("brevity_penalty", fn(c, r), expected,
                     f"hypothesis length c={c}, reference length r={r}", hint, variants)


def check_bleu(module, rng):
    fn = need(module, "bleu")
    hint = ("BLEU = BP · exp(Σ_n (1/4) log p_n), p_n = matched_n / total_n for n = 1..4; 0 when "
            "some p_n is 0. bleu calls your modified_precision and brevity_penalty: if they fail, "
            "fix them first")
    same = _sentence(rng, 6, 12)
    pairs = [(same, same)]
    pairs += [(_perturbed(rng, ref), ref) for ref in (_sentence(rng, 9, 14) for _ in range(5))]
    pairs += [("a cat".split(), "a cat sat on the mat".split())]
    for hyp, ref in pairs:
        score = _sacrebleu_like(hyp, ref)
        p = [c / t if t else 0.0 for c, t in zip(score.counts, score.totals)]
        expected = score.score / 100 if min(p) > 0 else 0.0
        variants = {}
        if min(p) > 0:
            variants = {"the brevity penalty is missing": math.exp(sum(map(math.log, p)) / 4),
                        "you took the arithmetic mean of p_n, not the geometric one":
                        score.bp * sum(p) / 4}
        expect_close("bleu", fn(hyp, ref), expected,
                     f"hypothesis '{' '.join(hyp)}', reference '{' '.join(ref)}'", hint, variants)


# -- ex11 ------------------------------------------------------------------------------------

def _counts(tokens, vocab_size):
    onehot = np.eye(vocab_size)[np.asarray(tokens)]                 # (N, V)
    return onehot[:-1].T @ onehot[1:]                               # (V, V): pairs (a, b)


def _corpus(rng):
    v = int(rng.integers(3, 9))
    return v, rng.integers(0, v, size=int(rng.integers(20, 60))), float(rng.choice([1.0, 0.5, 0.1]))


def check_bigram_probabilities(module, rng):
    fn = need(module, "bigram_probabilities")
    hint = ("P[a, b] = (count(a → b) + α) / (Σ_b' count(a → b') + α V): count each adjacent pair "
            "(tokens[t], tokens[t+1]), t = 0..N−2, then normalise each row")
    for _ in range(4):
        v, tokens, alpha = _corpus(rng)
        counts = _counts(tokens, v)
        expected = (counts + alpha) / (counts.sum(1, keepdims=True) + alpha * v)
        short = _counts(tokens[:-1], v)
        variants = {"α is added to the counts but not α V to the row totals (rows no longer sum "
                    "to 1)": (counts + alpha) / counts.sum(1, keepdims=True).clip(1e-300),
                    "every count is divided by the number of all pairs, not by its row's total "
                    "(that is P(a, b), not P(b | a))":
                    (counts + alpha) / (counts.sum() + alpha * v * v),
                    "the last pair (tokens[N−2], tokens[N−1]) is not counted":
                    (short + alpha) / (short.sum(1, keepdims=True) + alpha * v)}
        variants["each column is normalised (axis=0), not each row: P[a, :] is the "
                 "distribution of the token after a"] = \
            (counts + alpha) / (counts.sum(0, keepdims=True) + alpha * v)
        got = fn(tokens, v, alpha=alpha)
        try:
            expect_close("P", got, expected, f"{len(tokens)} tokens, V={v}, alpha={alpha}",
                         hint, variants)
        except CheckFailed as failure:
            rows = as_array("P", got).sum(axis=-1)
            if "exactly" in str(failure) or np.shape(rows) != (v,) or np.allclose(rows, 1):
                raise
            a = int(np.argmax(np.abs(rows - 1)))
            raise CheckFailed(f"{failure}\nrow {a} of P sums to {rows[a]:.6g}, not 1: each row "
                              "must be a probability distribution over the next token",
                              hint) from None


def check_perplexity(module, rng):
    fn = need(module, "perplexity")
    hint = ("PPL = exp(mean NLL) = exp(−(1/(N−1)) Σ_{t=1}^{N−1} log P[tokens[t−1], tokens[t]]), "
            "the mean over the N − 1 predictions")
    for _ in range(4):
        v, tokens, alpha = _corpus(rng)
        counts = _counts(rng.integers(0, v, size=40), v)
        probabilities = (counts + alpha) / (counts.sum(1, keepdims=True) + alpha * v)
        log_p = np.log(probabilities[tokens[:-1], tokens[1:]])
        nll = F.cross_entropy(mg.tensor(np.log(probabilities[tokens[:-1]]), dtype=mg.float64),
                              tokens[1:])
        variants = {"exp of the summed NLL, not of its mean": math.exp(-log_p.sum()),
                    "the mean divides by N tokens instead of N − 1 predictions":
                    math.exp(-log_p.sum() / len(tokens)),
                    "exp(+mean log p) is 1/perplexity: the minus sign is missing":
                    math.exp(log_p.mean()),
                    "2 ** NLL: the NLL here is in nats (natural log), so use exp":
                    2 ** -log_p.mean()}
        expect_close("the perplexity", fn(probabilities, tokens), perplexity(nll),
                     f"{len(tokens)} tokens, V={v}", hint, variants)
