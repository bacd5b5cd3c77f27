"""Resume equivalence: a run interrupted and resumed computes the same losses as one that never
stopped (to 1e-6), with dropout on so that the random generator's state matters too."""
import numpy as np
import pytest

from transformer.checkpoint import load_checkpoint
from transformer.pipeline import FinetuneConfig, PretrainConfig, finetune, pretrain
from transformer.runs import Run

TINY = dict(block_size=16, n_layer=1, n_head=2, n_embd=16, dropout=0.1)


def losses(run_dir):
    return {r["step"]: r["loss"] for r in Run(run_dir).metrics() if "loss" in r}


def quiet(*args):
    pass


@pytest.mark.parametrize("model", ["gpt", "bert"])
def test_pretrain_resume_is_exact(tmp_path, corpus, model):
    config = PretrainConfig(model=model, corpus=str(corpus), steps=8, batch_size=4, eval_every=4,
                            warmup_steps=2, sample_tokens=2, **TINY)
    run = dict(progress=False, echo=quiet, plots=False)
    pretrain(config, tmp_path / "whole", **run)
    _, _, stopped = pretrain(config, tmp_path / "split", stop_at=3, **run)
    assert stopped.interrupted and stopped.step == 3
    _, _, resumed = pretrain(config, tmp_path / "split", resume=True, **run)
    assert not resumed.interrupted and min(resumed.losses) == 4
    whole, split = losses(tmp_path / "whole"), losses(tmp_path / "split")
    assert list(split) == list(range(1, 9))
    assert [split[s] for s in split] == pytest.approx([whole[s] for s in split], abs=1e-6)
    # and the runs end with the same weights
    a = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")["model"]
    b = load_checkpoint(tmp_path / "split" / "checkpoint.npz")["model"]
    assert all(np.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_finetune_resume_is_exact(tmp_path, reviews):
    config = FinetuneConfig(task=str(reviews), steps=6, batch_size=8, eval_every=3,
                            warmup_steps=1, **TINY)
    run = dict(progress=False, echo=quiet, plots=False)
    finetune(config, tmp_path / "whole", **run)
    _, _, report = finetune(config, tmp_path / "split", stop_at=2, **run)
    assert report == {"interrupted": True, "step": 2}
    _, _, report = finetune(config, tmp_path / "split", resume=True, **run)
    whole, split = losses(tmp_path / "whole"), losses(tmp_path / "split")
    assert list(split) == list(range(1, 7))
    assert [split[s] for s in split] == pytest.approx([whole[s] for s in split], abs=1e-6)
    assert report["step"] == 6 and 0 <= report["accuracy"] <= 1
