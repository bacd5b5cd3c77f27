"""Pretraining on a task's unlabeled texts leaks none of the texts the classifiers are measured
on, and a corpus can join several sources with "+"."""
import pytest

from transformer.data_files import DataError, load_corpus, load_task
from transformer.pipeline import task_split
from transformer.pipeline.pretraining import task_texts


def held_out(task, limit, seeds):
    """The texts any seed's fine-tuning validates or tests on."""
    texts = set()
    for seed in seeds:
        (_, valid, test), _ = task_split(task, limit, seed, warn=lambda *_: None)
        texts.update(text for text, _ in valid + test)
    return texts


@pytest.mark.parametrize("limit", [0, 60])
def test_task_texts_hold_no_validation_or_test_text_of_any_seed(reviews, limit):
    texts = task_texts(str(reviews), limit, seeds=[0, 1])
    assert not set(texts) & held_out(str(reviews), limit, [0, 1])
    # and nothing else is dropped: every other text of the task is there, label-free
    everything = {text for text, _ in load_task(str(reviews))[0]}
    assert set(texts) == everything - held_out(str(reviews), limit, [0, 1])
    assert all(isinstance(text, str) for text in texts)


def test_task_texts_of_more_seeds_hold_out_more(reviews):
    one, two = task_texts(str(reviews), 0, [0]), task_texts(str(reviews), 0, [0, 1])
    assert set(two) < set(one)
    assert not set(one) & held_out(str(reviews), 0, [0])


def test_a_corpus_joins_its_parts_with_plus(corpus, tmp_path):
    extra = tmp_path / "extra.txt"
    extra.write_text("第一行\n第二行\n", encoding="utf-8")
    lines = load_corpus(f"{corpus}+{extra}")
    assert lines == load_corpus(str(corpus)) + ["第一行", "第二行"]
    with pytest.raises(DataError, match="unknown corpus 'nonsense'"):
        load_corpus(f"{extra}+nonsense")


def test_a_path_with_a_plus_is_read_whole(tmp_path):
    path = tmp_path / "a+b.txt"
    path.write_text("一\n", encoding="utf-8")
    assert load_corpus(str(path)) == ["一"]


def test_a_tagging_task_has_no_task_texts():
    with pytest.raises(DataError, match="tagging task"):
        task_texts("segmentation", 0, seeds=[0])


def test_the_demo_corpus_of_the_real_reviews_leaks_no_test_review():
    texts = set(task_texts("sentiment", 3000, seeds=[0, 1]))
    assert not texts & held_out("sentiment", 3000, [0, 1])
    assert len(texts) > 16_000                   # 17,363 reviews, at most 1,200 held out
