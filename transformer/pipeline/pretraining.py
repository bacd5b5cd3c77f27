"""``pretrain``: corpus → tokenizer → GPT causal LM (or BERT masked LM) → checkpoint.

Pretraining needs only raw text: the next character (or a masked one) is its own label
(FORMULAS A2, B5).
"""
from dataclasses import asdict, dataclass

import numpy as np

import minigrad as mg

from ..attention_maps import attention_weights
from ..checkpoint import (check_model_config, checkpoint_saver, load_checkpoint, restore_training,
                          tokenizer_from_json)
from ..data_files import DataError, is_tagging, load_corpus, load_task
from ..datasets import split
from ..model_kinds import LM_KINDS, build, lm_config, special_ids
from ..runs import Run
from ..tokenizers import WordPieceTokenizer
from ..train import LMTask, MLMTask, TrainConfig, TrainState, fit, make_optimizer, make_scheduler
from .common import MODEL_FIELDS, build_tokenizer, check_device, encode, pad_id
from .finetuning import task_split


@dataclass
class PretrainConfig:
    """``python -m transformer pretrain``'s settings; every flag's default lives here."""
    model: str = "gpt"               # gpt (causal LM) | bert (masked LM)
    corpus: str = "peoples-daily"    # a named corpus or a path, or several joined by "+"
                                     # (data_files.load_corpus)
    tokenizer: str = "char"          # char | bpe (trained on the corpus) | wordpiece (MiniLM's)
    vocab_size: int = 1024           # BPE's vocabulary (256 bytes + merges)
    block_size: int = 64
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    steps: int = 600
    batch_size: int = 16
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 30
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    eval_every: int = 100
    checkpoint_every: int = 0
    seed: int = 0
    valid_fraction: float = 0.05     # lines held out (datasets.split: no line in both parts)
    sample_tokens: int = 40          # the sample printed at each evaluation


def held_out_texts(task, limit, seeds, warn=print):
    """Every text that fine-tuning on ``task`` with ``limit`` and any of ``seeds`` validates
    or tests on (``task_split``); a tagged text as its characters, joined."""
    held_out = set()
    for seed in seeds:
        (_, valid, test), _ = task_split(task, limit, seed, warn=warn)
        held_out.update(text if isinstance(text, str) else "".join(text)
                        for text, _ in valid + test)
    return held_out


def task_texts(task, limit, seeds, warn=print):
    """A classification task's texts with their labels dropped, less every text that
    fine-tuning with ``limit`` and any of ``seeds`` validates or tests on (``task_split``):
    text a language model may pretrain on without seeing any text its classifiers are
    measured on. The training texts stay, those whose labels ``train_limit`` leaves unused
    too: few labels, many unlabeled texts (semi-supervised learning, as ULMFiT)."""
    if is_tagging(task):
        raise DataError(f"task-texts: {task} is a tagging task; its texts are the pretraining "
                        "corpus itself (use --corpus peoples-daily)")
    held_out = held_out_texts(task, limit, seeds, warn)
    examples, _ = load_task(task, warn=warn)
    return [text for text, _ in examples if text not in held_out]


def lines_without(lines, texts):
    """The lines that hold no part of an occurrence of any of ``texts`` (a text within a line,
    a whole line, or one running over several lines, which all go): a corpus a language model
    may pretrain on before a task whose held-out sentences come from the same source."""
    joined = "\n".join(lines)
    starts = np.cumsum([0] + [len(line) + 1 for line in lines[:-1]])   # where each line begins
    dropped = set()
    for text in filter(None, texts):
        at = joined.find(text)
        while at != -1:
            first, last = np.searchsorted(starts, [at, at + len(text) - 1], side="right") - 1
            dropped.update(range(first, last + 1))
            at = joined.find(text, at + 1)
    return [line for i, line in enumerate(lines) if i not in dropped]


def corpus_split(corpus, valid_fraction, seed, warn=print):
    """(training text, validation text): the corpus's lines dealt out by ``datasets.split``
    (a repeated line stays in one part), each part joined with newlines."""
    lines = load_corpus(corpus, warn=warn)
    if len(lines) < 2:
        raise DataError(f"{corpus}: one line of text; holding out validation text needs at "
                        "least two lines")
    train, valid, _ = split(lines, (1 - valid_fraction, valid_fraction, 0.0), seed=seed)
    if not valid:
        valid, train = train[-1:], train[:-1]
    return "\n".join(train), "\n".join(valid)


def pretrain(config, run_dir, *, resume=False, device="cpu", progress=True, echo=print,
             stop_at=None, plots=True):
    """Pretrain a GPT (or a BERT) on ``config.corpus``; returns ``(model, tokenizer, FitResult)``.

    ``resume``: continue ``run_dir/checkpoint.npz``; it must hold a model of the requested
    kind and shape (CheckpointError naming the fields that differ).
    """
    check_device(device)
    run = Run(run_dir)
    state = None
    if config.model not in LM_KINDS:
        raise DataError(f"unknown --model {config.model!r}; expected gpt or bert")
    if resume:
        state = load_checkpoint(run.checkpoint_path, kind=config.model)
        tokenizer = tokenizer_from_json(state["tokenizer"])
    train_text, valid_text = corpus_split(config.corpus, config.valid_fraction, config.seed,
                                          warn=echo)
    if not resume:
        tokenizer = build_tokenizer(config.tokenizer, train_text, config.vocab_size,
                                    config.model)
    train_ids, valid_ids = encode(tokenizer, train_text), encode(tokenizer, valid_text)
    if len(valid_ids) < config.block_size + 1 or len(train_ids) < config.block_size + 1:
        raise DataError(f"{config.corpus}: {len(train_ids) + len(valid_ids)} tokens, too short "
                        f"for a context of block_size={config.block_size} (its held-out "
                        f"{config.valid_fraction:.0%} needs {config.block_size + 1} tokens); use "
                        "a longer corpus or a smaller --block-size")
    model_config = lm_config(config.model, tokenizer.vocab_size, pad_id=pad_id(tokenizer),
                             **{k: getattr(config, k) for k in MODEL_FIELDS})
    if state is not None:
        check_model_config(state, model_config, run.checkpoint_path)
    mg.manual_seed(config.seed)
    model = build(config.model, model_config).to(device)
    train_config = TrainConfig.from_settings(config)
    optimizer = make_optimizer(model, train_config)
    scheduler = make_scheduler(optimizer, train_config)
    train_state = TrainState(model, optimizer, scheduler)
    if state is not None:
        restore_training(train_state, state)
        run.truncate_metrics(train_state.step)
        echo(f"resumed {run.checkpoint_path} at step {train_state.step}")
    else:
        run.write_config({"command": "pretrain", **asdict(config), "device": device})
        echo(f"pretrain: {model.num_parameters():,} parameters, {len(train_ids):,} training "
             f"tokens, vocabulary {tokenizer.vocab_size} ({config.tokenizer})")
    if config.model == "bert":
        task = MLMTask(train_ids, valid_ids, config.block_size, config.batch_size,
                       special_ids(tokenizer), tokenizer.vocab_size, config.seed, device,
                       decode=tokenizer.decode)
    else:
        prompt = train_ids[:4] if isinstance(tokenizer, WordPieceTokenizer) else train_ids[:8]
        task = LMTask(train_ids, valid_ids, config.block_size, config.batch_size, config.seed,
                      device, sample_prompt=prompt, sample_tokens=config.sample_tokens,
                      decode=tokenizer.decode)

    save = checkpoint_saver(run.checkpoint_path, config.seed, kind=config.model,
                            model_config=model_config, tokenizer=tokenizer,
                            run_config={"command": "pretrain", **asdict(config)})
    result = fit(train_state, task, train_config, run=run, save=save, progress=progress,
                 echo=echo, stop_at=stop_at)
    if plots:
        run.plot_curves()
    if not result.interrupted:
        _pretrain_outputs(run, config, model, tokenizer, task, result, plots)
    return model, tokenizer, result


def _pretrain_outputs(run, config, model, tokenizer, task, result, plots):
    """plots/attention.png (a GPT's layer-0 heads on the start of the validation text) and
    summary.md."""
    ids = task.valid_ids[:min(24, config.block_size)].tolist()
    model.eval()
    with mg.no_grad():
        sample = task.sample(model)
        weights = attention_weights(model, ids) if plots and config.model == "gpt" else None
    model.train()
    if weights is not None:
        run.plot_attention(weights, [tokenizer.decode([i]) for i in ids],
                           title="Layer 0: who attends to whom (rows attend to columns)")
    evals = [r for r in run.metrics() if "val_loss" in r]          # a resumed run's too
    first, last = evals[0], evals[-1]
    lines = [f"{model.num_parameters():,} parameters, vocabulary {tokenizer.vocab_size} "
             f"({config.tokenizer}); {result.step} steps of {config.batch_size} × "
             f"{config.block_size} tokens.", "",
             f"Validation at step {last['step']}: loss {last['val_loss']:.4f}"
             + (f", perplexity {last['val_ppl']:.2f}" if "val_ppl" in last else "")
             + f" (step {first['step']}: loss {first['val_loss']:.4f})"]
    if sample:
        lines.append(f"Sample: {sample}")
    run.summarize(f"pretrain: {config.model} on {config.corpus}", lines)
