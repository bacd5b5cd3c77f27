"""transformer: the hand-built Transformer family on top of minigrad (tokenizers, attention,
encoder/decoder blocks, GPT, BERT, seq2seq, the pretrain → fine-tune pipeline).

Not built yet: this package is the next layer up (see the project's issues). It imports only
``minigrad``; ``minigrad`` never imports it.
"""
