"""``python -m transformer demo``: the whole pipeline in a few minutes on a laptop CPU.

    1. pretrain a small GPT on People's Daily text (no labels: each next character is the
       target), printing a sample at every evaluation so the improvement shows; or, with
       ``--corpus task-texts``, on the task's own texts with their labels dropped. Lines that
       hold a sentence step 4's taggers are validated or tested on are left out first.
    2. fine-tune a sentiment classifier (Chinese product reviews) from that GPT
    3. train the same classifier from random weights, on the same data, steps and tokenizer
    4. the same comparison on word segmentation (``--tagging``) of news sentences the GPT
       never read, with 100 labeled sentences (``--tagging-labels``): a B/M/E/S tag per
       character
    5. print test accuracy, precision, recall, F1 and the confusion matrices, and a verdict for
       each task: is the difference larger than two standard errors? (``verdict``)
    ``--seeds N`` repeats 2-4 with N seeds (data order, head initialisation).

    runs/<name>/pretrain/   checkpoint, metrics, plots/loss.png, plots/lr.png, attention.png
    runs/<name>/finetune/   the same, plus plots/confusion.png
    runs/<name>/scratch/    the from-scratch classifier
    runs/<name>/tagger-pretrained/, tagger-scratch/   the two segmenters
    runs/<name>/finetune-seed1/, scratch-seed1/, ...   the other seeds' models
    runs/<name>/plots/      attention.png (the pretrained GPT reading a short review),
                            comparison.png (validation accuracy of both classifiers, first seed)
    runs/<name>/summary.md
    runs/<name>/pretrain-corpus.txt   the text the GPT pretrained on
    runs/<name>/task-texts.txt   with --corpus task-texts: the task's texts in it

Where pretraining helps: segmenting news it never read. Pretrained on People's Daily less the
3,729 of its 19,484 lines that hold a validation or test sentence of the segmentation task
(limit 3,000, seeds 0 and 1), 1500 steps; taggers fine-tuned at lr 1e-3 on a few of the
training sentences; test character accuracy, seeds 0 / 1 (measured once, 2026-11-29):

    labeled sentences    steps    pretrained       scratch
    100                  200      0.588 / 0.589    0.566 / 0.554
    100                  100      0.622 / 0.614    0.593 / 0.571   (the default)
    400                  200      0.662 / 0.656    0.650 / 0.633

(+0.02 to +0.04 with 100 labels, both seeds; the gain shrinks as labels grow. 100 steps was
chosen from the 200-step runs' validation accuracy, which peaked by step 50 and then fell.)
A whole second demo run, ``--seed 2`` (its own held-out sentences left out, its own
pretraining): 0.618 / 0.611 vs 0.585 / 0.564 (seeds 2 / 3), "helped" again (+0.040, two
standard errors ±0.008); its sentiment verdict, like the first run's: no measurable benefit.
With the held-out sentences left IN the pretraining text the gains were larger (100 labels: 0.597 /
0.590 vs 0.561 / 0.543): a model pretrained on its own test sentences is measured unfairly,
so the demo leaves them out. Part-of-speech tagging (words, same text left in): 0.644 / 0.640
vs 0.631 / 0.625 with 100 sentences, 0.723 / 0.729 vs 0.723 / 0.719 with 400: too small to
tell.

What pretraining buys for sentiment at this size: nothing measurable, in every setting tried.
Test accuracy of the classifier fine-tuned from the pretrained GPT vs the same model from random weights
(same tokenizer, steps, data, learning rate and seed), mean pooling unless said. On 800 test
reviews (8,000 drawn, 80/10/10), seeds 0 / 1, pretrained on People's Daily news:

    pretraining              fine-tuning                        pretrained     scratch
    1500 steps (ppl ~200)    300 reviews, 200 steps, lr 1e-3    0.665 / 0.684  0.674 / 0.654
                             300 reviews, 200 steps, lr 3e-4    0.624 / 0.649  0.645 / 0.654
                             6,400 reviews, 200 steps, lr 1e-3  0.744 / 0.750  0.766 / 0.756
                             6,400 reviews, 200 steps, lr 3e-4  0.680 / 0.678  0.728 / 0.743
    3000 steps (ppl ~128)    400 reviews, 100 steps, lr 1e-3    0.673 / 0.641  0.676 / 0.663
                             400 reviews, last-token pooling    0.629 / 0.604  0.693 / 0.664
                             400 reviews, 100 steps, lr 3e-3    0.686 / 0.664  0.679 / 0.679
                             1,000 reviews, 200 steps, lr 1e-3  0.709 / 0.713  0.710 / 0.725
                             6,400 reviews, 150 steps, lr 1e-3  0.738 / 0.756  0.726 / 0.753

Then the domain: ``--corpus task-texts`` pretrains on the reviews themselves, labels dropped,
less every review a seed validates or tests on (``pipeline.pretraining.task_texts``; 14,318
reviews here), the semi-supervised setting of ULMFiT. 1500 pretraining steps (task-texts:
perplexity ~107 on held-out reviews); fine-tuning on a few of the training part's labels
(``--train-limit``), 200 steps at lr 1e-3 unless said; the scratch model uses the task-texts
GPT's tokenizer; same 800 test reviews, seeds 0 / 1:

    pretrained on               labels  fine-tuning        pretrained     scratch
    peoples-daily               200                        0.642 / 0.651  0.605 / 0.640
                                6,400                      0.744 / 0.764  0.741 / 0.767
    peoples-daily+task-texts    200                        0.647 / 0.629  0.605 / 0.640
    task-texts                  200                        0.660 / 0.672  0.605 / 0.640
                                200     100 steps          0.656 / 0.677  0.605 / 0.642
                                200     lr 3e-4            0.660 / 0.671  0.551 / 0.642
                                200     last-token pooling 0.647 / -
                                500                        0.686 / 0.690  0.657 / 0.660
                                6,400                      0.769 / 0.767  0.741 / 0.767

(scratch with 200 labels at lr 3e-3: 0.588, seed 0; 1e-3 is its best of the three.) The
task-texts rows looked like a win, +0.03 to +0.04 with up to 500 labels, but all came from one
pretrained GPT. Each whole demo run pretrains its own (``--corpus task-texts --limit 8000
--train-limit 200 --finetune-steps 100``): seeds 0 / 1 gave 0.657 / 0.666 vs 0.605 / 0.642,
"helped" (+0.038, two standard errors ±0.034); seeds 2 / 3 gave 0.561 / 0.613 vs 0.632 /
0.615, "hurt" (-0.037). Twice the pretraining (3000 steps, perplexity ~81 / ~91; 4 min of CPU
per run, over the demo's budget on a busy machine): seeds 0 / 1 0.659 / 0.670, "helped"
(+0.041); seeds 2 / 3 0.632 / 0.640, no measurable benefit (+0.012). On all 17,363 reviews
(1,737 test reviews per seed, ±0.023), 200 labels, 100 steps: task-texts (11,112 reviews)
0.617 / 0.655 vs 0.612 / 0.637 (seeds 0 / 1) and 0.588 / 0.613 vs 0.616 / 0.613 (seeds 2 / 3);
peoples-daily 0.609 / 0.601 vs 0.607 / 0.634; with 2,000 labels and 200 steps, task-texts
0.732 / 0.752 vs 0.735 / 0.738.

So with a few hundred labels, which GPT was pretrained and which reviews carry labels move the
accuracy by ±0.04, as much as any effect of pretraining; the verdict's two standard errors
count only the sampling of test texts, so one run can say "helped" or "hurt" by chance.
Linear probes agree (a logistic regression on the frozen GPT's mean-pooled features, fitted on
all 13,890 training reviews, 1,737 test reviews, seeds 0 / 1 unless said): random GPTs 0.62
to 0.66; news-pretrained 0.633 / 0.636 (its random twin 0.645 / 0.656); task-texts-pretrained
0.652 / 0.686 (random 0.621 / 0.628), and in a second pretraining run, seeds 2 / 3, 0.638 /
0.646 (random 0.624 / 0.641). Pretraining on the reviews' own text moves the features towards
sentiment, a little and not reliably; pretraining on news does not move them at all.

Our guess at why: a character GPT this small, pretrained for minutes, learns little a
classifier cannot get from a few hundred reviews, where a few characters (好, 差, 不) carry
much of the sentiment. The demo prints the verdict of its own run; for a large pretrained
encoder, see ``finetune --init minilm``.
"""
import math
import os
from dataclasses import dataclass, replace

import numpy as np

from .attention_maps import attention_weights
from .pipeline import FinetuneConfig, PretrainConfig, encode, finetune, pretrain
from .data_files import load_corpus
from .pipeline.pretraining import held_out_texts, lines_without, task_texts
from .runs import Run, _pyplot

__all__ = ["DemoConfig", "demo", "verdict"]

SAMPLE_REVIEW = "这本书写得很好，我很喜欢。"     # "This book is well written, I like it a lot."
TASK_TEXTS = "task-texts"       # the corpus name of ``task_texts``: the task's unlabeled texts


@dataclass
class DemoConfig:
    """The demo's settings. The defaults ran in 3 min 29 s on the 2-core development machine
    from a fresh clone and virtual environment (Numba's cache cold, one thread, other
    programs' load below 1): 1500 pretraining steps take about 1 min 45 s, the four
    classifiers and four taggers (two seeds) the rest."""
    corpus: str = "peoples-daily"  # what the GPT pretrains on: peoples-daily, task-texts (the
                                   # task's own texts without labels, none that a seed
                                   # validates or tests on: pipeline.pretraining.task_texts),
                                   # a path, or several joined by "+" (peoples-daily+task-texts)
    task: str = "sentiment"
    steps: int = 1500            # pretraining steps
    finetune_steps: int = 200    # fine-tuning steps (each classifier)
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    batch_size: int = 16         # pretraining; fine-tuning uses 32
    limit: int = 3000            # reviews used (0: all 17k), split 80/10/10
    train_limit: int = 0         # train on at most this many of the 80% (0: all of them)
    finetune_lr: float = 1e-3    # both classifiers' peak learning rate
    scratch: bool = True         # also train the classifier from scratch, to compare
    seeds: int = 2               # fine-tune both classifiers with seeds seed, seed + 1, ...
                                 # (one pretrained GPT; each seed draws its own reviews and
                                 # split): the spread shows what is noise
    tagging: str = "segmentation"  # then the same comparison on a tagging task of the news
                                   # itself (segmentation | pos | "": none); its held-out
                                   # sentences are taken out of the pretraining corpus first
    tagging_limit: int = 3000    # its sentences used, split 80/10/10
    tagging_labels: int = 100    # labeled sentences each tagger trains on
    tagging_steps: int = 100     # fine-tuning steps of each tagger (with 200, their validation
                                 # accuracy peaked by step 50 and fell: 100 sentences overfit)
    seed: int = 0


def demo(config, run_dir, *, device="cpu", progress=True, echo=print, plots=True):
    """Run the demo into ``run_dir``; returns {"pretrained": [report per seed], "scratch":
    [report per seed] (empty without ``config.scratch``)}, and with ``config.tagging``
    "tagging_pretrained" and "tagging_scratch" (the taggers' reports)."""
    run = Run(run_dir)
    run.write_config({"command": "demo", **vars(config), "device": device})
    every = max(config.steps // 6, 1)
    echo(f"== 1. pretraining a GPT on {config.corpus} (no labels) ==")
    pre = PretrainConfig(corpus=_pretraining_corpus(config, run, echo),
                         block_size=config.block_size, n_layer=config.n_layer,
                         n_head=config.n_head, n_embd=config.n_embd,
                         steps=config.steps, batch_size=config.batch_size, eval_every=every,
                         seed=config.seed)
    gpt, tokenizer, _ = pretrain(pre, run.file("pretrain"), device=device, progress=progress,
                                 echo=echo, plots=plots)
    reports = {"pretrained": [], "scratch": []}
    for seed, suffix in _seeds(config):
        ft, scratch = _pair(config, run, config.task, config.limit, config.train_limit,
                            config.finetune_steps, seed)
        echo(f"\n== 2. fine-tuning a {config.task} classifier from the pretrained GPT "
             f"(seed {seed}) ==")
        reports["pretrained"].append(finetune(ft, run.file("finetune" + suffix), device=device,
                                              progress=progress, echo=echo, plots=plots)[2])
        if config.scratch:
            echo(f"\n== 3. the same classifier from random weights (seed {seed}) ==")
            reports["scratch"].append(finetune(scratch, run.file("scratch" + suffix),
                                               device=device, progress=progress, echo=echo,
                                               tokenizer=tokenizer, plots=plots)[2])
    if config.tagging:
        reports.update(_tagging(config, run, tokenizer, device, progress, echo, plots))
    written, tokens = [], []
    if plots:
        ids = encode(tokenizer, SAMPLE_REVIEW)[:config.block_size]
        tokens = [tokenizer.decode([i]) for i in ids]
        gpt.eval()
        weights = attention_weights(gpt, ids, layer=0)
        written.append(run.plot_attention(weights, tokens,
                                          title="Pretrained GPT, layer 0: who attends to whom"))
        if config.scratch:
            written.append(_plot_comparison(run))
    summary = _summary(config, reports, run_dir, written, tokens)
    run.write_summary(summary)
    echo("\n" + summary)
    return reports


def _seeds(config):
    """(seed, run-folder suffix) for each seed: "" for the first, "-seed1", ... after."""
    return [(config.seed + k, f"-seed{config.seed + k}" if k else "") for k in range(config.seeds)]


def _pair(config, run, task, limit, train_limit, steps, seed):
    """The settings of one comparison: fine-tuning from the pretrained GPT, and the same model
    shape from random weights, with everything else equal."""
    ft = FinetuneConfig(task=task, init=run.file("pretrain"), max_len=config.block_size,
                        steps=steps, limit=limit, train_limit=train_limit,
                        lr=config.finetune_lr, min_lr=config.finetune_lr / 10,
                        eval_every=max(steps // 4, 1), seed=seed)
    return ft, replace(ft, init="scratch", **{k: getattr(config, k) for k in
                                              ("block_size", "n_layer", "n_head", "n_embd")})


def _tagging(config, run, tokenizer, device, progress, echo, plots):
    """Step 4: a tagger of ``config.tagging`` from the pretrained GPT and one from random
    weights, each seed, on ``config.tagging_labels`` labeled sentences."""
    reports = {"tagging_pretrained": [], "tagging_scratch": []}
    for seed, suffix in _seeds(config):
        ft, scratch = _pair(config, run, config.tagging, config.tagging_limit,
                            config.tagging_labels, config.tagging_steps, seed)
        echo(f"\n== 4. {config.tagging} of unseen news sentences, {config.tagging_labels} "
             f"labeled sentences: a tagger from the pretrained GPT and one from random weights "
             f"(seed {seed}) ==")
        for name, settings in (("tagging_pretrained", ft), ("tagging_scratch", scratch)):
            folder = run.file(name.replace("tagging_", "tagger-") + suffix)
            reports[name].append(finetune(settings, folder, device=device, progress=progress,
                                          echo=echo, tokenizer=tokenizer, plots=plots)[2])
    return reports


def _pretraining_corpus(config, run, echo):
    """What the GPT pretrains on, as a corpus name or a file in the run folder: with
    ``config.tagging``, the corpus less every line that holds one of the tagging task's
    validation or test sentences (pretrain-corpus.txt), so its taggers are measured on news
    the GPT never read."""
    corpus = _with_task_texts(config, run, echo)
    if not config.tagging:
        return corpus
    seeds = range(config.seed, config.seed + config.seeds)
    lines = load_corpus(corpus, warn=echo)
    kept = lines_without(lines, held_out_texts(config.tagging, config.tagging_limit, seeds,
                                               warn=echo))
    path = run.file("pretrain-corpus.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(line + "\n" for line in kept)
    echo(f"{len(lines) - len(kept):,} of {len(lines):,} lines left out of pretraining: they "
         f"hold a {config.tagging} sentence that a tagger is validated or tested on")
    return path


def _with_task_texts(config, run, echo):
    """``config.corpus`` with task-texts replaced by the file ``run_dir/task-texts.txt`` of
    those texts, one a line: what the GPT read stays in the run folder."""
    parts = config.corpus.split("+")
    if TASK_TEXTS not in parts:
        return config.corpus
    seeds = range(config.seed, config.seed + config.seeds)
    texts = task_texts(config.task, config.limit, seeds, warn=echo)
    path = run.file(TASK_TEXTS + ".txt")
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(text + "\n" for text in texts)
    which = f"seed {seeds.start}" if len(seeds) == 1 else \
        f"seeds {seeds.start}-{seeds.stop - 1}"
    echo(f"task-texts: {len(texts):,} {config.task} texts without their labels (none of the "
         f"validation or test texts of {which}), in {path}")
    return "+".join(path if part == TASK_TEXTS else part for part in parts)


def _plot_comparison(run):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name in ("finetune", "scratch"):
        records = Run(run.file(name)).metrics()
        points = [(r["step"], r["val_accuracy"]) for r in records if "val_accuracy" in r]
        ax.plot(*zip(*points), "o-", label={"finetune": "from the pretrained GPT",
                                            "scratch": "from random weights"}[name])
    ax.set(xlabel="fine-tuning step", ylabel="validation accuracy",
           title="What pretraining buys")
    ax.legend()
    return run._save(fig, "comparison.png")


def verdict(pretrained, scratch, unit="test texts"):
    """One sentence on the mean test accuracies of the two classifiers over the seeds: is the
    difference d larger than two standard errors? Each seed draws its own reviews and split,
    so the means are over n·seeds test texts, and SE(d) ≈ √(2·p(1 - p) / (n·seeds)), p the
    mean accuracy. It counts only the sampling of test texts (for a tagger: of its test
    characters or words, ``unit``, as if they were independent), not the noise of training
    itself: read it as a lower bound on the noise."""
    n = sum(map(sum, pretrained[0]["confusion_matrix"]))
    a = float(np.mean([r["accuracy"] for r in pretrained]))
    b = float(np.mean([r["accuracy"] for r in scratch]))
    p = (a + b) / 2
    margin = 2 * math.sqrt(2 * p * (1 - p) / (n * len(pretrained)))
    numbers = (f"mean test accuracy {a:.3f} pretrained vs {b:.3f} from scratch over "
               f"{len(pretrained)} seed(s), difference {a - b:+.3f}, two standard errors "
               f"±{margin:.3f} on {n} {unit}")
    if a - b > margin:
        return f"Pretraining helped: {numbers}."
    if b - a > margin:
        return f"Pretraining hurt: {numbers}."
    return f"No measurable benefit from pretraining at these sizes: {numbers}."


def _corpus_words(config):
    words = {"peoples-daily": "People's Daily news",
             TASK_TEXTS: f"{TASK_TEXTS} (the {config.task} texts without their labels, less "
                         "every text a seed validates or tests on: task-texts.txt)"}
    return " + ".join(words.get(part, part) for part in config.corpus.split("+"))


def _summary(config, reports, run_dir, plots, tokens):
    examples = f"{config.limit:,}" if config.limit else "all"
    trained = f"at most {config.train_limit:,} of the 80% for training" if config.train_limit \
        else "80% train"
    tasks = config.task + (f" and {config.tagging}" if config.tagging else "")
    left_out = (f" less the lines that hold a {config.tagging} sentence a tagger is validated "
                "or tested on (pretrain-corpus.txt)") if config.tagging else ""
    lines = [f"# Demo: pretrain on {config.corpus} → fine-tune on {tasks}", "",
             f"Pretraining: {config.steps} steps on {_corpus_words(config)}{left_out}, no "
             "labels. "
             f"Fine-tuning: {config.finetune_steps}"
             f" steps at lr {config.finetune_lr:g} on {examples} labeled examples ({trained}, "
             "10% validation, 10% test); the test split's numbers:", "",
             "| classifier | seed | accuracy | precision | recall | F1 | confusion "
             "[[TN, FP], [FN, TP]] |", "|---|---|---|---|---|---|---|"]
    for name, label in (("pretrained", "pretrained GPT"), ("scratch", "from scratch")):
        for k, report in enumerate(reports[name]):
            lines.append(f"| {label} | {config.seed + k} | {report['accuracy']:.3f} | "
                         f"{report['precision']:.3f} | {report['recall']:.3f} | "
                         f"{report['f1']:.3f} | {report['confusion_matrix']} |")
    if reports["scratch"]:
        lines += ["", f"Pretrained on {config.corpus}. "
                  + verdict(reports["pretrained"], reports["scratch"])]
    if reports.get("tagging_pretrained"):
        unit = "characters" if config.tagging == "segmentation" else "words"
        lines += ["", f"{config.tagging.capitalize()} of news sentences the GPT never read "
                  f"(left out of its pretraining text), {config.tagging_labels} labeled "
                  f"sentences for training, {config.tagging_steps} steps; test {unit}:", "",
                  "| tagger | seed | accuracy | macro F1 |", "|---|---|---|---|"]
        for name, label in (("tagging_pretrained", "pretrained GPT"),
                            ("tagging_scratch", "from scratch")):
            for k, report in enumerate(reports[name]):
                lines.append(f"| {label} | {config.seed + k} | {report['accuracy']:.3f} | "
                             f"{report['f1']:.3f} |")
        lines += ["", verdict(reports["tagging_pretrained"], reports["tagging_scratch"],
                              unit=f"test {unit}")]
    lines += ["", f"Run folder: {run_dir}"]
    if plots:
        lines.append("Plots: " + ", ".join(os.path.relpath(p, run_dir) for p in plots) + ", "
                     "pretrain/plots/loss.png, pretrain/plots/lr.png, finetune/plots/confusion.png")
        lines.append("Attention heatmap positions (rows attend to columns): "
                     + " ".join(f"{i}:{t}" for i, t in enumerate(tokens)))
    return "\n".join(lines)
