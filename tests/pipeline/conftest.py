"""Fixtures of the pipeline tests: tiny files made here, tiny models, one thread."""
import random

import pytest

import minigrad as mg

WORDS = "我们 今天 天气 很好 学习 模型 语言 中国 人民 发展 经济 建设 的 了 是 在".split()


@pytest.fixture(autouse=True)
def one_thread():
    """One BLAS/Numba thread: the models are tiny, and threads fight over shared cores."""
    before = mg.get_num_threads()
    mg.set_num_threads(1)
    yield
    mg.set_num_threads(before)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """A text file of 200 made-up Chinese sentences (~5k characters)."""
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("data") / "corpus.txt"
    path.write_text("".join("".join(rng.choice(WORDS) for _ in range(10)) + "。\n"
                            for _ in range(200)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def reviews(tmp_path_factory):
    """A text<TAB>label file of 120 reviews whose label shows in one word."""
    rng = random.Random(1)
    good, bad = ["很好", "喜欢", "满意", "推荐"], ["太差", "失望", "讨厌", "糟糕"]
    lines = []
    for i in range(120):
        label = "positive" if i % 2 else "negative"
        word = rng.choice(good if i % 2 else bad)
        lines.append(f"这个{rng.choice(WORDS)}{word}\t{label}\n")
    path = tmp_path_factory.mktemp("data") / "reviews.tsv"
    path.write_text("".join(lines), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_model():
    """The model flags every test uses: one layer, two heads, width 16, context 16."""
    return ["--block-size", "16", "--n-layer", "1", "--n-head", "2", "--n-embd", "16"]
