"""Bad input: one ``error:`` line on stderr and a non-zero exit, never a traceback."""
import shutil

import pytest

import minigrad as mg
from minigrad.errors import CheckpointError
from transformer.checkpoint import load_checkpoint
from transformer.cli import main
from transformer.pipeline import PretrainConfig, pretrain


@pytest.fixture(scope="module")
def runs(tmp_path_factory, corpus, reviews, tiny_model):
    """A pretrained GPT (runs/lm) and a classifier (runs/clf), two steps each."""
    before = mg.get_num_threads()
    mg.set_num_threads(1)
    folder = tmp_path_factory.mktemp("runs")
    common = ["--steps", "2", "--eval-every", "2", "--runs-dir", str(folder), "--no-progress",
              "--no-plots"]
    assert main(["pretrain", "--corpus", str(corpus), *tiny_model, "--sample-tokens", "2",
                 "--run", "lm", *common]) == 0
    assert main(["finetune", "--task", str(reviews), "--init", str(folder / "lm"),
                 "--run", "clf", *common]) == 0
    mg.set_num_threads(before)
    return folder


def fails(capsys, args, *expected):
    """main(args) exits with 1 and prints one error line holding every expected piece."""
    capsys.readouterr()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: ") and err.count("\n") == 1, err
    for piece in expected:
        assert piece in err, (piece, err)


def pretrain_args(corpus, tmp_path, tiny_model):
    return ["pretrain", "--corpus", str(corpus), *tiny_model, "--steps", "1", "--runs-dir",
            str(tmp_path), "--run", "x", "--no-progress", "--no-plots", "--sample-tokens", "1"]


def test_missing_corpus(tmp_path, tiny_model, capsys):
    fails(capsys, pretrain_args(tmp_path / "nope.txt", tmp_path, tiny_model), "nope.txt",
          "no such file")


def test_empty_corpus(tmp_path, tiny_model, capsys):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    fails(capsys, pretrain_args(tmp_path / "empty.txt", tmp_path, tiny_model), "empty.txt",
          "holds no text")


def test_corpus_shorter_than_the_context(tmp_path, tiny_model, capsys):
    (tmp_path / "short.txt").write_text("我们\n学习\n语言\n模型\n", encoding="utf-8")
    fails(capsys, pretrain_args(tmp_path / "short.txt", tmp_path, tiny_model), "short.txt",
          "too short for a context of block_size=16")


def test_non_utf8_bytes_are_replaced_and_reported(tmp_path, corpus, tiny_model, capsys):
    path = tmp_path / "latin.txt"
    path.write_bytes(corpus.read_bytes() + b"caf\xe9 \xff\xfe\n" + corpus.read_bytes())
    assert main(pretrain_args(path, tmp_path, tiny_model)) == 0
    assert "latin.txt: 3 byte(s) are not UTF-8 and were replaced by U+FFFD" \
        in capsys.readouterr().out


def test_resume_with_another_model_configuration(runs, capsys):
    fails(capsys, ["pretrain", "--run", "lm", "--runs-dir", str(runs), "--resume",
                   "--n-embd", "32"], "lm/checkpoint.npz", "another configuration",
          "--n-embd: checkpoint 16, requested 32")


def test_checkpoint_of_another_model_configuration(runs, tmp_path, tiny_model, capsys):
    """A checkpoint whose weights disagree with the configuration the run asks for."""
    shutil.copytree(runs / "lm", tmp_path / "lm")
    config = load_checkpoint(tmp_path / "lm" / "checkpoint.npz")["run_config"]
    config = {k: v for k, v in config.items() if k != "command"}
    with pytest.raises(CheckpointError, match="n_layer: checkpoint 1, requested 2"):
        pretrain(PretrainConfig(**{**config, "n_layer": 2}), tmp_path / "lm", resume=True,
                 progress=False, echo=lambda *a: None, plots=False)


def test_truncated_checkpoint(runs, tmp_path, capsys):
    data = (runs / "lm" / "checkpoint.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    fails(capsys, ["evaluate", "--checkpoint", str(tmp_path / "cut.npz")], "cut.npz",
          "truncated")


def test_resume_without_a_checkpoint(tmp_path, capsys):
    fails(capsys, ["pretrain", "--run", "never", "--runs-dir", str(tmp_path), "--resume"],
          "never/checkpoint.npz", "no such file")


def test_unknown_label(runs, tmp_path, capsys):
    (tmp_path / "odd.tsv").write_text("很好\tpositive\n一般\tneutral\n", encoding="utf-8")
    fails(capsys, ["evaluate", "--checkpoint", str(runs / "clf"), "--data",
                   str(tmp_path / "odd.tsv")], "odd.tsv:2", "unknown label 'neutral'",
          "negative, positive")


def test_missing_label(tmp_path, capsys):
    (tmp_path / "gap.tsv").write_text("很好\tpositive\n太差了\n", encoding="utf-8")
    fails(capsys, ["finetune", "--task", str(tmp_path / "gap.tsv"), "--runs-dir",
                   str(tmp_path), "--no-progress"], "gap.tsv:2", "expected 2 fields (text, label)")


def test_unknown_flag(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["pretrain", "--stepz", "3"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unrecognized arguments: --stepz") and err.count("\n") == 1


@pytest.mark.parametrize("command", ["demo", "pretrain", "finetune", "evaluate", "generate"])
def test_cuda_without_a_gpu(runs, command, capsys):
    """Every command checks the device before reading or training anything."""
    if mg.cuda.is_available():
        pytest.skip("a GPU is available here")
    args = {"evaluate": ["--checkpoint", str(runs / "lm")],
            "generate": ["--checkpoint", str(runs / "lm"), "--prompt", "我们"]}.get(
                command, ["--runs-dir", str(runs), "--no-progress"])
    fails(capsys, [command, *args, "--device", "cuda"], "--device cuda: no usable GPU")
