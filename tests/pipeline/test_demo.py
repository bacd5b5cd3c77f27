"""The demo at a reduced size finishes and writes its plots and summary; what it pretrains on
holds no text its classifiers or taggers are validated or tested on."""
import pytest

from transformer.cli import main
from transformer.demo import verdict
from transformer.pipeline import task_split
from transformer.pipeline.pretraining import held_out_texts, lines_without


def test_lines_without_drops_every_line_that_holds_a_text():
    lines = ["今天天气很好", "我们去北京。今天天气很好！", "他说：北京欢迎你", "天气", ""]
    assert lines_without(lines, {"今天天气很好"}) == ["他说：北京欢迎你", "天气", ""]
    assert lines_without(lines, {"北京", "天气"}) == [""]
    assert lines_without(lines, set()) == lines
    assert lines_without(lines, {"好\n我"}) == lines[2:]             # across two lines: both
    assert lines_without(lines, {""}) == lines


@pytest.mark.slow
def test_demo_reduced(tmp_path, corpus, reviews, tiny_model, capsys):
    runs = tmp_path / "runs"
    held = sorted(held_out_texts("segmentation", 200, range(2)))
    news = tmp_path / "news.txt"                  # the corpus, with held-out sentences inside
    news.write_text(corpus.read_text(encoding="utf-8") + "".join(
        f"前言{text}后记\n" for text in held[:5]), encoding="utf-8")
    assert main(["demo", "--corpus", f"{news}+task-texts", "--task", str(reviews), *tiny_model,
                 "--steps", "6", "--finetune-steps", "4", "--batch-size", "4", "--seeds", "2",
                 "--train-limit", "50", "--tagging-limit", "200", "--tagging-labels", "20", "--tagging-steps", "4",
                 "--run", "demo", "--runs-dir", str(runs), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "== 1. pretraining" in out and "== 3. the same classifier from random weights" in out
    assert "| pretrained GPT | 1 |" in out and "| from scratch | 1 |" in out
    assert "over 2 seed(s)" in out
    demo = runs / "demo"
    for plot in ["plots/attention.png", "plots/comparison.png", "pretrain/plots/loss.png",
                 "pretrain/plots/lr.png", "finetune/plots/confusion.png",
                 "scratch/plots/confusion.png", "scratch-seed1/plots/confusion.png"]:
        assert (demo / plot).stat().st_size > 1000, plot
    assert "pretrained GPT" in (demo / "summary.md").read_text(encoding="utf-8")
    assert f"Pretrained on {news}+task-texts. " in out
    assert "== 4. segmentation of unseen news sentences" in out
    assert "| pretrained GPT | 1 |" in out.split("Segmentation of news sentences")[1]
    assert "5 of " in out and "lines left out of pretraining" in out
    read = (demo / "pretrain-corpus.txt").read_text(encoding="utf-8")
    assert not any(text in read for text in held)
    assert corpus.read_text(encoding="utf-8").splitlines()[0] in read
    for folder in ["tagger-pretrained", "tagger-scratch-seed1"]:
        assert (demo / folder / "checkpoint.npz").exists(), folder
    pretrained_on = set((demo / "task-texts.txt").read_text(encoding="utf-8").splitlines())
    for seed in (0, 1):
        (train, valid, test), _ = task_split(str(reviews), 0, seed, train_limit=50)
        assert not pretrained_on & {text for text, _ in valid + test}
        assert pretrained_on & {text for text, _ in train}     # unlabeled training texts: in


def test_verdict_compares_the_difference_with_two_standard_errors():
    def report(accuracy, n=400):
        return {"accuracy": accuracy, "confusion_matrix": [[n // 2, 0], [0, n - n // 2]]}
    # p = 0.75, n = 400, 2 seeds: 2·√(2·0.1875 / 800) = 0.0433
    assert verdict([report(0.80), report(0.78)], [report(0.71), report(0.71)]).startswith(
        "Pretraining helped")
    assert "±0.043" in verdict([report(0.80)] * 2, [report(0.70)] * 2)
    assert verdict([report(0.76)] * 2, [report(0.74)] * 2).startswith("No measurable")
    assert verdict([report(0.60)] * 2, [report(0.70)] * 2).startswith("Pretraining hurt")
