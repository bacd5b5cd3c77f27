"""``compare``: the article's §5 program done right (FORMULAS E2, E3). Does a pretrained
encoder, fine-tuned on a real labeled English set on a CPU, beat what it should beat?

Three models learn the same task from the same train / validation / test split:

    minilm    all-MiniLM-L6-v2 (a 6-layer BERT, C = 384) + a linear head on the pooled [CLS]
              vector, every weight fine-tuned: the article's classifier       (E2)
    scratch   the same BERT (MiniLM's config and WordPiece tokenizer) from random weights,
              the same steps: what pretraining buys
    bow       logistic regression on a bag of words (``baselines.py``): what any model of
              text must beat

Each trains with ``train.fit`` (AdamW, linear warm-up then cosine decay, gradient clipping)
and prints its log in the article's format (E3)::

    Train Step:     1   Loss: 3.086447        the batch's loss, at steps 1, 1 + log_every, ...
    Validation Loss: 2.847190   (step 10, accuracy 0.412)     at each evaluation

The article's "Train Epoch" was a batch index; here the number is what it says, the step.
The run folder holds config.json, metrics.jsonl (every record with its "model"),
plots/loss.png (the real training and validation curves of all three) and summary.md (the
test table and the verdict).

The verdict. Per test text i, d_i = [minilm is right] − [baseline is right]; the gain is
Δ = mean(d) and its standard error (paired, over the n test texts) SE(Δ) = std(d) / √n.
MiniLM beats a baseline "by more than the noise" when Δ > 2 SE(Δ). This is the noise of
drawing n test texts; a different seed also changes the training, which one run cannot see.

Measured once (defaults: topics-en, 21 chatterbot topics, 1,493 / 187 / 187 texts; 2 cores,
one thread): COMPARE_RESULT
"""
import time
from dataclasses import asdict, dataclass

import numpy as np

import minigrad as mg

from .baselines import BagOfWords, BagOfWordsClassifier
from .data_files import DataError, is_tagging
from .model_kinds import build, classifier_config
from .pipeline.common import check_device
from .pipeline.finetuning import encode_examples, minilm, scores, task_split
from .runs import Run
from .train import ClassificationTask, TrainConfig, TrainState, fit, make_optimizer, make_scheduler

__all__ = ["CompareConfig", "MODELS", "compare", "paired_gain"]

MODELS = {"minilm": "MiniLM + linear head", "scratch": "BERT from scratch",
          "bow": "bag of words + logistic regression"}


@dataclass
class CompareConfig:
    """``python -m transformer compare``'s settings."""
    task: str = "topics-en"          # a named classification task or a text<TAB>label file
    limit: int = 0                   # use at most this many examples (0: all)
    train_limit: int = 0             # then train on at most this many of the training part
    max_len: int = 64                # tokens per text
    steps: int = 60                  # optimizer steps of each BERT (MiniLM and scratch)
    batch_size: int = 16
    lr: float = 1e-4                 # MiniLM's peak learning rate
    scratch_lr: float = 1e-4         # the BERT from scratch's
    bow_steps: int = 300             # the bag of words is cheap: it trains to convergence
    bow_lr: float = 0.05
    warmup_steps: int = 6
    weight_decay: float = 0.01
    eval_every: int = 10
    log_every: int = 10              # print a training loss every this many steps
    seed: int = 0


class ArticleLog:
    """``fit``'s ``run``: each record goes to metrics.jsonl with the model's name, and the
    article's log lines go to ``echo``."""

    def __init__(self, run, model, log_every, echo):
        self.run, self.model, self.log_every, self.echo = run, model, log_every, echo

    def log(self, record):
        self.run.log({"model": self.model, **record})
        if "loss" in record and (record["step"] - 1) % self.log_every == 0:
            self.echo(f"Train Step: {record['step']:5d} \tLoss: {record['loss']:.6f}")
        if "val_loss" in record:
            self.echo(f"Validation Loss: {record['val_loss']:.6f}   (step {record['step']}, "
                      f"accuracy {record['val_accuracy']:.3f})")


def paired_gain(correct_a, correct_b):
    """(Δ, SE(Δ)): the mean of d = correct_a − correct_b over the same texts (booleans), and
    its standard error std(d) / √n (module docstring)."""
    d = np.asarray(correct_a, float) - np.asarray(correct_b, float)
    if len(d) < 2:
        raise ValueError(f"paired_gain: needs at least 2 paired results, got {len(d)}")
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))


def compare(config, run_dir, *, device="cpu", echo=print, plots=True):
    """Train the three models of the module docstring on ``config.task``; returns
    {model: its test report (accuracy, precision, recall, F1, loss, ...)} plus "verdict"."""
    check_device(device)
    if is_tagging(config.task):
        raise DataError(f"compare: --task {config.task} is a tagging task; compare classifies "
                        "texts (topics-en, sentiment, topics-zh or a text<TAB>label file)")
    run = Run(run_dir)
    (train, valid, test), label_names = task_split(config.task, config.limit, config.seed,
                                                   warn=echo, train_limit=config.train_limit)
    run.write_config({"command": "compare", **asdict(config), "device": device,
                      "labels": list(label_names)})
    echo(f"compare on {config.task}: {len(train)} / {len(valid)} / {len(test)} train / "
         f"validation / test texts, {len(label_names)} labels")
    K = len(label_names)
    reports, targets = {}, np.array([label for _, label in test])
    for name in MODELS:
        mg.manual_seed(config.seed)
        model, data, pad, steps, lr = _setup(name, config, K, (train, valid, test))
        model.to(device)
        echo(f"--- ({'abc'[list(MODELS).index(name)]}) {MODELS[name]}: "
             f"{model.num_parameters():,} parameters, {steps} steps at lr {lr:g}")
        started = time.perf_counter()
        task = ClassificationTask(data[0], data[1], config.batch_size, pad, config.seed, device)
        train_config = TrainConfig(steps=steps, batch_size=config.batch_size, lr=lr,
                                   min_lr=lr / 10, warmup_steps=config.warmup_steps,
                                   weight_decay=config.weight_decay, eval_every=config.eval_every,
                                   seed=config.seed)
        optimizer = make_optimizer(model, train_config)
        state = TrainState(model, optimizer, make_scheduler(optimizer, train_config))
        fit(state, task, train_config, run=ArticleLog(run, name, config.log_every, echo),
            progress=False, echo=lambda line: None)
        model.eval()
        with mg.no_grad():
            pred, target, loss = task.predict(model, data[2])
        report = scores(pred, target, loss, label_names)
        report.update(parameters=model.num_parameters(), steps=steps,
                      seconds=round(time.perf_counter() - started, 1), correct=pred == target)
        run.log({"model": name, "step": steps, **{f"test_{k}": report[k] for k in
                                                   ("loss", "accuracy", "f1")}})
        echo(f"Test accuracy: {report['accuracy']:.3f}, macro F1 {report['f1']:.3f} "
             f"({report['seconds']:.0f} s)")
        reports[name] = report
        del model, state, optimizer, task
    majority = np.bincount([label for _, label in train], minlength=K).argmax()
    lines, verdict = _summary(reports, targets, majority, label_names, len(train))
    echo("\n".join(lines))
    if plots:
        _plot(run, reports)
    run.summarize(f"compare: {config.task}", lines)
    for report in reports.values():
        del report["correct"]
    return {**reports, "verdict": verdict}


def _setup(name, config, num_labels, parts):
    """(model, encoded (train, valid, test), pad id, steps, lr) of one of the three models."""
    if name == "bow":
        bow = BagOfWords([text for text, _ in parts[0]])
        data = [([bow.encode(text) or [bow.pad_id] for text, _ in part],
                 [label for _, label in part]) for part in parts]
        return (BagOfWordsClassifier(bow.vocab_size, num_labels), data, bow.pad_id,
                config.bow_steps, config.bow_lr)
    model, tokenizer = minilm("bert-classifier", num_labels)
    if name == "scratch":           # MiniLM's shape and tokenizer, its own random weights
        model = build("bert-classifier", classifier_config("bert", asdict(model.config),
                                                           num_labels, "mean")).train()
    max_len = min(config.max_len, model.config.max_position_embeddings)
    data = [encode_examples(tokenizer, part, max_len, "bert-classifier") for part in parts]
    lr = config.lr if name == "minilm" else config.scratch_lr
    return model, data, tokenizer.token_to_id("[PAD]"), config.steps, lr


def _summary(reports, targets, majority, label_names, n_train):
    """summary.md's lines (the test table, then the verdict) and the verdict (bool)."""
    n = len(targets)
    lines = [f"Test split: {n} texts ({100 / n:.1f} points of accuracy each), "
             f"{len(label_names)} labels; {n_train} training texts.", "",
             "| model | parameters | steps | test accuracy | macro F1 | test loss |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in reports.items():
        lines.append(f"| {MODELS[name]} | {r['parameters']:,} | {r['steps']} | "
                     f"{r['accuracy']:.3f} | {r['f1']:.3f} | {r['loss']:.3f} |")
    lines += ["", f"Always the most frequent training label ({label_names[majority]}): "
              f"accuracy {np.mean(targets == majority):.3f}.", ""]
    beaten = []
    for name in ("scratch", "bow"):
        gain, se = paired_gain(reports["minilm"]["correct"], reports[name]["correct"])
        beaten.append(gain > 2 * se)
        lines.append(f"MiniLM vs {MODELS[name]}: Δ = {100 * gain:+.1f} points, SE "
                     f"{100 * se:.1f} (paired): " + ("more than the noise (Δ > 2 SE)."
                                                     if beaten[-1] else "within the noise."))
    verdict = all(beaten)
    lines += ["", "Verdict: MiniLM " + ("beat both baselines by more than the noise."
                                        if verdict else "did not beat both baselines by more "
                                        "than the noise.")]
    return lines, verdict


def _plot(run, reports):
    """plots/loss.png: each model's training loss per step and validation loss per
    evaluation, one panel each, and the test accuracies."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    records = run.metrics()
    fig, axes = plt.subplots(1, len(MODELS) + 1, figsize=(4.2 * (len(MODELS) + 1), 3.6),
                             layout="constrained")
    for ax, name in zip(axes, MODELS):
        mine = [r for r in records if r.get("model") == name]
        ax.plot(*zip(*[(r["step"], r["loss"]) for r in mine if "loss" in r]), lw=1,
                label="train (batch)")
        ax.plot(*zip(*[(r["step"], r["val_loss"]) for r in mine if "val_loss" in r]), "o--",
                label="validation")
        ax.set(xlabel="step", ylabel="cross-entropy", title=MODELS[name])
        ax.legend(fontsize=8)
    accuracies = [reports[name]["accuracy"] for name in MODELS]
    axes[-1].bar(["minilm", "scratch", "bow"], accuracies, color=["C2", "C1", "C0"])
    axes[-1].set(ylabel="test accuracy", ylim=(0, 1), title="test split")
    path = run.file("plots/loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
