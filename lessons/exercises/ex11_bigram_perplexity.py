"""Exercise 11 — a bigram language model and its perplexity.

Taught in lesson 03; FORMULAS A1, F1.

Task: a language model gives P(x_t | x_<t); a bigram model looks only at the previous token,
P(x_t | x_{t−1}). Write:

1. ``bigram_probabilities(tokens, vocab_size, alpha=1.0)`` -> P (V, V), the count-based model
   with add-α smoothing (so that an unseen pair is not impossible):

       P[a, b] = (count(a → b) + α) / (Σ_b' count(a → b') + α V)

   count(a → b) = how many times token b directly follows token a in ``tokens`` (the pairs
   (tokens[t], tokens[t+1]), t = 0..N−2). Each row of P sums to 1.
2. ``perplexity(probabilities, tokens)``: the exponential of the mean negative log-likelihood
   of the N − 1 predictions the model makes on ``tokens``,

       PPL = exp(−(1/(N−1)) Σ_{t=1}^{N−1} log P[tokens[t−1], tokens[t]])

   A model that spreads its probability evenly over k tokens has perplexity k.

Shapes: tokens a 1-d integer array (N,) with values in [0, V); P a (V, V) float array.

Hint: ``np.add.at(counts, (tokens[:-1], tokens[1:]), 1)`` counts every pair;
``P[tokens[:-1], tokens[1:]]`` picks the N − 1 probabilities of what really came next.

Check your work:
    python -m lessons check ex11
"""
import numpy as np


def bigram_probabilities(tokens, vocab_size, alpha=1.0):
    """P[a, b] = P(next = b | previous = a), add-α smoothed; a (V, V) array, rows sum to 1."""
    # Your code here, in place of the line below.
    raise NotImplementedError("bigram_probabilities: return the (V, V) array P")


def perplexity(probabilities, tokens):
    """exp(mean over t = 1..N−1 of −log P[tokens[t−1], tokens[t]])."""
    # Your code here, in place of the line below.
    raise NotImplementedError("perplexity: return a float")
