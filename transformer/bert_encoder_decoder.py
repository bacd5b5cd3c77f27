"""A pretrained BERT encoder under a fresh Transformer decoder (FORMULAS B1, B2, B3).

    src (B, Ts) ─ BertModel (all-MiniLM-L6-v2, or a BERT pretrained here) ─ [enc_to_dec_proj]
                                                                     ─► memory (B, Ts, C)
    tgt_in (B, Tt) ─ embed·√C + PE ─ N × DecoderLayer(memory) ─ norm ─ lm_head ─► logits (B, Tt, V)

Hugging Face's ``EncoderDecoderModel`` in one of its uses: a pretrained encoder, a decoder that
starts from random weights, trained together on pairs. The encoder brings what pretraining
taught it about the source language (MiniLM: English WordPiece tokens, 6 layers, width 384);
the decoder learns the target language from the pairs alone. When the widths differ, a Linear
``enc_to_dec_proj`` (Hugging Face's name) maps the encoder's vectors to the decoder's width, so
the decoder can stay as small as one trained from scratch.

The decoder is ``Seq2SeqTransformer``'s: this class is a ``Seq2SeqTransformer`` whose ``encode``
runs the BERT, so ``decode``, ``forward`` (teacher forcing, loss over non-padding labels),
``greedy_decode`` and ``beam_search`` are inherited as they are. It builds only the decoder's
parts (no source embedding, no encoder layers of its own). ``config`` is the decoder's
``Seq2SeqConfig``: src_vocab_size is the BERT's vocabulary, share_embeddings False (two
vocabularies), pad_id the target padding; the source padding is the BERT's pad_token_id.
"""
import numpy as np

from minigrad.creation import tensor
from minigrad.nn import Dropout, LayerNorm, Linear, Module, ModuleList

from .blocks import DecoderLayer
from .embedding import SinusoidalPositionalEncoding, TokenEmbedding
from .seq2seq import Seq2SeqTransformer

__all__ = ["BertEncoderDecoder"]


class BertEncoderDecoder(Seq2SeqTransformer):
    """``BertEncoderDecoder(config, encoder)``: ``encoder`` a ``BertModel`` (its weights are
    kept), ``config`` the decoder's ``Seq2SeqConfig`` (the module docstring). Parameters:
    ``encoder``, ``enc_to_dec_proj`` (None when the widths agree), and ``tgt_embed``,
    ``decoder_layers``, ``decoder_norm``, ``lm_head`` initialised as ``Seq2SeqTransformer``'s."""

    def __init__(self, config, encoder):
        Module.__init__(self)                   # not Seq2SeqTransformer's: no encoder of its own
        if config.share_embeddings:
            raise ValueError("BertEncoderDecoder: the source is the BERT's vocabulary and the "
                             "target another: share_embeddings must be False")
        if config.src_vocab_size != encoder.config.vocab_size:
            raise ValueError(f"BertEncoderDecoder: config.src_vocab_size="
                             f"{config.src_vocab_size} but the encoder's vocabulary has "
                             f"{encoder.config.vocab_size} tokens")
        self.config = config
        C = config.d_model
        self.tgt_embed = TokenEmbedding(config.tgt_vocab_size, C, scale=True)       # (V_tgt, C)
        self.pos_encoding = SinusoidalPositionalEncoding(C, config.max_len)
        self.dropout = Dropout(config.dropout)
        self.decoder_layers = ModuleList([
            DecoderLayer(C, config.n_head, config.d_ff, config.dropout, config.activation,
                         config.norm_first) for _ in range(config.num_decoder_layers)])
        self.decoder_norm = LayerNorm(C) if config.norm_first else None
        self.lm_head = Linear(C, config.tgt_vocab_size, bias=False)
        width = encoder.config.hidden_size
        self.enc_to_dec_proj = Linear(width, C) if width != C else None
        self._init_weights()                    # before the encoder joins: its weights stay
        self.encoder = encoder

    def encode(self, src, src_key_padding_mask=None):
        """memory (B, Ts, C): the BERT's last layer at every source position, projected to the
        decoder's width. src (B, Ts) ids of the BERT's vocabulary ([CLS] … [SEP]);
        ``src_key_padding_mask`` bool (B, Ts), True = pad (None: from the BERT's pad id)."""
        src = self._ids("src", src, self.config.src_vocab_size)
        if src_key_padding_mask is None:
            src_key_padding_mask = self.padding_mask(src)
        attention_mask = tensor((~src_key_padding_mask).astype(np.int64),    # 1 = real token
                                device=src.device)
        memory, _ = self.encoder(src, attention_mask)                          # (B, Ts, C_enc)
        return memory if self.enc_to_dec_proj is None else self.enc_to_dec_proj(memory)

    def padding_mask(self, ids):
        """Bool (B, T), True where the source ids (B, T) are the BERT's pad_token_id; raises
        if a row is all padding."""
        pad = ids.data == self.encoder.config.pad_token_id
        empty_rows = np.flatnonzero(np.asarray(pad.all(axis=1).tolist()))
        if empty_rows.size:
            raise ValueError(f"BertEncoderDecoder: row {int(empty_rows[0])} of src holds only "
                             f"padding (pad_token_id={self.encoder.config.pad_token_id})")
        return pad
