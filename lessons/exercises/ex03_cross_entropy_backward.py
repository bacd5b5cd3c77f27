"""Exercise 03 — the backward of cross-entropy from logits.

Taught in lessons 03 and 12; FORMULAS B4.

Task: write ``CrossEntropy.backward``. The forward is given: the mean over M rows of the
negative log-probability that softmax gives the right class,

    loss = (1/M) Σ_i −log softmax(logits_i)[target_i]          logits (M, C), target (M,) ints

Formula: for one row, ∂(−log softmax(z)[t])/∂z = softmax(z) − onehot(t). With the mean over M
rows and the upstream gradient grad = dL/dloss (a number, a 0-d array):

    dlogits = grad ⊙ (softmax(logits) − onehot(target)) / M          (M, C)

``backward`` returns one value per input of forward: ``(dlogits, None)`` — the targets are
integers, they have no gradient.

Hint: ``np.eye(C)[target]`` is the (M, C) one-hot matrix; or copy the probabilities and
subtract 1 at ``[np.arange(M), target]``.

Check your work:
    python -m lessons check ex03
"""
import numpy as np

import minigrad as mg


class CrossEntropy(mg.Function):
    """loss = mean over rows of −log softmax(logits)[target]."""

    @staticmethod
    def forward(ctx, logits, target):
        shifted = logits - logits.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))   # (M, C)
        ctx.save_for_backward(log_probs, target)
        return -log_probs[np.arange(len(target)), target].mean()

    @staticmethod
    def backward(ctx, grad):
        log_probs, target = ctx.saved_tensors
        # Your code here, in place of the line below.
        raise NotImplementedError("CrossEntropy.backward: return (dlogits, None)")
