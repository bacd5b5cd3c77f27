"""CharTokenizer: vocabulary order, unknown characters, special tokens, round trips, files."""
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.tokenizers import CharTokenizer, TokenizerError, TokenizerFileError

ARTICLE = "我是一个程序员，喜欢编程和解决问题"


def test_ids_are_specials_then_characters_in_code_point_order():
    tok = CharTokenizer.from_text("banana!", special_tokens=["<bos>", "<eos>"])
    assert tok.vocab_size == 3 + 4                        # <unk> <bos> <eos> + "!abn"
    assert [tok.id_to_token(i) for i in range(7)] == ["<unk>", "<bos>", "<eos>", "!", "a", "b", "n"]
    assert tok.encode("nab!") == [6, 4, 5, 3]


def test_article_sentence_is_one_token_per_character():
    tok = CharTokenizer.from_text(ARTICLE)
    ids = tok.encode(ARTICLE)
    chars = sorted(set(ARTICLE))
    assert len(ids) == 17
    assert ids == [1 + chars.index(c) for c in ARTICLE]   # 0 is <unk>
    assert tok.decode(ids) == ARTICLE
    assert tok.encode("程序") == [tok.token_to_id("程"), tok.token_to_id("序")]


def test_unknown_characters_map_to_unk_id_and_unk_token_is_configurable():
    tok = CharTokenizer.from_text("abc", unk_token="<?>")
    assert tok.token_to_id("<?>") == 0
    assert tok.encode("axc😀") == [1, 0, 3, 0]
    assert tok.decode([1, 0]) == "a<?>"
    assert tok.decode([1, 0], skip_special_tokens=True) == "a"


def test_without_unk_token_an_unknown_character_raises_naming_it():
    tok = CharTokenizer.from_text("abc", unk_token=None)
    assert tok.vocab_size == 3
    with pytest.raises(TokenizerError, match=r"'x' \(U\+0078\) at position 1"):
        tok.encode("ax")


def test_special_token_strings_in_text_are_plain_characters():
    tok = CharTokenizer.from_text("<unk>")
    assert tok.encode("<unk>") == [tok.token_to_id(c) for c in "<unk>"]


def test_bad_vocabularies_and_ids_raise():
    with pytest.raises(TokenizerError, match="appears twice"):
        CharTokenizer(["a", "b"], special_tokens=["a"])
    with pytest.raises(TokenizerError, match="not a single character"):
        CharTokenizer(["ab"])
    tok = CharTokenizer.from_text("ab")
    with pytest.raises(TokenizerError, match=r"id 3 is outside the vocabulary \[0, 3\)"):
        tok.decode([1, 3])
    with pytest.raises(TokenizerError, match="'z' is not in the vocabulary"):
        tok.token_to_id("z")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_round_trip_on_arbitrary_unicode(text):
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert len(ids) == len(text)
    assert 0 not in ids                                   # every character is known
    assert tok.decode(ids) == text


def test_emoji_with_joiners_are_code_points():
    text = "👩‍💻 e\u0301"                                      # woman+ZWJ+laptop, e+combining acute
    tok = CharTokenizer.from_text(text)
    assert len(tok.encode(text)) == 6
    assert tok.decode(tok.encode(text)) == text


def test_save_load_round_trip_is_atomic(tmp_path):
    tok = CharTokenizer.from_text(ARTICLE + "abc😀\x00", special_tokens=["<pad>"], unk_token="<u>")
    path = tmp_path / "char.json"
    tok.save(path)
    assert os.listdir(tmp_path) == ["char.json"]          # no temporary file left behind
    loaded = CharTokenizer.load(path)
    text = "abc 程序员😀\x00"
    assert loaded.encode(text) == tok.encode(text)
    assert loaded.special_tokens == ["<u>", "<pad>"] and loaded.vocab_size == tok.vocab_size


def test_load_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(TokenizerFileError, match="nope.json"):
        CharTokenizer.load(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(TokenizerFileError, match="broken.json.*not valid JSON"):
        CharTokenizer.load(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"type": "bpe", "version": 1}))
    with pytest.raises(TokenizerFileError, match="holds a 'bpe' tokenizer, expected 'char'"):
        CharTokenizer.load(other)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"type": "char", "version": 1, "chars": ["a"]}))
    with pytest.raises(TokenizerFileError, match="partial.json.*lacks"):
        CharTokenizer.load(partial)
    dup = tmp_path / "dup.json"
    dup.write_text(json.dumps({"type": "char", "version": 1, "chars": ["a", "a"],
                               "special_tokens": [], "unk_token": None}))
    with pytest.raises(TokenizerFileError, match="dup.json.*bad vocabulary"):
        CharTokenizer.load(dup)
