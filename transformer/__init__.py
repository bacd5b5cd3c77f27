"""transformer: the hand-built Transformer family on top of minigrad.

Built so far: ``transformer.tokenizers`` (characters, byte-level BPE, BERT's WordPiece). Coming
(see the project's issues): embeddings and positional encodings, attention and encoder/decoder
blocks, GPT / BERT / seq2seq models, pretrained weights, datasets, the pretrain → fine-tune
pipeline, metrics. This package imports only ``minigrad``; ``minigrad`` never imports it.
"""
