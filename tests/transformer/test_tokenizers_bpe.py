"""BPETokenizer: training and encoding against a plain recount-everything reference (minbpe's
loops), round trips on arbitrary Unicode, split patterns, special tokens, files, speed."""
import json
import os
import random
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transformer.tokenizers import (GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, BPETokenizer,
                                    TokenizerError, TokenizerFileError)

PATTERNS = [None, GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN]
CORPUS = ("The quick brown fox jumps over the lazy dog. It's 2024; don't panic!\n"
          "我是一个程序员，喜欢编程和解决问题。 Crème brûlée, naïve café. 😀🚀👩‍💻 \t\x00\x07 "
          "aaaa bbbb aaaa abab ") * 5


# --- the reference: minbpe's straightforward loops (count every pair again after each merge) ---
def merge(ids, pair, new):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def reference_train(text, vocab_size, pattern):
    chunks = re.findall(pattern, text) if pattern else ([text] if text else [])
    seqs = [list(c.encode("utf-8", "surrogatepass")) for c in chunks]
    merges = {}
    for new in range(256, vocab_size):
        counts = {}
        for seq in seqs:
            for pair in zip(seq, seq[1:]):
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        best = max(counts.values())
        pair = min(p for p, c in counts.items() if c == best)   # ties: the smallest pair
        merges[pair] = new
        seqs = [merge(seq, pair, new) for seq in seqs]
    return merges


def reference_encode(data, merges):
    ids = list(data)
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids


def trained(pattern, vocab_size=400):
    tok = BPETokenizer(pattern)
    tok.train(CORPUS, vocab_size)
    return tok


# ------------------------------------------------------------------------------ training
@pytest.mark.parametrize("pattern", PATTERNS, ids=["none", "gpt2", "gpt4"])
def test_training_equals_recounting_every_merge(pattern):
    tok = trained(pattern)
    assert tok.merges == reference_train(CORPUS, 400, pattern)
    assert tok.vocab_size == 256 + len(tok.merges)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab c\n", max_size=60) | st.text(max_size=30),
       st.integers(256, 300), st.sampled_from(PATTERNS))
def test_training_equals_reference_on_random_texts(text, vocab_size, pattern):
    tok = BPETokenizer(pattern)
    tok.train(text, vocab_size)
    assert tok.merges == reference_train(text, vocab_size, pattern)


def test_training_stops_when_the_text_runs_out_of_pairs():
    tok = BPETokenizer()
    tok.train("abab", 1000)
    assert tok.merges == {(97, 98): 256, (256, 256): 257}
    assert tok.encode("abab") == [257]
    tok.train("", 300)
    assert tok.merges == {}


def test_vocab_holds_the_bytes_of_each_merge():
    tok = trained(None)
    for (a, b), new in tok.merges.items():
        assert tok.vocab[new] == tok.vocab[a] + tok.vocab[b]


def test_bad_vocab_size_raises():
    with pytest.raises(TokenizerError, match="vocab_size must be an int ≥ 256"):
        BPETokenizer().train("abc", 100)


# ------------------------------------------------------------------------------ encoding
@pytest.mark.parametrize("pattern", PATTERNS, ids=["none", "gpt2", "gpt4"])
@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=80) | st.text(alphabet="aab c", max_size=80))
def test_encode_equals_reference_merge_loop(pattern, text):
    tok = trained(pattern)
    chunks = re.findall(pattern, text) if pattern else ([text] if text else [])
    expected = [i for c in chunks for i in reference_encode(c.encode("utf-8"), tok.merges)]
    assert tok.encode(text) == expected


@pytest.mark.parametrize("pattern", PATTERNS, ids=["none", "gpt2", "gpt4"])
@settings(max_examples=200, deadline=None)
@given(text=st.text())
def test_decode_encode_round_trip(pattern, text):
    tok = trained(pattern)
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize("text", ["", "😀🚀👩‍💻", "我是一个程序员，喜欢编程和解决问题", "\x00\x01\x7f\x1b[0m",
                                  "\ud800 lone surrogate \udfff", "e\u0301\u200b\ufeff", CORPUS])
@pytest.mark.parametrize("pattern", PATTERNS, ids=["none", "gpt2", "gpt4"])
def test_round_trip_on_hard_strings(pattern, text):
    tok = trained(pattern)
    assert tok.decode(tok.encode(text)) == text


def test_merges_compress_the_training_text():
    tok = trained(GPT4_SPLIT_PATTERN)
    assert len(tok.encode(CORPUS)) < len(CORPUS.encode("utf-8")) / 3


def test_decode_of_half_a_character_gives_replacement_char():
    tok = BPETokenizer()
    assert tok.decode(list("é".encode("utf-8"))[:1]) == "\ufffd"
    with pytest.raises(TokenizerError, match="id 256 is neither"):
        tok.decode([256])


# ------------------------------------------------------------------------------ patterns
@pytest.mark.parametrize("pattern", [GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN], ids=["gpt2", "gpt4"])
@settings(max_examples=300, deadline=None)
@given(text=st.text())
def test_split_patterns_cover_every_character(pattern, text):
    assert "".join(re.findall(pattern, text)) == text


def test_split_patterns_split_like_gpt2_and_gpt4():
    text = "Hello world's 1234!!\n\n  x"
    assert re.findall(GPT2_SPLIT_PATTERN, text) == [
        "Hello", " world", "'s", " 1234", "!!", "\n\n ", " x"]
    assert re.findall(GPT4_SPLIT_PATTERN, text) == [
        "Hello", " world", "'s", " ", "123", "4", "!!\n\n", " ", " x"]


# ------------------------------------------------------------------------ special tokens
def test_special_tokens():
    tok = trained(GPT4_SPLIT_PATTERN)
    eot, sep = tok.vocab_size, tok.vocab_size + 1
    tok.register_special_tokens({"<|endoftext|>": eot, "<|sep|>": sep})
    text = "hello<|endoftext|>world<|sep|>"
    ids = tok.encode(text, allowed_special="all")
    assert ids == tok.encode("hello") + [eot] + tok.encode("world") + [sep]
    assert tok.decode(ids) == text
    assert tok.encode(text, allowed_special={"<|sep|>"}) == tok.encode_ordinary(
        "hello<|endoftext|>world") + [sep]
    assert tok.encode(text, allowed_special="none") == tok.encode_ordinary(text)
    with pytest.raises(TokenizerError, match="contains special token"):
        tok.encode(text)
    with pytest.raises(TokenizerError, match="not registered"):
        tok.encode(text, allowed_special={"<|nope|>"})
    with pytest.raises(TokenizerError, match="unused int id"):
        tok.register_special_tokens({"<|x|>": 300})            # a merge's id
    with pytest.raises(TokenizerError, match="unused int id"):
        tok.register_special_tokens({"<|x|>": eot})            # taken
    with pytest.raises(TokenizerError, match="would give merges the ids of special tokens"):
        tok.train(CORPUS, eot + 1)


# ----------------------------------------------------------------------------- save/load
def test_save_load_round_trip(tmp_path):
    tok = trained(GPT4_SPLIT_PATTERN)
    tok.register_special_tokens({"<|endoftext|>": 1000})
    path = tmp_path / "bpe.json"
    tok.save(path)
    assert os.listdir(tmp_path) == ["bpe.json"]
    loaded = BPETokenizer.load(path)
    assert loaded.merges == tok.merges and loaded.pattern == tok.pattern
    assert loaded.special_tokens == {"<|endoftext|>": 1000}
    assert loaded.encode(CORPUS + "<|endoftext|>", allowed_special="all") == tok.encode(
        CORPUS + "<|endoftext|>", allowed_special="all")


def test_load_errors_name_the_file(tmp_path):
    def write(name, **fields):
        path = tmp_path / name
        path.write_text(json.dumps({"type": "bpe", "version": 1, "pattern": None,
                                    "special_tokens": {}, **fields}))
        return path
    with pytest.raises(TokenizerFileError, match="future.json.*merge #1 is \\[256, 300\\]"):
        BPETokenizer.load(write("future.json", merges=[[97, 98], [256, 300]]))
    with pytest.raises(TokenizerFileError, match="twice.json.*repeats"):
        BPETokenizer.load(write("twice.json", merges=[[97, 98], [97, 98]]))
    with pytest.raises(TokenizerFileError, match="special.json.*bad special tokens"):
        BPETokenizer.load(write("special.json", merges=[[97, 98]], special_tokens={"<s>": 256}))
    with pytest.raises(TokenizerFileError, match="old.json.*format version 0"):
        BPETokenizer.load(write("old.json", merges=[], version=0))
    with pytest.raises(TokenizerFileError, match="pat.json.*bad pattern"):
        BPETokenizer.load(write("pat.json", merges=[], pattern="("))


# --------------------------------------------------------------------------------- speed
@pytest.mark.slow
def test_training_on_300_kb_takes_seconds():
    rng = random.Random(0)
    words = ["".join(rng.choice("etaoinshrdlucmfwyp") for _ in range(rng.randint(1, 9)))
             for _ in range(3000)]
    text = " ".join(rng.choice(words) for _ in range(60_000))[:300_000]
    for pattern in (None, GPT4_SPLIT_PATTERN):
        tok = BPETokenizer(pattern)
        start = time.perf_counter()
        tok.train(text, 1256)
        assert time.perf_counter() - start < 30       # ~1.5 s unsplit, ~0.2 s split, on one core
        assert len(tok.merges) == 1000
