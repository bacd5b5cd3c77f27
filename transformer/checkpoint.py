"""Training checkpoints: everything a run needs to continue exactly where it stopped.

One ``.npz`` file written by ``mg.save`` (no pickle; atomic: a temporary file renamed over the
old one, so a crash or ``kill -9`` mid-write leaves the previous checkpoint whole)::

    format          "minigrad-transformer-checkpoint", version 1
    kind            what the model is: "gpt" (causal LM), "gpt-classifier", ...
    model_config    the model's config dataclass as a dict (GPTConfig fields, num_labels, ...)
    model           model.state_dict()
    optimizer       optimizer.state_dict() (AdamW's moments and step counts), or None
    scheduler       scheduler.state_dict() (its step t), or None
    rng             minigrad's generator state and NumPy's legacy global state
    step            optimizer steps taken
    data            where the data stream stands (see ``train.fit``)
    tokenizer       the tokenizer as its own JSON file's text (``tokenizer_to_json``)
    run_config      the command's settings (steps, lr, ...), to check a resume against
    extra           anything else the command keeps (label names, ...)

``load_checkpoint`` checks the format and, given the model config a caller is about to build,
that it is the one the file was written with; a mismatch names the differing fields.

>>> import os, tempfile
>>> from transformer.tokenizers import CharTokenizer
>>> tok = CharTokenizer.from_text("abc")
>>> tokenizer_from_json(tokenizer_to_json(tok)).encode("cab")
[3, 1, 2]
"""
import json
import os
import tempfile

import numpy as np

from minigrad import random
from minigrad.errors import CheckpointError
from minigrad.serialization import load, save

from .tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer

__all__ = ["save_checkpoint", "checkpoint_saver", "load_checkpoint", "check_model_config", "restore_rng",
           "restore_training", "tokenizer_to_json", "tokenizer_from_json"]

FORMAT, VERSION = "minigrad-transformer-checkpoint", 1


# ---- tokenizers as text -----------------------------------------------------------------------
def tokenizer_to_json(tokenizer):
    """The tokenizer as one JSON string: char and BPE write their own file format; WordPiece
    keeps its vocabulary and casing options."""
    if isinstance(tokenizer, WordPieceTokenizer):
        vocab = [tokenizer.ids_to_tokens[i] for i in range(tokenizer.vocab_size)]
        return json.dumps({"type": "wordpiece", "vocab": vocab,
                           "do_lower_case": tokenizer.do_lower_case,
                           "strip_accents": tokenizer.strip_accents}, ensure_ascii=False)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tokenizer.json")
        tokenizer.save(path)
        with open(path, encoding="utf-8") as f:
            return f.read()


def tokenizer_from_json(text):
    """The tokenizer ``tokenizer_to_json`` wrote."""
    try:
        kind = json.loads(text)["type"]
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint: the tokenizer entry is not a tokenizer "
                              f"({err})") from err
    if kind == "wordpiece":
        data = json.loads(text)
        return WordPieceTokenizer(data["vocab"], do_lower_case=data["do_lower_case"],
                                  strip_accents=data["strip_accents"])
    classes = {"char": CharTokenizer, "bpe": BPETokenizer}
    if kind not in classes:
        raise CheckpointError(f"checkpoint: unknown tokenizer type {kind!r}; expected "
                              "'char', 'bpe' or 'wordpiece'")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return classes[kind].load(path)


# ---- random state -----------------------------------------------------------------------------
def _rng_state():
    """Both generators a run draws from: minigrad's (init, dropout, sampling) and NumPy's."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"minigrad": random.get_rng_state(),
            "numpy": {"name": name, "keys": keys, "pos": int(pos), "has_gauss": int(has_gauss),
                      "cached_gaussian": float(cached)}}


def restore_rng(state):
    """Put back the generator states a checkpoint holds."""
    random.set_rng_state(state["minigrad"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"], n["pos"], n["has_gauss"], n["cached_gaussian"]))


# ---- save and load ----------------------------------------------------------------------------
def save_checkpoint(path, *, kind, model_config, model, tokenizer, step=0, optimizer=None,
                    scheduler=None, data=None, run_config=None, extra=None):
    """Write a checkpoint of the module docstring to ``path`` (atomically)."""
    save({"format": FORMAT, "version": VERSION, "kind": kind,
          "model_config": dict(model_config), "model": dict(model.state_dict()),
          "optimizer": None if optimizer is None else optimizer.state_dict(),
          "scheduler": None if scheduler is None else scheduler.state_dict(),
          "rng": _rng_state(), "step": int(step), "data": data or {},
          "tokenizer": tokenizer_to_json(tokenizer), "run_config": run_config or {},
          "extra": extra or {}}, path)


def checkpoint_saver(path, seed, **fields):
    """``save(state)`` for ``train.fit``: a checkpoint at ``path`` of the training state
    (model, optimizer, scheduler, step, data position) and the fixed ``fields`` (kind,
    model_config, tokenizer, run_config, extra)."""
    def save(state):
        save_checkpoint(path, model=state.model, step=state.step, optimizer=state.optimizer,
                        scheduler=state.scheduler, data={"seed": seed, "batches": state.step},
                        **fields)
    return save


def load_checkpoint(path, kind=None):
    """Read a checkpoint; ``kind`` (one string or a tuple) is what the caller can use.

    Raises ``CheckpointError`` naming the file for a missing, truncated or foreign file and for
    a checkpoint of another kind of model.
    """
    path = os.fspath(path)
    state = load(path)                             # CheckpointError: missing, truncated, foreign
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: a minigrad file, but not a training checkpoint "
                              f"(no {FORMAT!r} header)")
    if state.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint version {state.get('version')!r}; this code "
                              f"reads version {VERSION}")
    kinds = (kind,) if isinstance(kind, str) else kind
    if kinds is not None and state["kind"] not in kinds:
        raise CheckpointError(f"{path}: holds a {state['kind']!r} model, expected "
                              f"{' or '.join(repr(k) for k in kinds)}")
    return state


def restore_training(train_state, state):
    """Put a checkpoint's model, optimizer, scheduler, random states and step into
    ``train_state`` (a ``train.TrainState`` built like the one that was saved)."""
    try:
        train_state.model.load_state_dict(state["model"])
        train_state.optimizer.load_state_dict(state["optimizer"])
        train_state.scheduler.load_state_dict(state["scheduler"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"checkpoint: cannot restore the training state ({err})") from err
    restore_rng(state["rng"])
    train_state.step = state["step"]


def check_model_config(state, model_config, path):
    """CheckpointError naming each field where ``model_config`` differs from the checkpoint's."""
    saved = state["model_config"]
    wanted = dict(model_config)
    diffs = [f"{key}: checkpoint {saved.get(key)!r}, requested {wanted.get(key)!r}"
             for key in sorted(set(saved) | set(wanted)) if saved.get(key) != wanted.get(key)]
    if diffs:
        raise CheckpointError(f"{path}: written by another model configuration; "
                              + "; ".join(diffs))
