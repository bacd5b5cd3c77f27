"""Checkpoint helpers: tokenizers as JSON, random states, configuration checks."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import CheckpointError
from transformer.checkpoint import (check_model_config, load_checkpoint, restore_rng,
                                    save_checkpoint, tokenizer_from_json, tokenizer_to_json)
from transformer.gpt import GPT, GPTConfig
from transformer.tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer

TEXT = "我们学习语言模型。the cat sat on the mat"


def test_tokenizers_round_trip():
    bpe = BPETokenizer()
    bpe.train(TEXT * 3, 270)
    wordpiece = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "##s"])
    for tokenizer in [CharTokenizer.from_text(TEXT), bpe, wordpiece]:
        copy = tokenizer_from_json(tokenizer_to_json(tokenizer))
        assert type(copy) is type(tokenizer)
        assert copy.encode("the cats") == tokenizer.encode("the cats")


def test_save_load_restores_model_and_random_states(tmp_path):
    mg.manual_seed(3)
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4))
    np.random.seed(5)
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, kind="gpt", model_config={"n_embd": 4}, model=model,
                    tokenizer=CharTokenizer.from_text("abc"), step=9, data={"batches": 9})
    expected = (mg.randn(3).numpy(), np.random.rand(2))
    mg.manual_seed(0)
    np.random.seed(0)
    state = load_checkpoint(path, kind="gpt")
    restore_rng(state["rng"])
    np.testing.assert_array_equal(mg.randn(3).numpy(), expected[0])
    np.testing.assert_array_equal(np.random.rand(2), expected[1])
    assert state["step"] == 9 and state["data"] == {"batches": 9}
    assert set(state["model"]) == set(model.state_dict())


def test_wrong_kind_and_config(tmp_path):
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=4))
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, kind="gpt", model_config={"n_embd": 4, "n_layer": 1}, model=model,
                    tokenizer=CharTokenizer.from_text("abc"))
    with pytest.raises(CheckpointError, match="holds a 'gpt' model, expected 'gpt-classifier'"):
        load_checkpoint(path, kind="gpt-classifier")
    with pytest.raises(CheckpointError, match="n_embd: checkpoint 4, requested 8"):
        check_model_config(load_checkpoint(path), {"n_embd": 8, "n_layer": 1}, path)
    mg.save({"step": 1}, tmp_path / "other.npz")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "other.npz")
