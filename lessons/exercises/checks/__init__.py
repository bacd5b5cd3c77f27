"""The exercises the grader knows: id, file name, title, the lesson that teaches it, and parts.

Each part is a check function ``check(module, rng)``: it raises ``CheckFailed`` (a wrong
answer, with a message and a hint) or ``NotImplementedError`` (the stub is untouched), or
returns when the part is right.
"""
from dataclasses import dataclass

from lessons.exercises.checks import gradients as g
from lessons.exercises.checks import models as m

__all__ = ["Exercise", "EXERCISES"]


@dataclass(frozen=True)
class Exercise:
    id: str           # "ex05"
    name: str         # the file's stem, "ex05_positional_encoding"
    title: str
    lesson: str       # the lesson that teaches it, e.g. "08_positional_encoding"
    parts: tuple      # ((part name, check function), ...)


EXERCISES = (
    Exercise("ex01", "ex01_broadcast_backward", "Mul, Div, Pow backward with broadcasting",
             "02_tensors", (("Mul.backward", g.check_mul), ("Div.backward", g.check_div),
                            ("Pow.backward", g.check_pow))),
    Exercise("ex02", "ex02_softmax_backward", "softmax backward", "06_attention",
             (("Softmax.backward", g.check_softmax),)),
    Exercise("ex03", "ex03_cross_entropy_backward", "cross-entropy (from logits) backward",
             "03_language_model", (("CrossEntropy.backward", g.check_cross_entropy),)),
    Exercise("ex04", "ex04_layer_norm_backward", "layer-norm backward", "11_encoder_decoder",
             (("LayerNorm.backward", g.check_layer_norm),)),
    Exercise("ex05", "ex05_positional_encoding", "sinusoidal positional encoding",
             "08_positional_encoding",
             (("sinusoidal_positional_encoding", m.check_positional_encoding),)),
    Exercise("ex06", "ex06_attention", "scaled dot-product attention (causal mask)",
             "06_attention", (("scaled_dot_product_attention", m.check_attention),)),
    Exercise("ex07", "ex07_multi_head", "multi-head split and merge", "07_multi_head",
             (("split_heads", m.check_split_heads), ("merge_heads", m.check_merge_heads))),
    Exercise("ex08", "ex08_adam", "one Adam step", "12_training",
             (("adam_step", m.check_adam),)),
    Exercise("ex09", "ex09_bleu", "BLEU: clipped n-gram precision, brevity penalty",
             "16_metrics", (("modified_precision", m.check_modified_precision),
                            ("brevity_penalty", m.check_brevity_penalty),
                            ("bleu", m.check_bleu))),
    Exercise("ex10", "ex10_embedding_backward", "embedding backward (scatter-add)",
             "05_embeddings", (("Embedding.backward", g.check_embedding),)),
    Exercise("ex11", "ex11_bigram_perplexity", "a bigram language model and its perplexity",
             "03_language_model", (("bigram_probabilities", m.check_bigram_probabilities),
                                   ("perplexity", m.check_perplexity))),
    Exercise("ex12", "ex12_gelu", "GELU backward", "09_feed_forward",
             (("GELU.backward", g.check_gelu),)),
)
