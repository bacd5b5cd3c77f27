"""The baseline a pretrained text classifier must beat: logistic regression on a bag of words
(FORMULAS E2).

    x      = how many times each word of the vocabulary occurs in the text      (V,)
    logits = W x + b                                                            W (K, V), b (K,)
    p(k | text) = softmax(logits)_k,   loss = -log p(label | text)  (cross-entropy)

V is the vocabulary of the *training* texts: a word never seen in training is not counted, so
the model knows nothing about it (a pretrained encoder does). Since x is a sum of one-hot
vectors, W x = Σ_t W[:, w_t] over the text's words w_t: the same lookup-and-add as an
embedding (FORMULAS C2), which is how ``BagOfWordsClassifier`` can read padded word ids like
any other model of the pipeline.

>>> bow = BagOfWords(["I like tea", "Tea, tea!"])
>>> bow.vocab
{'i': 0, 'like': 1, 'tea': 2}
>>> bow.counts(["tea or coffee? tea"]).tolist()        # unknown words are not counted
[[0.0, 0.0, 2.0]]
>>> bow.encode("Like TEA"), bow.pad_id
([1, 2], 3)
"""
import re

import numpy as np

from minigrad.creation import tensor
from minigrad.nn import Linear, Module

__all__ = ["words", "BagOfWords", "BagOfWordsClassifier"]

_WORD = re.compile(r"[a-z0-9']+")


def words(text):
    """The lower-cased runs of letters, digits and apostrophes: "Don't panic!" -> ["don't",
    "panic"]."""
    return _WORD.findall(text.lower())


class BagOfWords:
    """The vocabulary of ``texts``' words ({word: id}, sorted), and texts -> counts or ids."""

    def __init__(self, texts):
        self.vocab = {w: i for i, w in enumerate(sorted({w for t in texts for w in words(t)}))}

    @property
    def vocab_size(self):
        return len(self.vocab)

    @property
    def pad_id(self):
        """One past the vocabulary: padding, never counted."""
        return len(self.vocab)

    def encode(self, text):
        """The ids of the text's known words, in order (unknown words dropped)."""
        return [self.vocab[w] for w in words(text) if w in self.vocab]

    def counts(self, texts):
        """(N, V) float32: row n counts each vocabulary word in ``texts[n]``."""
        x = np.zeros((len(texts), self.vocab_size), np.float32)
        for row, text in enumerate(texts):
            np.add.at(x[row], self.encode(text), 1)
        return x


class BagOfWordsClassifier(Module):
    """Logistic regression on word counts, ``logits = W x + b`` (module docstring).

    ``forward(input_ids (B, T), attention_mask (B, T) or None)`` -> logits (B, K): the counts
    of the ids where the mask is 1 (an id of ``vocab_size``, ``BagOfWords.pad_id``, counts for
    nothing), then ``classifier``, a Linear(V, K) whose weight is W (K, V). A model of counts
    has no gradient with respect to the ids, so the counting is NumPy's.
    """

    def __init__(self, vocab_size, num_labels):
        super().__init__()
        if num_labels < 2:
            raise ValueError(f"BagOfWordsClassifier: num_labels must be >= 2, got {num_labels}")
        self.vocab_size, self.num_labels = vocab_size, num_labels
        self.classifier = Linear(vocab_size, num_labels)

    def counts(self, input_ids, attention_mask=None):
        """The (B, V) counts of the ids (B, T) where ``attention_mask`` is 1."""
        ids = np.asarray(input_ids.numpy() if hasattr(input_ids, "numpy") else input_ids)
        if ids.ndim != 2 or ids.size and not 0 <= ids.min() <= ids.max() <= self.vocab_size:
            raise ValueError(f"BagOfWordsClassifier: input_ids must be (B, T) word ids in 0.."
                             f"{self.vocab_size} (the last one padding), got shape {ids.shape}")
        mask = np.ones(ids.shape, np.float32) if attention_mask is None else \
            np.asarray(attention_mask.numpy() if hasattr(attention_mask, "numpy")
                       else attention_mask, np.float32)
        weight = self.classifier.weight
        x = np.zeros((ids.shape[0], self.vocab_size + 1), weight.dtype)   # + the padding column
        rows = np.repeat(np.arange(ids.shape[0]), ids.shape[1])           # (B·T,)
        np.add.at(x, (rows, ids.ravel()), mask.ravel())
        return tensor(x[:, :self.vocab_size], device=weight.device)

    def forward(self, input_ids, attention_mask=None):
        return self.classifier(self.counts(input_ids, attention_mask))   # (B, K)

    def extra_repr(self):
        return f"vocab_size={self.vocab_size}, num_labels={self.num_labels}"
