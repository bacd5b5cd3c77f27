"""``compare``: the article's §5 program done right (FORMULAS E2, E3). Does a pretrained
encoder, fine-tuned on a real labeled English set on a CPU, beat what it should beat?

Three models learn the same task from the same train / validation / test split (60/20/20 by
``datasets.split``; by default lesson 14's real labeled English set: chatterbot utterances
of six topics, emotion, literature, money, movies, science and sports, the first 46 of each):

    minilm    all-MiniLM-L6-v2 (a 6-layer BERT, C = 384) + a linear head on the pooled [CLS]
              vector, every weight fine-tuned: the article's classifier       (E2)
    scratch   the same BERT (MiniLM's config and WordPiece tokenizer) from random weights,
              the same steps: what pretraining buys
    bow       logistic regression on a bag of words (``baselines.py``): what any model of
              text must beat

Each trains with ``train.fit`` (AdamW, linear warm-up then cosine decay, gradient clipping)
and prints its log in the article's format (E3); MiniLM's, from the default run::

    Validation Loss: 1.785777   (step 0, accuracy 0.182)     at each evaluation
    Train Step:     1   Loss: 1.798218                        the batch's loss at steps 1,
    Validation Loss: 1.690294   (step 10, accuracy 0.745)    1 + log_every, 1 + 2 log_every...
    Train Step:    11   Loss: 1.682002
    Validation Loss: 1.323516   (step 20, accuracy 0.891)
    Train Step:    21   Loss: 1.374576

The article's "Train Epoch" was a batch index; here the number is what it says, the step.
The run folder holds config.json, metrics.jsonl (every record with its "model"),
plots/loss.png (the real training and validation curves of all three) and summary.md (the
test table and the verdict).

The verdict. Per test text i, d_i = [minilm is right] − [baseline is right]; the gain is
Δ = mean(d) and its standard error (paired, over the n test texts) SE(Δ) = std(d) / √n.
MiniLM beats a baseline "by more than the noise" when Δ > 2 SE(Δ). This is the noise of
drawing n test texts; a different seed also changes the training, which one run cannot see.

Measured once, the defaults (166 / 55 / 55 texts; 2 cores shared with other programs, one
thread; 3.5 min, of which 1 min 46 s of CPU time): test accuracy MiniLM 0.836 (macro F1 0.846),
BERT from scratch 0.418 (0.341), bag of words 0.636 (0.635); MiniLM's gain over the BERT from
scratch +41.8 points (SE 7.7), over the bag of words +20.0 (SE 6.0): both more than the noise.
On all 21 topics (``--labels all``, 1,494 training texts, unbalanced) 60 steps are not enough:
the bag of words, at 0.683, beat MiniLM's 0.516 (encoder and head at 1e-4).
"""
import os
import time
from dataclasses import asdict, dataclass

import numpy as np

import minigrad as mg

from .baselines import BagOfWords, BagOfWordsClassifier
from .data_files import DataError, is_tagging, load_task, subsample
from .datasets import split
from .model_kinds import build, classifier_config
from .pipeline.common import check_device
from .pipeline.finetuning import encode_examples, minilm, scores
from .runs import Run
from .train import (ClassificationTask, TrainConfig, TrainState, fit, make_optimizer,
                     make_scheduler)

__all__ = ["CompareConfig", "MODELS", "LESSON_TOPICS", "LESSON_PER_TOPIC", "ArticleLog",
           "compare", "select", "head_apart", "paired_gain"]

MODELS = {"minilm": "MiniLM + linear head", "scratch": "BERT from scratch",
          "bow": "bag of words + logistic regression"}
LESSON_TOPICS = "emotion,literature,money,movies,science,sports"     # lesson 14's six
LESSON_PER_TOPIC = 46                # the fewest texts any of them has (lesson 14 takes 34)


@dataclass
class CompareConfig:
    """``python -m transformer compare``'s settings."""
    task: str = "topics-en"          # a named classification task or a text<TAB>label file
    labels: str = ""                 # keep these labels, comma-separated, or "all"; none:
                                     # lesson 14's six topics for topics-en, else all
    per_label: int = 0               # then the first this many texts of each (0: all; for
                                     # topics-en's six, LESSON_PER_TOPIC: balanced)
    train_limit: int = 0             # then train on at most this many of the training part
    max_len: int = 64                # tokens per text
    steps: int = 60                  # optimizer steps of each BERT (MiniLM and scratch)
    batch_size: int = 16
    lr: float = 1e-4                 # MiniLM's peak learning rate (its encoder)
    head_lr: float = 1e-3            # MiniLM's new head's, which starts from random weights
    scratch_lr: float = 3e-4         # the BERT from scratch's
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


def select(examples, label_names, labels, per_label):
    """``(examples, label_names)`` of only ``labels`` (comma-separated names, or "all"),
    renumbered in that order, each label's first ``per_label`` examples (0: all).

    >>> select([("a", 0), ("b", 1), ("c", 2), ("d", 2)], ("x", "y", "z"), "z,x", 1)
    ([('a', 1), ('c', 0)], ('z', 'x'))
    """
    keep = list(label_names) if labels == "all" else [name.strip() for name in labels.split(",")]
    unknown = [name for name in keep if name not in label_names]
    if unknown or len(set(keep)) < 2:
        problem = f"unknown {', '.join(unknown)}" if unknown else "fewer than two labels"
        raise DataError(f"--labels {labels!r}: {problem}; the task's labels are "
                        f"{', '.join(label_names)} (or 'all')")
    new_id = {label_names.index(name): i for i, name in enumerate(keep)}
    taken = [0] * len(keep)
    out = []
    for text, label in examples:
        if label in new_id and (not per_label or taken[new_id[label]] < per_label):
            taken[new_id[label]] += 1
            out.append((text, new_id[label]))
    return out, tuple(keep)


def paired_gain(correct_a, correct_b):
    """(Δ, SE(Δ)): the mean of d = correct_a − correct_b over the same texts (booleans), and
    its standard error std(d) / √n (module docstring).

    >>> gain, se = paired_gain([1, 1, 1, 0], [0, 1, 0, 0])      # d = 1, 0, 1, 0
    >>> round(gain, 3), round(se, 3)                            # 0.5, √(1/3) / 2
    (0.5, 0.289)
    """
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
    labels, per_label = config.labels or "all", config.per_label
    if not config.labels and config.task == "topics-en":
        labels, per_label = LESSON_TOPICS, per_label or LESSON_PER_TOPIC
    examples, label_names = select(*load_task(config.task, warn=echo), labels, per_label)
    train, valid, test = split(examples, (0.6, 0.2, 0.2), seed=config.seed)
    if len(test) < 2 or not valid:
        raise DataError(f"{config.task}: {len(examples)} examples are too few for a training, "
                        "a validation and a test part (60/20/20)")
    train = subsample(train, config.train_limit, config.seed)
    run.write_config({"command": "compare", **asdict(config), "device": device,
                      "labels": list(label_names)})
    if os.path.exists(run.file("metrics.jsonl")):       # an earlier compare's: start over
        os.remove(run.file("metrics.jsonl"))
    echo(f"compare on {config.task}: {len(train)} / {len(valid)} / {len(test)} train / "
         f"validation / test texts, {len(label_names)} labels")
    K = len(label_names)
    reports, targets = {}, np.array([label for _, label in test])
    for name in MODELS:
        mg.manual_seed(config.seed)
        model, data, pad, steps, lr = _setup(name, config, K, (train, valid, test))
        model.to(device)
        rates = f"lr {lr:g}" + (f", head {config.head_lr:g}" if name == "minilm" else "")
        echo(f"--- ({'abc'[list(MODELS).index(name)]}) {MODELS[name]}: "
             f"{model.num_parameters():,} parameters, {steps} steps at {rates}")
        started = time.perf_counter()
        task = ClassificationTask(data[0], data[1], config.batch_size, pad, config.seed, device)
        train_config = TrainConfig(steps=steps, batch_size=config.batch_size, lr=lr,
                                   min_lr=lr / 10, warmup_steps=config.warmup_steps,
                                   weight_decay=config.weight_decay, eval_every=config.eval_every,
                                   seed=config.seed)
        optimizer = make_optimizer(model, train_config)
        if name == "minilm":
            head_apart(optimizer, model.classifier, config.head_lr)
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
        echo(f"Test accuracy: {report['accuracy']:.3f}, F1 {report['f1']:.3f} "
             f"({report['seconds']:.0f} s)")
        reports[name] = report
        del model, state, optimizer, task
    majority = np.bincount([label for _, label in train], minlength=K).argmax()
    lines, verdict = _summary(reports, targets, majority, label_names, len(train))
    echo("\n".join(lines))
    if plots:
        _plot(run, reports, float(np.mean(targets == majority)))
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


def head_apart(optimizer, head, lr):
    """Move ``head``'s parameters into a parameter group of their own, at ``lr``: a random
    head at the encoder's 1e-4 barely moves in the few steps a CPU affords (lesson 14), and a
    pretrained encoder at the head's 1e-3 forgets what it learned."""
    mine = {id(p) for p in head.parameters()}
    for group in optimizer.param_groups:
        group["params"] = [p for p in group["params"] if id(p) not in mine]
    optimizer.add_param_group({"params": list(head.parameters()), "lr": lr})


def _summary(reports, targets, majority, label_names, n_train):
    """summary.md's lines (the test table, then the verdict) and the verdict (bool)."""
    n = len(targets)
    lines = [f"Test split: {n} texts ({100 / n:.1f} points of accuracy each), "
             f"{len(label_names)} labels; {n_train} training texts.", "",
             "| model | parameters | steps | seconds | test accuracy | F1 | test loss |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for name, r in reports.items():
        lines.append(f"| {MODELS[name]} | {r['parameters']:,} | {r['steps']} | "
                     f"{r['seconds']:.0f} | {r['accuracy']:.3f} | {r['f1']:.3f} | "
                     f"{r['loss']:.3f} |")
    average = f"binary, of {label_names[1]}" if len(label_names) == 2 else "macro"
    lines += ["", f"F1: {average} (FORMULAS F1). Seconds: wall-clock training and testing.",
              "", f"Always the most frequent training label ({label_names[majority]}): "
              f"accuracy {np.mean(targets == majority):.3f}.", ""]
    beaten = []
    for name in ("scratch", "bow"):
        gain, se = paired_gain(reports["minilm"]["correct"], reports[name]["correct"])
        beaten.append(gain > 2 * se)
        lines.append(f"MiniLM vs {MODELS[name]}: Δ = {100 * gain:+.1f} points, SE "
                     f"{100 * se:.1f} (paired): " + ("MiniLM better, by more than the noise "
                                                     "(Δ > 2 SE)." if beaten[-1] else
                                                     "MiniLM worse, by more than the noise."
                                                     if gain < -2 * se else "within the noise."))
    verdict = all(beaten)
    lines += ["", "Verdict: MiniLM " + ("beat both baselines by more than the noise."
                                        if verdict else "did not beat both baselines by more "
                                        "than the noise.")]
    return lines, verdict


def _plot(run, reports, majority):
    """plots/loss.png: each model's training loss per step and validation loss per
    evaluation, one panel each, and the test accuracies (``majority``: the accuracy of always
    answering the most frequent training label)."""
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
    axes[-1].axhline(majority, color="gray", lw=0.8, label="most frequent label")
    axes[-1].set(ylabel="test accuracy", ylim=(0, 1), title="test split")
    axes[-1].legend(fontsize=8)
    path = run.file("plots/loss.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
