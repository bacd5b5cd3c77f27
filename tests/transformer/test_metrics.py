"""transformer.metrics: hand-computed cases on every machine; scikit-learn and sacrebleu as
oracles on seeded random labels and texts when they are installed."""
import math
import random
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import DTypeError, ShapeError
from transformer.metrics import (_ZH_RANGES, BLEUScore, accuracy, confusion_matrix, corpus_bleu,
                                 perplexity, precision_recall_f1, tokenize_bleu)


# -- classification, by hand -------------------------------------------------------------------

def test_accuracy_takes_lists_arrays_tensors_of_any_shape():
    assert accuracy([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
    assert accuracy(np.array([[1, 2], [3, 4]]), np.array([[1, 0], [3, 0]])) == 0.5
    assert accuracy(mg.tensor(np.array([1.0, 2.0])), [1, 3]) == 0.5
    assert accuracy(["cat", "dog"], ["cat", "cat"]) == 0.5


def test_confusion_matrix_rows_are_true_classes():
    m = confusion_matrix(pred=[0, 0, 1], target=[1, 1, 1])   # true 1s predicted as 0 twice
    np.testing.assert_array_equal(m, [[0, 0], [2, 1]])
    np.testing.assert_array_equal(confusion_matrix([5, 2], [2, 2]), [[1, 1], [0, 0]])  # {2, 5}
    np.testing.assert_array_equal(confusion_matrix([1], [1], num_classes=2), [[0, 0], [0, 1]])


@pytest.mark.parametrize("bad", [[0, 3], [-1, 0], [0.0, 2.0]])
def test_confusion_matrix_names_a_label_outside_num_classes(bad):
    with pytest.raises(ValueError, match=r"pred holds .* not a class id in 0..1"):
        confusion_matrix(bad, [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        confusion_matrix([0], [0], num_classes=0)


def test_binary_precision_recall_f1_from_the_counts():
    pred, target = [1, 1, 1, 0, 0, 0, 1], [1, 1, 0, 0, 1, 0, 0]   # TP 2, FP 2, FN 1
    p, r, f1 = precision_recall_f1(pred, target)
    assert (p, r) == (2 / 4, 2 / 3)
    assert f1 == pytest.approx(2 * p * r / (p + r), rel=1e-15)
    p0, r0, _ = precision_recall_f1(pred, target, pos_label=0)     # TP 2, FP 1, FN 2
    assert (p0, r0) == (2 / 3, 2 / 4)
    assert precision_recall_f1(["no", "yes"], ["yes", "yes"], pos_label="yes") == (1.0, 0.5, 2 / 3)


def test_a_class_never_predicted_scores_zero_without_a_warning():
    pred, target = [0, 0, 1, 1], [0, 2, 1, 2]           # class 2 is never predicted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, r, f1 = precision_recall_f1(pred, target, average="macro")
        assert precision_recall_f1([0, 0], [0, 0]) == (0.0, 0.0, 0.0)   # pos_label 1 absent
    # per class: P (1/2, 1/2, 0), R (1, 1, 0), F1 (2/3, 2/3, 0)
    assert (p, r) == pytest.approx((1 / 3, 2 / 3), rel=1e-15)
    assert f1 == pytest.approx(4 / 9, rel=1e-15)


def test_micro_average_equals_accuracy_for_single_label_data():
    rng = np.random.default_rng(0)
    pred, target = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    acc = accuracy(pred, target)
    assert precision_recall_f1(pred, target, average="micro") == pytest.approx((acc, acc, acc))


def test_binary_refuses_three_labels_or_a_missing_pos_label():
    with pytest.raises(ValueError, match=r"at most two labels, found 3: \[0, 1, 2\]"):
        precision_recall_f1([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="pos_label=1 is not one of the labels"):
        precision_recall_f1([0, 2], [2, 0])
    with pytest.raises(ValueError, match="average must be"):
        precision_recall_f1([0], [0], average="weighted")


@pytest.mark.parametrize("fn", [accuracy, precision_recall_f1, confusion_matrix])
def test_label_errors_name_what_is_wrong(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ShapeError, match=r"pred has shape \(3,\) \(3 labels\) but target has "
                                         r"shape \(2,\) \(2 labels\)"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(DTypeError, match="pred holds non-integer floats"):
        fn([0.2, 0.9], [0, 1])


# -- perplexity --------------------------------------------------------------------------------

def test_perplexity_is_exp_of_the_mean_nll():
    assert perplexity(math.log(7)) == pytest.approx(7)
    assert perplexity(np.float32(0.0)) == 1.0
    assert perplexity(mg.tensor(np.array(2.0))) == pytest.approx(math.e ** 2)
    assert perplexity(1e4) == math.inf
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="mean_nll must be a non-negative"):
            perplexity(bad)
    with pytest.raises(ShapeError, match=r"got shape \(2,\)"):
        perplexity([1.0, 2.0])


# -- BLEU, by hand -----------------------------------------------------------------------------

def test_bleu_from_the_definition():
    s = corpus_bleu(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert s.counts == (5, 3, 2, 1) and s.totals == (6, 5, 4, 3)
    assert (s.sys_len, s.ref_len, s.bp) == (6, 6, 1.0)
    assert s.score == pytest.approx(100 * (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, rel=1e-12)


def test_identical_hypothesis_and_reference_score_100():
    texts = ["Hello, world!", "The quick brown fox jumps over the lazy dog."]
    s = corpus_bleu(texts, texts)
    assert s.score == pytest.approx(100.0) and s.bp == 1.0
    assert s.precisions == (100.0,) * 4


def test_orders_without_a_match_are_smoothed_as_mteval():
    # 3-grams and 4-grams never match: the k-th such order gets p_n = 1 / (2^k · #n-grams)
    s = corpus_bleu(["a b c d e"], ["a b x c d y e"])
    assert s.counts == (5, 2, 0, 0) and s.totals == (5, 4, 3, 2)
    p = (5 / 5, 2 / 4, 1 / (2 * 3), 1 / (4 * 2))
    assert s.precisions == pytest.approx(tuple(100 * x for x in p), rel=1e-12)
    assert s.bp == pytest.approx(math.exp(1 - 7 / 5))
    assert s.score == pytest.approx(100 * s.bp * math.prod(p) ** 0.25, rel=1e-12)
    assert corpus_bleu(["x y"], ["a b"]).score == 0.0          # no match at all
    assert corpus_bleu(["a b c"], ["a b c"]).score == 0.0      # no 4-grams to count


def test_several_references_clip_by_the_max_and_take_the_closest_length():
    # "the" ×3 in the hypothesis; at most 2 in one reference: 2 match
    s = corpus_bleu(["the the the"], [["the cat", "the the dog", "a"]], max_n=1)
    assert s.counts == (2,) and s.totals == (3,)
    assert s.ref_len == 3                                      # lengths 2, 3, 1: closest is 3
    assert corpus_bleu(["a b c d"], [["a b c", "a b c d e"]]).ref_len == 3   # tie: the shorter


def test_bleu_tokenizers():
    # 13a keeps apostrophes and numbers' points and commas, splits a dash after a digit
    assert tokenize_bleu("It's 3.50$, 1-2 &amp; U.S.") == \
        ["It's", "3.50", "$", ",", "1", "-", "2", "&", "U", ".", "S", "."]
    sentence = "我是一个程序员，喜欢编程和解决问题"
    assert tokenize_bleu(sentence) == [sentence]               # 13a does not split CJK
    assert tokenize_bleu(sentence, tokenize="zh") == list(sentence)
    assert tokenize_bleu("ab c", tokenize="char") == ["a", "b", "c"]
    assert tokenize_bleu("Hi, there", tokenize="none", lowercase=True) == ["hi,", "there"]


def test_bleu_errors_name_the_argument():
    with pytest.raises(ValueError, match="hypotheses is empty"):
        corpus_bleu([], [])
    with pytest.raises(ShapeError, match="2 hypotheses but 1 references"):
        corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(TypeError, match="got one string"):
        corpus_bleu("a b", "a b")
    with pytest.raises(TypeError, match="hypothesis 0 needs a string and at least one"):
        corpus_bleu(["a"], [[]])
    with pytest.raises(ValueError, match="tokenize must be one of"):
        corpus_bleu(["a"], ["a"], tokenize="intl")
    with pytest.raises(ValueError, match="max_n must be a positive int"):
        corpus_bleu(["a"], ["a"], max_n=0)


def test_bleu_score_prints_as_sacrebleu():
    s = BLEUScore(12.3456, (50.0, 25.0), 0.5, 3, 4, (1, 1), (2, 4))
    assert str(s) == "BLEU = 12.35 50.0/25.0 (BP = 0.500 ratio = 0.750 hyp_len = 3 ref_len = 4)"


# -- oracles -----------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:A single label was found")   # sklearn's hint, not an error
def test_classification_matches_sklearn_on_random_labels():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(1234)
    for _ in range(100):
        k, n = int(rng.integers(2, 6)), int(rng.integers(1, 40))
        target, pred = rng.integers(0, k, n), rng.integers(0, k, n)
        assert accuracy(pred, target) == skm.accuracy_score(target, pred)
        np.testing.assert_array_equal(confusion_matrix(pred, target),
                                      skm.confusion_matrix(target, pred))
        np.testing.assert_array_equal(confusion_matrix(pred, target, num_classes=k),
                                      skm.confusion_matrix(target, pred, labels=np.arange(k)))
        labels = np.union1d(pred, target)
        binary_ok = len(labels) == 1 or (len(labels) == 2 and 1 in labels)   # as sklearn's
        averages = ["macro", "micro"] + ["binary"] * binary_ok
        for average in averages:
            ours = precision_recall_f1(pred, target, average=average)
            p, r, f, _ = skm.precision_recall_fscore_support(target, pred, average=average,
                                                             zero_division=0)
            assert ours == pytest.approx((p, r, f), rel=1e-12, abs=1e-15), (average, pred, target)


_WORDS = ["the", "cat", "sat", "on", "mat", "a", "dog", "3.50", "1-2", "U.S.", "don't", "well,",
          "end.", "(x)", "&amp;", "&quot;hi&quot;", "<skipped>", "-\n", "我", "是", "程序员", "，",
          "—", "€", "'s", "x-ray", "1,000", "$5", "\t", "ÄÖ"]


def _random_text(rng, n_max=15):
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(0, n_max)))


def _perturb(rng, text):
    words = text.split(" ")
    for _ in range(rng.randint(0, 4)):
        i = rng.randrange(len(words) + 1)
        if rng.random() < 0.5 and i < len(words):
            del words[i]
        else:
            words.insert(i, rng.choice(_WORDS))
    return " ".join(words)


@pytest.mark.parametrize("tokenize", ["13a", "zh", "char", "none"])
def test_bleu_matches_sacrebleu_on_random_corpora(tokenize):
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = random.Random(7)
    for case in range(60):
        n_refs, n_sent = rng.randint(1, 3), rng.randint(1, 8)
        refs = [[_random_text(rng) for _ in range(n_refs)] for _ in range(n_sent)]
        hyps = [_perturb(rng, r[0]) if rng.random() < 0.8 else _random_text(rng) for r in refs]
        lowercase, max_n = case % 5 == 0, rng.choice([4, 4, 2, 5])
        ours = corpus_bleu(hyps, refs, max_n=max_n, tokenize=tokenize, lowercase=lowercase)
        theirs = sacrebleu.metrics.BLEU(tokenize=tokenize, lowercase=lowercase,
                                        max_ngram_order=max_n).corpus_score(
            hyps, [list(r) for r in zip(*refs)])
        assert ours.score == theirs.score, (hyps, refs)             # the same float operations
        assert list(ours.precisions) == theirs.precisions
        assert (ours.bp, ours.sys_len, ours.ref_len) == (theirs.bp, theirs.sys_len, theirs.ref_len)
        assert (list(ours.counts), list(ours.totals)) == (theirs.counts, theirs.totals)
        assert str(ours) == str(theirs)


def test_bleu_defaults_match_sacrebleu_corpus_bleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps = ["The cat sat on the mat.", "It costs $3.50, not 1-2 dollars!", "我是程序员"]
    refs = ["The cat is on the mat.", "It costs 3.50 dollars, not 1-2!", "我是一个程序员"]
    assert str(corpus_bleu(hyps, refs)) == str(sacrebleu.corpus_bleu(hyps, [refs]))


def test_tokenizers_match_sacrebleu_on_random_unicode():
    pytest.importorskip("sacrebleu")
    from sacrebleu.metrics.bleu import _get_tokenizer
    from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh
    rng = random.Random(3)
    pools = [range(0x20, 0x7F), range(0x2000, 0x2100), range(0x3000, 0x3100),
             range(0x4E00, 0x4F00), range(0xFF00, 0xFFF0), range(0x1F600, 0x1F650)]
    for tokenize in ["13a", "zh", "char", "none"]:
        theirs = _get_tokenizer(tokenize)()
        for _ in range(300):
            text = "".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(0, 30)))
            assert tokenize_bleu(text, tokenize) == theirs(text.rstrip()).split(), text

    code_points = np.arange(0x30000)
    ours = np.zeros(len(code_points), dtype=bool)
    for lo, hi in _ZH_RANGES:
        ours |= (lo <= code_points) & (code_points <= hi)
    theirs = [TokenizerZh._is_chinese_char(chr(c)) for c in code_points]
    np.testing.assert_array_equal(ours, theirs)      # the same "Chinese" code points, quirks too
