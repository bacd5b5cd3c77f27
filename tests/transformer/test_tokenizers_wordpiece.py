"""WordPieceTokenizer without an oracle: a small hand-made vocab.txt, and the expectations of
Google BERT's own tokenization_test.py, so the logic is covered on every machine."""
import json
import unicodedata

import numpy as np
import pytest

from transformer.tokenizers import TokenizerError, TokenizerFileError, WordPieceTokenizer
from transformer.tokenizers.bert_basic import (basic_tokenize, is_control, is_punctuation,
                                               is_whitespace)

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "want", "##want", "##ed", "wa", "un",
         "runn", "##ing", ",", "!", "?", "'", "t", "don", "a", "##a", "b", "c", "creme", "cafe",
         "我", "爱", "你", "hello", "Hello", "世", "界", "$", "^", "~", "|", "<", "`", "10"]


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def tok(model_dir):
    return WordPieceTokenizer.from_pretrained(model_dir)


def ids(*tokens):
    return [VOCAB.index(t) for t in tokens]


# --- Google's tokenization_test.py, same inputs and expected outputs -------------------------
def test_google_basic_tokenizer_lower():
    assert basic_tokenize(" \tHeLLo!how  \n Are yoU?  ") == ["hello", "!", "how", "are", "you", "?"]
    assert basic_tokenize("H\u00E9llo") == ["hello"]


def test_google_basic_tokenizer_no_lower():
    assert basic_tokenize(" \tHeLLo!how  \n Are yoU?  ", lower_case=False) == [
        "HeLLo", "!", "how", "Are", "yoU", "?"]


def test_google_chinese():
    assert basic_tokenize("ah\u535A\u63A8zz") == ["ah", "\u535A", "\u63A8", "zz"]


def test_google_wordpiece():
    google = WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]", "want", "##want", "##ed", "wa", "un",
                                 "runn", "##ing"])
    assert google.tokenize("") == []
    assert google.tokenize("unwanted running") == ["un", "##want", "##ed", "runn", "##ing"]
    assert google.tokenize("unwantedX running") == ["[UNK]", "runn", "##ing"]
    with pytest.raises(TokenizerError, match="'\\[PAD\\]' is not in the vocabulary"):
        google.batch_encode(["un", "unwanted"])                 # no [PAD] to pad with


def test_google_character_classes():
    assert all(is_whitespace(c) for c in " \t\r\n\u00A0")
    assert not any(is_whitespace(c) for c in "A-")
    assert is_control("\u0005")
    assert not any(is_control(c) for c in "A \t\r\U0001F4A9")
    assert all(is_punctuation(c) for c in "-$`.")
    assert not any(is_punctuation(c) for c in "A ")


# --- our own cases ----------------------------------------------------------------------------
def test_cleanup_cjk_accents_and_punctuation():
    assert basic_tokenize("a\x00b\ufffdc\x07d\u200be") == ["abcde"]     # dropped, not spaces
    assert basic_tokenize("a\u3000b\u00a0c\u2028d") == ["a", "b", "c", "d"]
    assert basic_tokenize("我爱你hello안녕", lower_case=False) == ["我", "爱", "你", "hello안녕"]
    # Hangul is not CJK, so it stays in its word; stripping accents decomposes it into jamo.
    assert basic_tokenize("안녕") == [unicodedata.normalize("NFD", "안녕")] != ["안녕"]
    assert basic_tokenize("Crème BRÛLÉE") == ["creme", "brulee"]
    assert basic_tokenize("Crème", lower_case=True, accents=False) == ["crème"]
    assert basic_tokenize("Crème", lower_case=False, accents=True) == ["Creme"]
    assert basic_tokenize("$5^2~a|b<c`d") == ["$", "5", "^", "2", "~", "a", "|", "b", "<", "c",
                                               "`", "d"]
    assert basic_tokenize("«wow»—yes…") == ["«", "wow", "»", "—", "yes", "…"]
    assert basic_tokenize("ΟΔΟΣ") == ["οδοσ"]          # one character at a time, as HF does


def test_encode_single_adds_cls_and_sep(tok):
    assert tok.encode("unwanted, Running!") == ids("[CLS]", "un", "##want", "##ed", ",", "runn",
                                                   "##ing", "!", "[SEP]")
    assert tok.encode("") == ids("[CLS]", "[SEP]")
    assert tok.encode("我爱你", add_special_tokens=False) == ids("我", "爱", "你")
    assert tok.encode("Crème café") == ids("[CLS]", "creme", "cafe", "[SEP]")


def test_long_words_become_unk(tok):
    assert tok.tokenize("a" * 100) == ["a"] + ["##a"] * 99
    assert tok.tokenize("a" * 101) == ["[UNK]"]
    assert tok.tokenize("aa b") == ["a", "##a", "b"]
    assert tok.tokenize("aab xyz") == ["[UNK]", "[UNK]"]        # no "##b": the whole word


def test_special_token_strings_in_text_are_kept(tok):
    assert tok.tokenize("hello[SEP]a [MASK]") == ["hello", "[SEP]", "a", "[MASK]"]
    assert tok.tokenize("[sep]") == ["[UNK]", "[UNK]", "[UNK]"]        # "[", "sep", "]"


def test_cased_vocabulary_from_tokenizer_config(model_dir):
    (model_dir / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": False}))
    cased = WordPieceTokenizer.from_pretrained(model_dir)
    assert cased.tokenize("Hello hello") == ["Hello", "hello"]
    assert cased.tokenize("Crème") == ["[UNK]"]                          # accents kept


def test_pair_gives_token_type_ids(tok):
    enc = tok.encode_plus("want", "a b")
    assert enc["input_ids"] == ids("[CLS]", "want", "[SEP]", "a", "b", "[SEP]")
    assert enc["token_type_ids"] == [0, 0, 0, 1, 1, 1]
    assert enc["attention_mask"] == [1] * 6


@pytest.mark.parametrize("len_a, len_b, max_length, kept", [
    (10, 4, 12, (5, 4)),     # only the longer one is cut: 12 - 3 specials - 4
    (4, 10, 12, (4, 5)),
    (6, 6, 11, (4, 4)),      # both cut, room 8 split evenly
    (6, 6, 12, (4, 5)),      # room 9: with equal lengths the second keeps the extra token
    (3, 10, 8, (2, 3)),      # room 5: the shorter (3 > 5 // 2) is cut too, the longer gets 3
    (10, 3, 8, (3, 2)),
    (2, 2, 7, (2, 2)),       # fits
])
def test_pair_truncation_is_longest_first(tok, len_a, len_b, max_length, kept):
    enc = tok.encode(" ".join(["a"] * len_a), " ".join(["b"] * len_b), max_length=max_length,
                     truncation=True)
    assert enc == ids("[CLS]", *["a"] * kept[0], "[SEP]", *["b"] * kept[1], "[SEP]")


def test_single_truncation_and_its_errors(tok):
    assert tok.encode("a b c d", max_length=4, truncation=True) == ids("[CLS]", "a", "b", "[SEP]")
    assert tok.encode("a b c d", max_length=2, truncation=True, add_special_tokens=False) == ids(
        "a", "b")
    with pytest.raises(TokenizerError, match="truncation=False"):
        tok.encode("a b", max_length=3)
    with pytest.raises(TokenizerError, match="max_length=1 leaves no room"):
        tok.encode("a", max_length=1, truncation=True)


def test_batch_encode_pads_with_the_pad_id(tok):
    out = tok.batch_encode(["a", "a b c", ""])
    assert set(out) == {"input_ids", "attention_mask", "token_type_ids"}
    assert all(v.dtype == np.int64 and v.shape == (3, 5) for v in out.values())
    a, b, c, cls, sep, pad = ids("a", "b", "c", "[CLS]", "[SEP]", "[PAD]")
    np.testing.assert_array_equal(out["input_ids"], [[cls, a, sep, pad, pad],
                                                     [cls, a, b, c, sep],
                                                     [cls, sep, pad, pad, pad]])
    np.testing.assert_array_equal(out["attention_mask"], [[1, 1, 1, 0, 0], [1] * 5,
                                                          [1, 1, 0, 0, 0]])
    np.testing.assert_array_equal(out["token_type_ids"], np.zeros((3, 5)))


def test_batch_encode_pairs_max_length_and_truncation(tok):
    out = tok.batch_encode(["a b c", "a"], text_pairs=["b", "c c c c"], max_length=6,
                           padding="max_length")
    a, b, c, cls, sep = ids("a", "b", "c", "[CLS]", "[SEP]")
    np.testing.assert_array_equal(out["input_ids"], [[cls, a, b, sep, b, sep],
                                                     [cls, a, sep, c, c, sep]])
    np.testing.assert_array_equal(out["token_type_ids"], [[0, 0, 0, 0, 1, 1], [0, 0, 0, 1, 1, 1]])
    wide = tok.batch_encode(["a"], padding="max_length", max_length=4, truncation=False)
    assert wide["input_ids"].shape == (1, 4)
    with pytest.raises(TokenizerError, match="text 0 has 5 tokens, more than max_length=4"):
        tok.batch_encode(["a b c"], padding="max_length", max_length=4, truncation=False)
    with pytest.raises(TokenizerError, match="2 texts but 1 text_pairs"):
        tok.batch_encode(["a", "b"], text_pairs=["c"])
    with pytest.raises(TokenizerError, match="needs max_length"):
        tok.batch_encode(["a"], padding="max_length")


def test_truncation_default_is_model_max_length(model_dir):
    (model_dir / "tokenizer_config.json").write_text(json.dumps({"model_max_length": 5}))
    short = WordPieceTokenizer.from_pretrained(model_dir)
    assert short.batch_encode(["a a a a a a a a"])["input_ids"].shape == (1, 5)


def test_decode_joins_pieces_and_cleans_spaces(tok):
    enc = tok.encode("unwanted, running! don't")
    assert tok.decode(enc) == "unwanted, running! don ' t"      # HF's per-token cleanup
    assert tok.decode(enc, skip_special_tokens=False).startswith("[CLS] unwanted,")
    with pytest.raises(TokenizerError, match="id 999 is not in the vocabulary"):
        tok.decode([999])


def test_file_errors_name_the_file(tmp_path):
    with pytest.raises(TokenizerFileError, match="vocab.txt"):
        WordPieceTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    with pytest.raises(TokenizerFileError, match="vocab.txt.*no \\[UNK\\]"):
        WordPieceTokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.txt").write_text("[UNK]\n")
    (tmp_path / "tokenizer_config.json").write_text("{oops")
    with pytest.raises(TokenizerFileError, match="tokenizer_config.json"):
        WordPieceTokenizer.from_pretrained(tmp_path)
