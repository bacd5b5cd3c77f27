"""Sequence-to-sequence fine-tuning with the encoder-decoder Transformer (FORMULAS B1-B3).

    finetune --task numbers                English number words → Chinese numerals (exactly
                                           checkable: "three hundred and twelve" → "三百一十二")
    finetune --task qa --language english  chatterbot-corpus: question → answer (generative QA)
    finetune --task pairs --data FILE      the user's TSV / CSV / JSONL of source, target

The model is a ``Seq2SeqTransformer`` trained from scratch with teacher forcing: the decoder
reads [bos] + target and predicts target + [eos] (``seq2seq.make_batch``). One character
vocabulary serves both sides (tied embeddings). The test split is translated greedily and
scored by exact match and corpus BLEU (FORMULAS F1). A source with several targets (a question
with several answers) is one test item: the hypothesis matches if it equals any target, and
BLEU counts n-grams against all of them. BLEU's tokens are sacrebleu's "zh": each Chinese
character, and English words and punctuation as its default 13a.
"""
from dataclasses import asdict

import numpy as np

import minigrad as mg

from . import datasets
from .checkpoint import checkpoint_saver, load_checkpoint, restore_training, tokenizer_from_json
from .data_files import DataError, _reporting, subsample
from .metrics import corpus_bleu
from .model_kinds import build
from .runs import Run
from .seq2seq import make_batch
from .tokenizers import CharTokenizer
from .train import (ClassificationTask, TrainConfig, TrainState, fit, make_optimizer,
                    make_scheduler)

__all__ = ["SEQ2SEQ_TASKS", "is_seq2seq", "load_pairs", "build_tokenizer", "seq2seq_config",
           "Seq2SeqTask", "translate", "group_targets", "seq2seq_report", "finetune_seq2seq"]

SEQ2SEQ_TASKS = {                       # name -> pairs(data, language)
    "numbers": lambda data, language: datasets.number_translation(4000, seed=0),
    "qa": lambda data, language: [(q, a) for q, a, _ in datasets.chatterbot_qa(language)],
    "pairs": lambda data, language: _user_pairs(data),
}
SPECIALS = ["<pad>", "<bos>", "<eos>"]          # ids 1, 2, 3 after <unk> = 0


def is_seq2seq(task):
    return task in SEQ2SEQ_TASKS


def _user_pairs(path, warn=print):
    if not path:
        raise DataError("--task pairs needs --data FILE: a TSV / CSV / JSONL file of source, "
                        "target")
    return _reporting(warn, datasets.read_pairs, path)


def load_pairs(task, limit, seed, data="", language="english"):
    """(train, valid, test) lists of (source, target) strings, split 80/10/10 by source (all
    targets of one source in one part: no leaks)."""
    pairs = SEQ2SEQ_TASKS[task](data, language)
    parts = datasets.split(subsample(pairs, limit, seed), (0.8, 0.1, 0.1), seed=seed)
    if not all(parts):
        raise DataError(f"{task}: {len(pairs)} pairs are too few for a training, a validation "
                        "and a test part (80/10/10)")
    return parts


def build_tokenizer(pairs):
    return CharTokenizer.from_text("".join(s + t for s, t in pairs), special_tokens=SPECIALS)


def seq2seq_config(tokenizer, config):
    """A small Seq2SeqConfig in the pipeline's size names (n_layer layers on each side)."""
    ids = {name: tokenizer.token_to_id(token)
           for name, token in zip(("pad_id", "bos_id", "eos_id"), SPECIALS)}
    V = tokenizer.vocab_size
    return dict(src_vocab_size=V, tgt_vocab_size=V, d_model=config.n_embd, n_head=config.n_head,
                num_encoder_layers=config.n_layer, num_decoder_layers=config.n_layer,
                d_ff=4 * config.n_embd, dropout=config.dropout, max_len=config.max_len,
                norm_first=True, **ids)


class Seq2SeqTask(ClassificationTask):
    """Batches of (src, tgt_in, tgt_out) in a new order each epoch (as ClassificationTask's);
    the loss is the model's teacher-forced cross-entropy; validation reports it and the exact
    match of greedy translations (against any target of the source, as ``seq2seq_report``)."""

    def __init__(self, train, valid, batch_size, config, seed=0, device="cpu"):
        super().__init__(train, valid, batch_size, config["pad_id"], seed, device)
        self.ids = config

    def _collate(self, data, indices):
        arrays = make_batch([data[0][i] for i in indices], [data[1][i] for i in indices],
                            self.ids["pad_id"], self.ids["bos_id"], self.ids["eos_id"])
        return tuple(mg.tensor(a, device=self.device) for a in arrays)

    def tokens(self, batch):
        return int((batch[2].numpy() != self.ids["pad_id"]).sum())

    def loss(self, model, batch):
        return model(batch[0], batch[1], batch[2])[1]

    def evaluate(self, model):
        losses = [self.loss(model, self._collate(self.valid, range(s, min(s + 64, len(
            self.valid[0]))))).item() for s in range(0, len(self.valid[0]), 64)]
        sources, targets = group_targets(zip(map(tuple, self.valid[0]),
                                             map(tuple, self.valid[1])))
        hyps = translate(model, [list(s) for s in sources], self.device)
        exact = np.mean([tuple(h) in t for h, t in zip(hyps, targets)])
        return {"val_loss": float(np.mean(losses)), "val_exact_match": float(exact)}


def group_targets(pairs):
    """``(sources, targets)``: each distinct source once, in order, with the list of its
    targets.

    >>> group_targets([("hi", "hello"), ("bye", "ciao"), ("hi", "hey")])
    (['hi', 'bye'], [['hello', 'hey'], ['ciao']])
    """
    targets = {}
    for source, target in pairs:
        targets.setdefault(source, []).append(target)
    return list(targets), list(targets.values())


def translate(model, sources, device="cpu", batch_size=64):
    """Greedy translations (token lists) of source token lists."""
    out = []
    for start in range(0, len(sources), batch_size):
        src, _, _ = make_batch(sources[start:start + batch_size],
                               [[0]] * len(sources[start:start + batch_size]),
                               model.config.pad_id)
        out += model.greedy_decode(mg.tensor(src, device=device), max_len=model.config.max_len)
    return out


def seq2seq_report(model, tokenizer, pairs, device="cpu"):
    """Exact match (the output equals one of its source's targets) and corpus BLEU against all
    of them, of greedy outputs for the distinct sources of ``pairs``; three examples."""
    sources, refs = group_targets(pairs)
    limit = model.config.max_len - 1                           # as in training: room for eos
    model.eval()
    with mg.no_grad():
        hyps = [tokenizer.decode(h) for h in
                translate(model, [tokenizer.encode(s)[:limit] for s in sources], device)]
    model.train()
    bleu = corpus_bleu(hyps, refs, tokenize="zh")
    return {"exact_match": float(np.mean([h in r for h, r in zip(hyps, refs)])),
            "bleu": float(bleu.score),
            "examples": [f"{s} → {h} (reference {r[0]})"
                         for s, h, r in zip(sources[:3], hyps, refs)]}


def finetune_seq2seq(config, run_dir, *, device="cpu", progress=True, echo=print, resume=False,
                     stop_at=None, plots=True):
    """Train an encoder-decoder translator from scratch on a seq2seq task (``pipeline.finetune``
    sends it here); returns ``(model, tokenizer, report)``: exact match and BLEU on the test
    split."""
    run = Run(run_dir)
    train, valid, test = load_pairs(config.task, config.limit, config.seed, config.data,
                                    config.language)
    mg.manual_seed(config.seed)
    state = load_checkpoint(run.checkpoint_path, kind="seq2seq") if resume else None
    tokenizer = tokenizer_from_json(state["tokenizer"]) if state else build_tokenizer(train)
    model_config = state["model_config"] if state else seq2seq_config(tokenizer, config)
    model = build("seq2seq", model_config).to(device)

    def encode(pairs):
        limit = model_config["max_len"] - 1                    # room for bos / eos
        return ([tokenizer.encode(s)[:limit] for s, _ in pairs],
                [tokenizer.encode(t)[:limit] for _, t in pairs])

    train_config = TrainConfig.from_settings(config)
    optimizer = make_optimizer(model, train_config)
    train_state = TrainState(model, optimizer, make_scheduler(optimizer, train_config))
    if state is not None:
        restore_training(train_state, state)
        run.truncate_metrics(train_state.step)
    else:
        run.write_config({"command": "finetune", **asdict(config), "device": device})
        echo(f"finetune (seq2seq from scratch): {len(train)} / {len(valid)} / {len(test)} "
             f"train / validation / test pairs, e.g. {train[0][0]} → {train[0][1]}")
    task = Seq2SeqTask(encode(train), encode(valid), config.batch_size, model_config,
                       config.seed, device)

    save = checkpoint_saver(run.checkpoint_path, config.seed, kind="seq2seq",
                            model_config=model_config, tokenizer=tokenizer,
                            run_config={"command": "finetune", **asdict(config)})
    result = fit(train_state, task, train_config, run=run, save=save, progress=progress,
                 echo=echo, stop_at=stop_at)
    if plots:
        run.plot_curves()
    if result.interrupted:
        return model, tokenizer, {"interrupted": True, "step": result.step}
    report = seq2seq_report(model, tokenizer, test, device)
    run.log({"step": result.step, "test_exact_match": report["exact_match"],
             "test_bleu": report["bleu"]})
    report.update(interrupted=False, step=result.step)
    run.summarize(f"finetune: {config.task} (seq2seq from scratch)", [
        f"A Seq2SeqTransformer ({model.num_parameters():,} parameters), {result.step} steps on "
        f"{len(train):,} pairs; {len(valid):,} validation, {len(test):,} test.", "",
        f"Test: exact match {report['exact_match']:.4f}, BLEU {report['bleu']:.2f}", "",
        *[f"- {example}" for example in report["examples"]]])
    return model, tokenizer, report
