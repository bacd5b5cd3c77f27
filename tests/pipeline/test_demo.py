"""The demo at a reduced size finishes and writes its plots and summary; what it pretrains on
holds no text its classifiers are validated or tested on."""
import pytest

from transformer.cli import main
from transformer.demo import verdict
from transformer.pipeline import task_split


@pytest.mark.slow
def test_demo_reduced(tmp_path, corpus, reviews, tiny_model, capsys):
    runs = tmp_path / "runs"
    assert main(["demo", "--corpus", f"{corpus}+task-texts", "--task", str(reviews), *tiny_model,
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
    assert f"Pretrained on {corpus}+task-texts. " in out
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
