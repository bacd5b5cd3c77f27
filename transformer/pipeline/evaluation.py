"""``evaluate`` a checkpoint on held-out data, and ``generate`` text from a language model."""
import minigrad as mg
from minigrad.errors import CheckpointError

from ..data_files import DataError, load_corpus, load_task
from ..metrics import perplexity
from ..model_kinds import LM_KINDS, SEQ2SEQ_KINDS, special_ids
from ..train import LMTask, MLMTask
from ..translate import Translator, load_pairs, seq2seq_report
from .common import check_device, encode, load_model, pad_id
from .finetuning import classification_report, encode_examples, task_class, task_split
from .pretraining import corpus_split


def evaluate(checkpoint, *, data=None, device="cpu", echo=print):
    """Metrics of a checkpoint on held-out data: the validation part of its corpus (or the
    text ``data``) for a language model; the test split of its task (or the labeled file
    ``data``) for a classifier; the test split of its task for a tagger (accuracy and macro
    P/R/F1 over labeled tokens: characters, or words for pos) and a seq2seq model (exact match
    and BLEU)."""
    check_device(device)
    model, tokenizer, state = load_model(checkpoint, device)
    model.eval()
    cfg = state["run_config"]
    if state["kind"] in SEQ2SEQ_KINDS:
        if data is not None:
            raise DataError("evaluate --data: a seq2seq model is evaluated on its own task's "
                            "test split (train on another file with --task pairs --data)")
        test = load_pairs(cfg["task"], cfg["limit"], cfg["seed"], cfg.get("data", ""),
                          cfg.get("language", "english"))[2]
        return seq2seq_report(Translator.from_loaded(model, tokenizer, state), test, device)
    if state["kind"] in LM_KINDS:
        if data is None:
            text = corpus_split(cfg["corpus"], cfg["valid_fraction"], cfg["seed"], echo)[1]
        else:
            text = "\n".join(load_corpus(data, warn=echo))
        ids = encode(tokenizer, text)
        T = cfg["block_size"]
        if len(ids) < T + 1:
            raise DataError(f"{data or cfg['corpus']}: {len(ids)} tokens, fewer than the "
                            f"context + 1 = {T + 1}")
        task = LMTask(ids, ids, T, 8, device=device, eval_batches=16) if state["kind"] == "gpt" \
            else MLMTask(ids, ids, T, 8, special_ids(tokenizer), tokenizer.vocab_size,
                         device=device, eval_batches=16)
        with mg.no_grad():
            loss = task.valid_loss(model, task.valid_ids)
        return {"loss": loss, "perplexity": perplexity(loss)}
    label_names = state["extra"]["label_names"]
    if data is not None and state["kind"].endswith("tagger"):
        raise DataError("evaluate --data: a tagger is evaluated on its own task's test split")
    if data is None:
        examples = task_split(cfg["task"], cfg["limit"], cfg["seed"], label_names, echo)[0][2]
    else:
        examples, _ = load_task(data, label_names=label_names, warn=echo)
    encoded = encode_examples(tokenizer, examples, state["extra"]["max_len"], state["kind"])
    task = task_class(state["kind"])(encoded, encoded, 64, pad_id(tokenizer), device=device)
    report = classification_report(model, task, encoded, label_names)
    report["labels"] = list(label_names)
    return report


def generate(checkpoint, prompt, *, max_new_tokens=100, temperature=0.8, top_k=20, seed=0,
             device="cpu"):
    """Continue ``prompt`` with a pretrained GPT, or translate it with a seq2seq model
    (greedy: ``source → output``); returns the whole text."""
    check_device(device)
    model, tokenizer, state = load_model(checkpoint, device)
    if state["kind"] in SEQ2SEQ_KINDS:
        translator = Translator.from_loaded(model, tokenizer, state)
        model.eval()
        with mg.no_grad():
            ids = translator.translate([translator.encode_source(prompt)], device)[0]
        return f"{prompt} → {translator.decode(ids)}"
    if state["kind"] != "gpt":
        raise CheckpointError(f"{checkpoint}: a {state['kind']} model; generate needs a GPT "
                              "(a BERT fills in masked tokens, it does not write left to right)")
    ids = encode(tokenizer, prompt)
    if not ids:
        raise DataError("--prompt: empty; give at least one character to continue")
    mg.manual_seed(seed)
    model.eval()
    out = model.generate(mg.tensor([ids], device=device), max_new_tokens,
                         temperature=temperature, top_k=top_k)
    return tokenizer.decode(out.numpy()[0].tolist())
