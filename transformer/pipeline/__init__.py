"""The pretrain → fine-tune pipeline as functions (FORMULAS A3); ``cli.py`` is a thin shell.

    pretrain(PretrainConfig)   corpus → tokenizer → GPT causal LM (or BERT masked LM)
                               → runs/<name>/checkpoint.npz                  (pretraining.py)
    finetune(FinetuneConfig)   labeled texts → a GPT (or BERT) sequence classifier, or a
                               tagger for a tagging task, its encoder from a pretrained
                               checkpoint (``init``), all-MiniLM-L6-v2, or random ("scratch");
                               a seq2seq task trains a translator (translate.py) (finetuning.py)
    evaluate(checkpoint, ...)  perplexity of a language model, or accuracy, P/R/F1 and the
                               confusion matrix of a classifier, on held-out data
    generate(checkpoint, ...)  text from a language model                    (evaluation.py)

The article's order, run for real: pretraining needs only raw text (the next character is its
own label); labels enter at fine-tuning (FORMULAS A2, B5).
"""
from ..data_files import DataError
from .common import MODEL_FIELDS, build_tokenizer, check_device, encode, load_model, run_name
from .evaluation import evaluate, generate
from .finetuning import FinetuneConfig, classification_report, encode_examples, finetune, task_split
from .pretraining import PretrainConfig, corpus_split, pretrain

__all__ = ["PretrainConfig", "FinetuneConfig", "pretrain", "finetune", "evaluate", "generate",
           "load_model", "check_device", "build_tokenizer", "encode", "corpus_split", "task_split",
           "encode_examples", "classification_report", "run_name", "MODEL_FIELDS", "DataError"]
