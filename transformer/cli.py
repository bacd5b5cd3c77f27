"""``python -m transformer <command>`` (or ``minigrad-transformer``): a thin shell over
``pipeline`` and ``demo``.

    demo        pretrain a GPT on People's Daily, fine-tune a sentiment classifier, compare it
                with one trained from scratch, write plots: python -m transformer demo
    pretrain    GPT causal LM (--model bert: masked LM) on a corpus: --corpus FILE|FOLDER,
                --tokenizer char|bpe|wordpiece
    finetune    --task sentiment|topics-en|topics-zh|FILE.tsv (classification),
                segmentation|pos (tagging), numbers|qa|pairs (seq2seq);
                --init RUN|CKPT|minilm|scratch
    compare     MiniLM fine-tuned vs the same BERT from scratch vs a bag-of-words logistic
                regression, on one split of --task (default: six topics-en topics): §5
    evaluate    --checkpoint RUN|CKPT [--data FILE]: perplexity; accuracy/P/R/F1/confusion
                (per word for pos); exact match and BLEU (seq2seq)
    generate    --checkpoint RUN|CKPT --prompt TEXT

Every flag of a training command is a field of its config dataclass (``PretrainConfig``,
``FinetuneConfig``, ``DemoConfig``, ``CompareConfig``), where its default lives. Runs go to
``runs/<name>/`` (``--run``, ``--runs-dir``). ``--resume`` continues
``runs/<name>/checkpoint.npz`` exactly; Ctrl-C saves a checkpoint first. Bad input prints one
``error:`` line and exits with 1 (argparse's usage errors: 2; Ctrl-C: 130).
"""
import argparse
import json
import os
import sys
from dataclasses import fields

import minigrad as mg
from minigrad.errors import CheckpointError, MinigradError

from . import pipeline
from .checkpoint import load_checkpoint
from .compare import CompareConfig, compare
from .demo import DemoConfig, demo

__all__ = ["main", "build_parser"]

# Measured on 2 cores with the demo's GPT (B 16, T 64, C 64, V 4665), ms per step: idle, 1
# thread 66, 2 threads 55; with one other busy program, 1 thread 75, 2 threads 410 (the two
# threads wait for each other whenever one is descheduled). So one thread by default.
THREADS_HELP = ("CPU threads (default 1: at these model sizes a second thread gains ~20%% on an "
                "idle machine and loses ~5x when another program uses a core)")

HELP = {
    "corpus": "peoples-daily | a UTF-8 text file / folder of .txt files | several joined by '+'",
    "task": "sentiment | topics-en | topics-zh | a TSV/CSV/JSONL file of text, label "
            "(sequence classification); segmentation (a tag per character) | pos (a part of "
            "speech per word); numbers (English words -> Chinese numerals) | qa (chatterbot "
            "questions -> answers, --language) | pairs (--data FILE of source, target): "
            "seq2seq (from scratch, a pretrained GPT or BERT, or minilm)",
    "data": "--task pairs: a TSV/CSV/JSONL file of source, target",
    "language": "--task qa: english | chinese (or another chatterbot-corpus language)",
    "train_limit": "then train on at most this many of the training part (0: all); "
                   "validation and test stay the same",
    "init": "a pretrained run folder or checkpoint (a 'pretrain' GPT or BERT; for a seq2seq "
            "task a GPT is fine-tuned as a conditional LM, a BERT becomes the encoder), "
            "'minilm' (all-MiniLM-L6-v2), or 'scratch'",
    "model": "gpt | bert",
    "tokenizer": "char | bpe | wordpiece",
    "steps": "optimizer steps",
    "limit": "use at most this many labeled examples (0: all)",
}


DEMO_HELP = {**HELP,
    "corpus": "peoples-daily | task-texts (the task's texts without labels, less every text a "
              "seed validates or tests on) | a UTF-8 text file / folder of .txt files | several "
              "joined by '+'",
    "task": "the classification task: sentiment | topics-en | topics-zh | a TSV/CSV/JSONL "
            "file of text, label",
    "steps": "pretraining steps",
    "finetune_steps": "fine-tuning steps of each classifier",
    "train_limit": "train each classifier on at most this many of the training part (0: all)",
    "finetune_lr": "the pretrained classifier's peak learning rate",
    "scratch_lr": "the from-scratch classifier's peak learning rate",
    "scratch": "the classifier from random weights, to compare",
    "seeds": "run the comparison with this many seeds (seed, seed + 1, ...)",
    "tagging": "then the same comparison on a tagging task of the news: segmentation | pos | "
               "'' (none); its held-out sentences are left out of the pretraining text",
    "tagging_limit": "the tagging task's sentences used (split 80/10/10)",
    "tagging_labels": "labeled sentences each tagger trains on",
    "tagging_steps": "fine-tuning steps of each tagger",
}


COMPARE_HELP = {**HELP,
    "task": "the classification task: topics-en | sentiment | topics-zh | a TSV/CSV/JSONL "
            "file of text, label",
    "steps": "optimizer steps of each BERT (MiniLM and the one from scratch)",
    "labels": "keep these labels, comma-separated, or 'all'; none: lesson 14's six topics for "
              "topics-en, every label otherwise",
    "per_label": "then the first this many texts of each label (0: all; for topics-en's "
                 "six topics, 46 each)",
    "lr": "MiniLM's peak learning rate (its encoder)",
    "head_lr": "MiniLM's new head's peak learning rate",
    "scratch_lr": "the BERT from scratch's peak learning rate",
    "bow_steps": "the bag-of-words model's optimizer steps",
    "bow_lr": "the bag-of-words model's peak learning rate",
    "log_every": "print the training loss every this many steps",
}


def _add_config_flags(parser, cls, help_texts=HELP):
    """One flag per dataclass field (default None: 'not given', so a resume can tell)."""
    for f in fields(cls):
        flag = "--" + f.name.replace("_", "-")
        if f.type is bool or isinstance(f.default, bool):
            parser.add_argument(f"--no-{f.name}", dest=f.name, action="store_const",
                                const=False, default=None,
                                help=f"skip {help_texts.get(f.name, f.name)}")
            continue
        kind = type(f.default)
        shown = f.default if f.default != "" else "none"
        parser.add_argument(flag, type=kind, default=None, metavar=kind.__name__.upper(),
                            help=f"{help_texts.get(f.name, '')} (default {shown})".strip())


def _add_run_flags(parser, resume=True):
    parser.add_argument("--run", help="the run's name: files go to RUNS_DIR/RUN (default: "
                                      "<command>-<date>-<time>)")
    parser.add_argument("--runs-dir", default="runs", help="where run folders go (default runs)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--no-plots", action="store_true", help="write no plots")
    parser.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    if resume:
        parser.add_argument("--resume", action="store_true",
                            help="continue RUNS_DIR/RUN/checkpoint.npz where it stopped")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one ``error:`` line (exit 2) that points to --help."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser():
    parser = _Parser(prog="python -m transformer",
                                     description="Pretrain and fine-tune small Transformers "
                                                 "with minigrad.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = commands.add_parser("demo", help="the whole pipeline in a few minutes")
    _add_config_flags(p, DemoConfig, DEMO_HELP)
    _add_run_flags(p, resume=False)
    p = commands.add_parser("pretrain", help="pretrain a GPT language model on a corpus")
    _add_config_flags(p, pipeline.PretrainConfig)
    _add_run_flags(p)
    p = commands.add_parser("finetune", help="fine-tune a classifier or tagger, or train a "
                                             "seq2seq model")
    _add_config_flags(p, pipeline.FinetuneConfig)
    _add_run_flags(p)
    p = commands.add_parser("compare", help="MiniLM fine-tuned vs a BERT from scratch vs a "
                                            "bag of words (the article's §5)")
    _add_config_flags(p, CompareConfig, COMPARE_HELP)
    _add_run_flags(p, resume=False)
    p = commands.add_parser("evaluate", help="metrics of a checkpoint on held-out data")
    p.add_argument("--checkpoint", required=True, help="a run folder or a checkpoint file")
    p.add_argument("--data", help="a text file (language model) or text<TAB>label file "
                                  "(classifier); default: the run's own held-out split "
                                  "(the only choice for taggers and seq2seq models)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    p = commands.add_parser("generate", help="continue a prompt with a pretrained GPT, or "
                                             "translate / answer it with a seq2seq model")
    p.add_argument("--checkpoint", required=True, help="a run folder or a checkpoint file")
    p.add_argument("--prompt", required=True)
    p.add_argument("--max-new-tokens", type=int, default=100)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1, help=THREADS_HELP)
    return parser


def _config(cls, args, run_dir):
    """The command's config: the flags given, and on --resume the checkpoint's settings for
    the rest. A given flag that differs from the checkpoint's is an error."""
    given = {f.name: getattr(args, f.name) for f in fields(cls)
             if getattr(args, f.name) is not None}
    if not getattr(args, "resume", False):
        return cls(**given)
    path = os.path.join(run_dir, "checkpoint.npz")
    saved = load_checkpoint(path)["run_config"]
    diffs = [f"--{k.replace('_', '-')}: checkpoint {saved[k]!r}, requested {v!r}"
             for k, v in given.items() if k in saved and saved[k] != v]
    if diffs:
        raise CheckpointError(f"{path}: written by another configuration; --resume continues "
                              "the same run: " + "; ".join(diffs))
    return cls(**{**{f.name: saved[f.name] for f in fields(cls) if f.name in saved}, **given})


def _run_dir(args):
    if getattr(args, "resume", False) and not args.run:
        raise pipeline.DataError("--resume needs --run NAME: the run to continue")
    return os.path.join(args.runs_dir, args.run or pipeline.run_name(args.command))


def _interrupted(args, run_dir, step):
    print(f"interrupted at step {step}: checkpoint saved to "
          f"{os.path.join(run_dir, 'checkpoint.npz')}\ncontinue with: python -m transformer "
          f"{args.command} --run {os.path.basename(run_dir)} --runs-dir {args.runs_dir} --resume",
          file=sys.stderr)
    return 130


def _print_metrics(metrics):
    for key, value in metrics.items():
        print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")


def _dispatch(args):
    mg.set_num_threads(args.threads)
    if args.command in ("evaluate", "generate"):
        if args.command == "evaluate":
            _print_metrics(pipeline.evaluate(args.checkpoint, data=args.data,
                                             device=args.device))
        else:
            print(pipeline.generate(args.checkpoint, args.prompt,
                                    max_new_tokens=args.max_new_tokens,
                                    temperature=args.temperature, top_k=args.top_k,
                                    seed=args.seed, device=args.device))
        return 0
    pipeline.check_device(args.device)
    run_dir = _run_dir(args)
    progress = not args.no_progress and sys.stderr.isatty()
    if args.command == "compare":
        compare(_config(CompareConfig, args, run_dir), run_dir, device=args.device,
                plots=not args.no_plots)
        print(f"run folder: {run_dir}")
        return 0
    if args.command == "demo":
        demo(_config(DemoConfig, args, run_dir), run_dir, device=args.device, progress=progress,
             plots=not args.no_plots)
        return 0
    if args.command == "pretrain":
        config = _config(pipeline.PretrainConfig, args, run_dir)
        _, _, result = pipeline.pretrain(config, run_dir, resume=args.resume,
                                         device=args.device, progress=progress,
                                         plots=not args.no_plots)
        if result.interrupted:
            return _interrupted(args, run_dir, result.step)
        print(f"pretrained: {json.dumps(result.evals[-1])}\nrun folder: {run_dir}")
        return 0
    config = _config(pipeline.FinetuneConfig, args, run_dir)
    _, _, report = pipeline.finetune(config, run_dir, resume=args.resume, device=args.device,
                                     progress=progress, plots=not args.no_plots)
    if report["interrupted"]:
        return _interrupted(args, run_dir, report["step"])
    _print_metrics({k: v for k, v in report.items() if k not in ("interrupted", "step")})
    print(f"run folder: {run_dir}")
    return 0


def main(argv=None):
    """Run one command; returns the exit status (0 ok, 1 bad input, 2 usage, 130 Ctrl-C)."""
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except (MinigradError, OSError, ValueError, UnicodeError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
