"""Seq2seq fine-tuning (FORMULAS B1-B3, A3): from scratch or from a pretrained model.

    finetune --task numbers                English number words → Chinese numerals (exactly
                                           checkable: "three hundred and twelve" → "三百一十二")
    finetune --task qa --language english  chatterbot-corpus: question → answer (generative QA)
    finetune --task pairs --data FILE      the user's TSV / CSV / JSONL of source, target

``--init`` chooses where the weights start (``start_translator``; ``Translator`` hides the
differences from the training loop and the metrics):

    scratch     a ``Seq2SeqTransformer`` ("seq2seq"): n_layer encoder and n_layer decoder
                layers, one character vocabulary of sources and targets (tied embeddings);
                the decoder reads [bos] + target and predicts target + [eos]
    RUN (GPT)   the pretrained GPT as a conditional language model ("gpt-seq2seq",
                ``gpt_seq2seq.py``): it reads ``source <sep> target`` and learns only the
                target and <eos>; its tokenizer gains <sep>, <eos> and the task's missing
                characters, every pretrained embedding row kept
    RUN (BERT)  the pretrained BERT (masked LM) as the encoder under a fresh decoder
                ("bert-seq2seq", ``bert_encoder_decoder.py``), sources in its tokenizer,
                targets in a character vocabulary of the targets
    minilm      the same with all-MiniLM-L6-v2 (English WordPiece, 6 layers, width 384,
                projected to the decoder's n_embd) as the encoder

Any other checkpoint (a classifier, a tagger, a seq2seq model) is refused with a
CheckpointError. The test split is translated greedily and scored by exact match and corpus
BLEU (FORMULAS F1). A source with several targets (a question with several answers) is one
test item: the hypothesis matches if it equals any target, and BLEU counts n-grams against all
of them. BLEU's tokens are sacrebleu's "zh": each Chinese character, and English words and
punctuation as its default 13a.

Measured once (seed 0, 2 shared CPU cores): --task numbers, 3,200 training / 400 test pairs,
batch 32, lr 1e-3 (cosine to 1e-4), n_embd 64, n_head 4, n_layer 2 unless noted; the GPTs
pretrained with ``pretrain`` (People's Daily, char, 300 steps: validation perplexity 539 with
2 layers, 555 with 4), "random" the same GPT and tokenizer with fresh weights:

    start                         model (parameters)                steps  exact    BLEU
    scratch                       Seq2SeqTransformer 2+2 (236k)       300  0.975   99.20
    GPT pretrained                GPTForSeq2Seq 2 layers (404k)       300  0.005   23.71
    GPT random                    GPTForSeq2Seq 2 layers (404k)       300  0.000   15.73
    GPT pretrained                GPTForSeq2Seq 2 layers              1000  0.710   86.37
    GPT random                    GPTForSeq2Seq 2 layers              1000  0.748   87.31
    GPT pretrained, 4 layers      GPTForSeq2Seq 4 layers (504k)       300  0.000    8.22
    GPT random, 4 layers          GPTForSeq2Seq 4 layers (504k)       300  0.023   28.88
    minilm                        BertEncoderDecoder (22.7M)          300  1.000  100.00
    minilm, lr 1e-4               BertEncoderDecoder (22.7M)          300  0.995   99.92

What it shows. MiniLM's encoder already knows English number words as WordPiece tokens
("seventy", "-", "six"); its decoder, as small as the scratch model's, learns the numerals in
100 steps (validation exact match 0.98 there), at ~100x the parameters and ~7x the time of the
scratch model. The GPT read as a conditional LM learns the task far more slowly than the
encoder-decoder: 300k of its parameters are the 4,687 embedding rows of a Chinese vocabulary
(its first loss is 7.2 against the scratch model's 5.0), English letters are new rows for it,
and a few hundred steps of pretraining on Chinese news taught it nothing this task uses: the
pretrained GPT is no better than the random one (single runs; the differences between them are
within what another seed could change). A GPT pretrained longer, on text with both languages,
is where --init RUN should pay off; at these sizes, for this task, train from scratch or
start from MiniLM.
"""
from dataclasses import asdict

import numpy as np

import minigrad as mg
from minigrad.errors import CheckpointError

from . import datasets
from .bert import BertModel
from .bert_encoder_decoder import BertEncoderDecoder
from .checkpoint import (checkpoint_saver, load_checkpoint, restore_training, tokenizer_from_json,
                         tokenizer_to_json)
from .data_files import DataError, _reporting, subsample
from .gpt_seq2seq import GPTForSeq2Seq, conditional_lm_batch, encode_text, extend_tokenizer
from .metrics import corpus_bleu
from .model_kinds import SEQ2SEQ_KINDS, build, from_checkpoint
from .runs import Run
from .seq2seq import Seq2SeqConfig, make_batch
from .tokenizers import CharTokenizer, WordPieceTokenizer
from .train import ClassificationTask, TrainConfig, TrainState, fit, make_optimizer, make_scheduler

__all__ = ["SEQ2SEQ_TASKS", "is_seq2seq", "load_pairs", "build_tokenizer", "seq2seq_config",
           "decoder_config", "Translator", "Seq2SeqTask", "group_targets", "seq2seq_report",
           "start_translator", "finetune_seq2seq"]

SEQ2SEQ_TASKS = {                       # name -> pairs(data, language)
    "numbers": lambda data, language: datasets.number_translation(4000, seed=0),
    "qa": lambda data, language: [(q, a) for q, a, _ in datasets.chatterbot_qa(language)],
    "pairs": lambda data, language: _user_pairs(data),
}
SPECIALS = ["<unk>", "<pad>", "<bos>", "<eos>"]          # ids 0, 1, 2, 3


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


def build_tokenizer(pairs, sources=True):
    """The character vocabulary of the pairs (with ``sources=False``: of their targets only)
    after <unk>, <pad>, <bos>, <eos>."""
    text = "".join((s if sources else "") + t for s, t in pairs)
    return CharTokenizer.from_text(text, special_tokens=SPECIALS)


def seq2seq_config(tokenizer, config):
    """A small Seq2SeqConfig in the pipeline's size names (n_layer layers on each side)."""
    V = tokenizer.vocab_size
    return dict(src_vocab_size=V, tgt_vocab_size=V, num_encoder_layers=config.n_layer,
                **_decoder_fields(tokenizer, config))


def decoder_config(encoder_config, target_tokenizer, config):
    """The Seq2SeqConfig of a decoder under a pretrained BERT (``BertEncoderDecoder``): the
    sizes of a from-scratch model's decoder, its own target vocabulary; sources as long as
    the BERT's position table allows."""
    fields = _decoder_fields(target_tokenizer, config)
    fields["max_len"] = min(fields["max_len"], encoder_config.max_position_embeddings)
    return Seq2SeqConfig(src_vocab_size=encoder_config.vocab_size,
                         num_encoder_layers=encoder_config.num_hidden_layers,
                         tgt_vocab_size=target_tokenizer.vocab_size, share_embeddings=False,
                         **fields)


def _decoder_fields(tokenizer, config):
    ids = {name: tokenizer.token_to_id(token)
           for name, token in zip(("pad_id", "bos_id", "eos_id"), SPECIALS[1:])}
    return dict(d_model=config.n_embd, n_head=config.n_head, num_decoder_layers=config.n_layer,
                d_ff=4 * config.n_embd, dropout=config.dropout, max_len=config.max_len,
                norm_first=True, **ids)


class Translator:
    """A seq2seq model of any ``SEQ2SEQ_KINDS`` kind with its tokenizers: how a pair is
    encoded, a batch made, a source translated, an output decoded.

        kind            model                 source tokens        target tokens
        "seq2seq"       Seq2SeqTransformer    the char vocabulary of the pairs (one, tied)
        "gpt-seq2seq"   GPTForSeq2Seq         the pretrained tokenizer, extended (one)
        "bert-seq2seq"  BertEncoderDecoder    the BERT's ([CLS] … [SEP])  a char vocabulary
    """

    def __init__(self, kind, model, source_tokenizer, target_tokenizer=None):
        self.kind, self.model = kind, model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = source_tokenizer if target_tokenizer is None \
            else target_tokenizer

    @classmethod
    def from_loaded(cls, model, tokenizer, state):
        """The translator of a loaded seq2seq checkpoint: its model and (source) tokenizer,
        and its own target tokenizer where it has one."""
        target = state["extra"].get("target_tokenizer")
        return cls(state["kind"], model, tokenizer,
                   None if target is None else tokenizer_from_json(target))

    def model_config(self):
        """The config dict a checkpoint records (``model_kinds.build`` reads it)."""
        if self.kind == "bert-seq2seq":
            return {"encoder": asdict(self.model.encoder.config),
                    "decoder": asdict(self.model.config)}
        return asdict(self.model.config)

    def extra(self):
        """What the checkpoint keeps besides: the target tokenizer where it differs."""
        if self.target_tokenizer is self.source_tokenizer:
            return {}
        return {"target_tokenizer": tokenizer_to_json(self.target_tokenizer)}

    def encode_source(self, text):
        """Source ids, cut to what the model reads (room left for the target where the
        target shares the positions)."""
        config = self.model.config
        if self.kind == "gpt-seq2seq":
            return encode_text(self.source_tokenizer, text)[:config.block_size - 2]
        if self.kind == "seq2seq":
            return self.source_tokenizer.encode(text)[:config.max_len - 1]
        if isinstance(self.source_tokenizer, WordPieceTokenizer):
            return self.source_tokenizer.encode(text, max_length=config.max_len,
                                                truncation=True)
        tok = self.source_tokenizer                     # a BERT pretrained here: characters
        return [tok.token_to_id("[CLS]"), *tok.encode(text)[:config.max_len - 2],
                tok.token_to_id("[SEP]")]

    def encode_target(self, text, source_ids):
        config = self.model.config
        if self.kind == "gpt-seq2seq":                  # source [sep] target ≤ block_size
            room = config.block_size - 1 - len(source_ids)
            return encode_text(self.target_tokenizer, text)[:room]
        return self.target_tokenizer.encode(text)[:config.max_len - 1]

    def encode_pairs(self, pairs):
        """``(sources, targets)``: lists of id lists."""
        sources = [self.encode_source(s) for s, _ in pairs]
        return sources, [self.encode_target(t, s) for (_, t), s in zip(pairs, sources)]

    def source_pad_id(self):
        if self.kind == "bert-seq2seq":
            return self.model.encoder.config.pad_token_id
        return self.model.config.pad_id

    def collate(self, sources, targets):
        """The arrays of ``model(*arrays)``, labels last: (src, tgt_in, tgt_out) for an
        encoder-decoder (``seq2seq.make_batch``), (idx, labels) for a GPT
        (``gpt_seq2seq.conditional_lm_batch``)."""
        config = self.model.config
        if self.kind == "gpt-seq2seq":
            return conditional_lm_batch(sources, targets, config.sep_id, config.eos_id)
        src = make_batch(sources, targets, self.source_pad_id())[0]
        _, tgt_in, tgt_out = make_batch(sources, targets, config.pad_id, config.bos_id,
                                        config.eos_id)
        return src, tgt_in, tgt_out

    def ignored_label(self):
        """The label value that has no loss."""
        return -1 if self.kind == "gpt-seq2seq" else self.model.config.pad_id

    def translate(self, sources, device="cpu", batch_size=64):
        """Greedy translations (token lists) of source token lists, in order. A GPT has no
        padding mask: its sources run in batches of equal length."""
        if self.kind != "gpt-seq2seq":
            out = []
            for start in range(0, len(sources), batch_size):
                chunk = sources[start:start + batch_size]
                src = make_batch(chunk, [[0]] * len(chunk), self.source_pad_id())[0]
                out += self.model.greedy_decode(mg.tensor(src, device=device),
                                                max_len=self.model.config.max_len)
            return out
        out = [None] * len(sources)
        by_length = {}
        for i, s in enumerate(sources):
            by_length.setdefault(len(s), []).append(i)
        for rows in by_length.values():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start:start + batch_size]
                src = mg.tensor(np.array([sources[i] for i in chunk], dtype=np.int64),
                                device=device)                                  # (B, Ts)
                for i, tokens in zip(chunk, self.model.greedy_decode(src)):
                    out[i] = tokens
        return out

    def decode(self, ids):
        return self.target_tokenizer.decode(ids)


class Seq2SeqTask(ClassificationTask):
    """Batches of a ``Translator``'s arrays in a new order each epoch (as ClassificationTask's);
    the loss is the model's teacher-forced cross-entropy; validation reports it and the exact
    match of greedy translations (against any target of the source, as ``seq2seq_report``)."""

    def __init__(self, train, valid, batch_size, translator, seed=0, device="cpu"):
        super().__init__(train, valid, batch_size, None, seed, device)  # pads: the translator's
        self.translator = translator

    def _collate(self, data, indices):
        arrays = self.translator.collate([data[0][i] for i in indices],
                                         [data[1][i] for i in indices])
        return tuple(mg.tensor(a, device=self.device) for a in arrays)

    def tokens(self, batch):
        return int((batch[-1].numpy() != self.translator.ignored_label()).sum())

    def loss(self, model, batch):
        return model(*batch)[1]

    def evaluate(self, model):
        losses = [self.loss(model, self._collate(self.valid, range(s, min(s + 64, len(
            self.valid[0]))))).item() for s in range(0, len(self.valid[0]), 64)]
        sources, targets = group_targets(zip(map(tuple, self.valid[0]),
                                             map(tuple, self.valid[1])))
        hyps = self.translator.translate([list(s) for s in sources], self.device)
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


def seq2seq_report(translator, pairs, device="cpu"):
    """Exact match (the output equals one of its source's targets) and corpus BLEU against all
    of them, of greedy outputs for the distinct sources of ``pairs``; three examples."""
    sources, refs = group_targets(pairs)
    translator.model.eval()
    with mg.no_grad():
        hyps = [translator.decode(h) for h in
                translator.translate([translator.encode_source(s) for s in sources], device)]
    translator.model.train()
    bleu = corpus_bleu(hyps, refs, tokenize="zh")
    return {"exact_match": float(np.mean([h in r for h, r in zip(hyps, refs)])),
            "bleu": float(bleu.score),
            "examples": [f"{s} → {h} (reference {r[0]})"
                         for s, h, r in zip(sources[:3], hyps, refs)]}


def start_translator(config, train, echo=print):
    """A fresh ``Translator`` for ``config.init``: "scratch", "minilm", or a pretrained run
    folder / checkpoint (a GPT: conditional LM; a BERT: its encoder under a fresh decoder)."""
    if config.init == "scratch":
        tokenizer = build_tokenizer(train)
        return Translator("seq2seq", build("seq2seq", seq2seq_config(tokenizer, config)),
                          tokenizer)
    if config.init == "minilm":
        from .pretrained import installed_checkpoint, load_bert
        folder = installed_checkpoint()
        encoder = load_bert(BertModel, folder, add_pooling_layer=False).train()
        target = build_tokenizer(train, sources=False)
        model = BertEncoderDecoder(decoder_config(encoder.config, target, config), encoder)
        return Translator("bert-seq2seq", model, WordPieceTokenizer.from_pretrained(folder),
                          target)
    from .pipeline.common import (
        load_model,  # here: the pipeline package imports this module
    )
    pretrained, tokenizer, state = load_model(config.init)
    if state["kind"] == "gpt":
        extended = extend_tokenizer(tokenizer, [s + t for s, t in train])
        added = extended.vocab_size - tokenizer.vocab_size
        echo(f"the pretrained vocabulary of {tokenizer.vocab_size} tokens gains {added}: <sep>, "
             f"<eos>{' and the task characters it lacked' if added > 2 else ''}")
        return Translator("gpt-seq2seq", GPTForSeq2Seq.from_gpt(pretrained, tokenizer, extended),
                          extended)
    if state["kind"] == "bert":
        target = build_tokenizer(train, sources=False)
        model = BertEncoderDecoder(decoder_config(pretrained.config, target, config),
                                   pretrained.bert)
        return Translator("bert-seq2seq", model, tokenizer, target)
    raise CheckpointError(f"{config.init}: a {state['kind']} model; seq2seq fine-tuning starts "
                          "from a pretrained language model (a 'pretrain' checkpoint: gpt or "
                          "bert), 'minilm' or 'scratch'")


def finetune_seq2seq(config, run_dir, *, device="cpu", progress=True, echo=print, resume=False,
                     stop_at=None, plots=True):
    """Train a translator on a seq2seq task (``pipeline.finetune`` sends it here), from
    ``config.init`` (``start_translator``); returns ``(model, tokenizer, report)``: the
    tokenizer of the sources, exact match and BLEU on the test split."""
    run = Run(run_dir)
    train, valid, test = load_pairs(config.task, config.limit, config.seed, config.data,
                                    config.language)
    mg.manual_seed(config.seed)
    state = load_checkpoint(run.checkpoint_path, kind=SEQ2SEQ_KINDS) if resume else None
    if state is not None:
        translator = Translator.from_loaded(from_checkpoint(state, run.checkpoint_path),
                                            tokenizer_from_json(state["tokenizer"]), state)
    else:
        translator = start_translator(config, train, echo)
    model = translator.model.to(device)
    train_config = TrainConfig.from_settings(config)
    optimizer = make_optimizer(model, train_config)
    train_state = TrainState(model, optimizer, make_scheduler(optimizer, train_config))
    origin = "from scratch" if config.init == "scratch" else f"from {config.init}"
    if state is not None:
        restore_training(train_state, state)
        run.truncate_metrics(train_state.step)
    else:
        run.write_config({"command": "finetune", **asdict(config), "device": device})
        echo(f"finetune (seq2seq {origin}, {translator.kind}): {len(train)} / {len(valid)} / "
             f"{len(test)} train / validation / test pairs, e.g. {train[0][0]} → {train[0][1]}")
    task = Seq2SeqTask(translator.encode_pairs(train), translator.encode_pairs(valid),
                       config.batch_size, translator, config.seed, device)

    save = checkpoint_saver(run.checkpoint_path, config.seed, kind=translator.kind,
                            model_config=translator.model_config(),
                            tokenizer=translator.source_tokenizer,
                            run_config={"command": "finetune", **asdict(config)},
                            extra=translator.extra())
    result = fit(train_state, task, train_config, run=run, save=save, progress=progress,
                 echo=echo, stop_at=stop_at)
    if plots:
        run.plot_curves()
    if result.interrupted:
        return model, translator.source_tokenizer, {"interrupted": True, "step": result.step}
    report = seq2seq_report(translator, test, device)
    run.log({"step": result.step, "test_exact_match": report["exact_match"],
             "test_bleu": report["bleu"]})
    report.update(interrupted=False, step=result.step)
    run.summarize(f"finetune: {config.task} (seq2seq {origin})", [
        (f"A {translator.kind} model, {type(model).__name__} ({model.num_parameters():,} "
         f"parameters), {result.step} steps on {len(train):,} pairs; {len(valid):,} "
         f"validation, {len(test):,} test."), "",
        f"Test: exact match {report['exact_match']:.4f}, BLEU {report['bleu']:.2f}", "",
        *[f"- {example}" for example in report["examples"]]])
    return model, translator.source_tokenizer, report
