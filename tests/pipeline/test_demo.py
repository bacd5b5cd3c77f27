"""The demo at a reduced size finishes and writes its plots and summary."""
import pytest

from transformer.cli import main


@pytest.mark.slow
def test_demo_reduced(tmp_path, corpus, reviews, tiny_model, capsys):
    runs = tmp_path / "runs"
    assert main(["demo", "--corpus", str(corpus), "--task", str(reviews), *tiny_model,
                 "--steps", "6", "--finetune-steps", "4", "--batch-size", "4",
                 "--run", "demo", "--runs-dir", str(runs), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "== 1. pretraining" in out and "== 3. the same classifier from random weights" in out
    assert "| pretrained GPT |" in out and "| from scratch |" in out
    demo = runs / "demo"
    for plot in ["plots/attention.png", "plots/comparison.png", "pretrain/plots/loss.png",
                 "pretrain/plots/lr.png", "finetune/plots/confusion.png",
                 "scratch/plots/confusion.png"]:
        assert (demo / plot).stat().st_size > 1000, plot
    assert "pretrained GPT" in (demo / "summary.md").read_text(encoding="utf-8")
