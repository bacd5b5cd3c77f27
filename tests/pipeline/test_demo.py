"""The demo at a reduced size finishes and writes its plots and summary."""
import pytest

from transformer.cli import main
from transformer.demo import verdict


@pytest.mark.slow
def test_demo_reduced(tmp_path, corpus, reviews, tiny_model, capsys):
    runs = tmp_path / "runs"
    assert main(["demo", "--corpus", str(corpus), "--task", str(reviews), *tiny_model,
                 "--steps", "6", "--finetune-steps", "4", "--batch-size", "4", "--seeds", "2",
                 "--train-limit", "50",
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


def test_verdict_compares_the_difference_with_two_standard_errors():
    def report(accuracy, n=400):
        return {"accuracy": accuracy, "confusion_matrix": [[n // 2, 0], [0, n - n // 2]]}
    # p = 0.75, n = 400, 2 seeds: 2·√(2·0.1875 / 800) = 0.0433
    assert verdict([report(0.80), report(0.78)], [report(0.71), report(0.71)]).startswith(
        "Pretraining helped")
    assert "±0.043" in verdict([report(0.80)] * 2, [report(0.70)] * 2)
    assert verdict([report(0.76)] * 2, [report(0.74)] * 2).startswith("No measurable")
    assert verdict([report(0.60)] * 2, [report(0.70)] * 2).startswith("Pretraining hurt")
