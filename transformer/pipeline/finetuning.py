"""``finetune``: labeled texts → a sequence classifier or a tagger, its trunk from a pretrained
checkpoint, all-MiniLM-L6-v2, or random weights; a seq2seq task goes to ``translate.py``.
Labels enter here, not before (FORMULAS A3).
"""
from dataclasses import asdict, dataclass

import minigrad as mg
from minigrad.errors import CheckpointError

from ..checkpoint import checkpoint_saver, load_checkpoint, restore_training, tokenizer_from_json
from ..data_files import DataError, is_tagging, load_task, subsample
from ..datasets import split
from ..metrics import accuracy, confusion_matrix, precision_recall_f1
from ..model_kinds import (CLASSIFIER_KINDS, LM_KINDS, build, classifier_config, classifier_from,
                           lm_config)
from ..runs import Run
from ..tokenizers import CharTokenizer, WordPieceTokenizer
from ..train import (ClassificationTask, TokenClassificationTask, TrainConfig, TrainState, fit,
                     make_optimizer, make_scheduler)
from ..translate import finetune_seq2seq, is_seq2seq
from .common import MODEL_FIELDS, build_tokenizer, check_device, encode, load_model, pad_id


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


def encode_examples(tokenizer, examples, max_len, kind):
    """Token ids cut to ``max_len``, and their labels. A BERT's ids start with [CLS] (its
    pooler reads it), and with a WordPiece tokenizer they end with [SEP]: Hugging Face's BERT
    tokenizer writes [CLS] ... [SEP], and all-MiniLM-L6-v2 was trained on such sequences (a
    BERT pretrained here on a WordPiece stream, ``MLMTask``, saw [CLS] but never [SEP]: it
    meets it at fine-tuning). A tagger's labels go on tokens, -100 where none applies ([CLS],
    [SEP], padding):

        characters (segmentation)   one label per character, so one token per character: a
                                    character tokenizer, or WordPiece read one character at
                                    a time (``_encode_characters``)
        words (pos)                 each word's label on one of its tokens, -100 on the rest:
                                    the first (BERT, as Hugging Face's token classification),
                                    or the last for a GPT, whose causal attention lets only
                                    the word's last token see the whole word (measured once:
                                    the demo's GPT, 3,000 sentences, 200 steps: test word
                                    accuracy 0.749 on the last character, 0.719 on the first)
    """
    bert = kind.startswith("bert")
    start = [tokenizer.token_to_id("[CLS]")] if bert else []
    end = [tokenizer.token_to_id("[SEP]")] if bert and isinstance(tokenizer, WordPieceTokenizer) \
        else []
    room = max_len - len(start) - len(end)
    tagging = kind.endswith("tagger")
    pieces = {}                                       # character -> its one id, for WordPiece
    ids, labels = [], []
    for text, label in examples:
        if not tagging:
            body, body_labels = encode(tokenizer, text), None
        elif isinstance(text, str):
            body, body_labels = _encode_characters(tokenizer, text, pieces), list(label)
        else:
            body, body_labels = _encode_words(tokenizer, text, label, last=kind.startswith("gpt"))
        ids.append(start + body[:room] + end or [pad_id(tokenizer)])
        labels.append([-100] * len(start) + body_labels[:room] + [-100] * len(end) if tagging
                      else label)
    return ids, labels


def _encode_characters(tokenizer, text, pieces):
    """One id per character of ``text``. A WordPiece tokenizer reads the text a character at a
    time: whole, it would keep a run of non-CJK characters together as one word ("１９９８"
    is one [UNK]), and drop whitespace. A character that does not give exactly one piece
    alone becomes [UNK]. For People's Daily every character gives one piece, but MiniLM's
    English vocabulary knows few Chinese characters: 64% of the corpus's characters (and all
    the full-width digits) are [UNK] (measured). ``pieces`` caches character -> id."""
    if isinstance(tokenizer, CharTokenizer):
        return tokenizer.encode(text)
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise DataError(f"a character tagging task labels every character: it needs a "
                        f"character or WordPiece tokenizer, and this model has a "
                        f"{type(tokenizer).__name__}")
    for c in set(text) - pieces.keys():
        alone = tokenizer.tokenize(c)
        pieces[c] = tokenizer.token_to_id(alone[0] if len(alone) == 1 else "[UNK]")
    return [pieces[c] for c in text]


def _encode_words(tokenizer, words, tags, last):
    """(ids, labels) of a tagged word sequence: each word's tag on its last token (``last``)
    or its first, -100 on its other tokens. A word with no token (all whitespace) is lost."""
    ids, labels = [], []
    for word, tag in zip(words, tags):
        pieces = encode(tokenizer, word)
        if pieces:
            where = len(pieces) - 1 if last else 0
            ids += pieces
            labels += [tag if i == where else -100 for i in range(len(pieces))]
    return ids, labels


def unknown_share(tokenizer, ids):
    """The share of [UNK] among the token ids (lists of ids), special tokens left out."""
    unk = tokenizer.token_to_id("[UNK]")
    other_special = {tokenizer.token_to_id(t) for t in tokenizer.special_tokens} - {unk}
    tokens = [i for row in ids for i in row if i not in other_special]
    return tokens.count(unk) / max(len(tokens), 1)


def task_class(kind):
    return TokenClassificationTask if kind.endswith("tagger") else ClassificationTask


def finetune(config, run_dir, *, device="cpu", progress=True, echo=print, tokenizer=None,
             resume=False, stop_at=None, plots=True):
    """Fine-tune a sequence classifier (or a tagger, for a tagging task); returns
    ``(model, tokenizer, report)``.

    ``config.init``: a pretrained GPT or BERT checkpoint whose trunk (and tokenizer) the
    model starts from; "minilm": the installed all-MiniLM-L6-v2 encoder and its WordPiece
    tokenizer (``minilm``; for tagging see ``encode_examples``); or "scratch": random weights
    and a character tokenizer built on the training texts (or ``tokenizer``, to compare with a
    pretrained model on equal terms).

    MiniLM as a tagger, measured once: ``--task pos --limit 2000 --steps 100 --batch-size 16``
    (1,588 training sentences), test word accuracy 0.544 (macro F1 0.205) for ``--init minilm
    --lr 1e-4``, 0.660 (macro F1 0.268) for ``--init scratch --model bert`` (characters, 2
    layers × 64, lr 1e-3): the English MiniLM loses on Chinese, where 62% of its training
    tokens are [UNK] (the warning printed). Its pretraining helps with text it can read.
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
        kind = f"bert-{head}"
        model, tokenizer = minilm(kind, len(label_names))
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
            config.model, lm_config(config.model, tokenizer.vocab_size, pad_id=pad_id(tokenizer),
                                    **{k: getattr(config, k) for k in MODEL_FIELDS}),
            len(label_names), config.pooling))
    context = model.config.block_size if kind.startswith("gpt") \
        else model.config.max_position_embeddings
    max_len = min(config.max_len, context)
    model.to(device)
    data = [encode_examples(tokenizer, part, max_len, kind) for part in (train, valid, test)]
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
        if isinstance(tokenizer, WordPieceTokenizer):
            unknown = unknown_share(tokenizer, data[0][0])
            if unknown > 0.05:
                echo(f"warning: {unknown:.0%} of the training tokens are [UNK]: the tokenizer's "
                     "vocabulary does not know them, so the model sees one token for all")
    task = task_class(kind)(data[0], data[1], config.batch_size, pad_id(tokenizer),
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


def minilm(kind, num_labels):
    """``(model, WordPieceTokenizer)`` from the installed all-MiniLM-L6-v2 checkpoint, a real
    pretrained encoder under a fresh head: "bert-classifier" (BertForSequenceClassification)
    or "bert-tagger" (BertForTokenClassification)."""
    from ..bert import BertForSequenceClassification, BertForTokenClassification
    from ..pretrained import installed_checkpoint
    folder = installed_checkpoint()
    cls = BertForTokenClassification if kind == "bert-tagger" else BertForSequenceClassification
    model = cls.from_pretrained(folder, num_labels=num_labels)
    return model.train(), WordPieceTokenizer.from_pretrained(folder)


def classification_report(model, task, data, label_names):
    """Accuracy, precision / recall / F1 (binary for two labels, else macro) and the confusion
    matrix of ``model`` on ``data`` (FORMULAS F1)."""
    model.eval()
    with mg.no_grad():
        pred, target, loss = task.predict(model, data)
    model.train()
    return scores(pred, target, loss, label_names)


def scores(pred, target, loss, label_names):
    """``classification_report``'s numbers from predictions and targets (and the mean loss)."""
    average = "binary" if len(label_names) == 2 else "macro"
    p, r, f1 = precision_recall_f1(pred, target, average=average)
    return {"loss": loss, "accuracy": accuracy(pred, target), "precision": p, "recall": r,
            "f1": f1, "confusion_matrix": confusion_matrix(pred, target, len(label_names)).tolist()}
