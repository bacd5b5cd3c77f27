"""The original encoder-decoder Transformer (Vaswani et al., 2017) (FORMULAS B1, B2, B3).

    src (B, Ts)    ─ embed·√C + PE ─ dropout ─ N × EncoderLayer ─ [norm] ─► memory (B, Ts, C)
    tgt_in (B, Tt) ─ embed·√C + PE ─ dropout ─ N × DecoderLayer(memory) ─ [norm] ─ lm_head
                                                                        ─► logits (B, Tt, V)

B1: the encoder maps the input sequence to vectors, the decoder produces the output sequence
from them. The article calls the encoder's result a "fixed-length vector": that is the RNN
seq2seq of 2014, which squeezed a whole sentence into its last hidden state. A Transformer
encoder passes ONE VECTOR PER INPUT POSITION: ``memory`` is (B, Ts, C) and grows with the
source, and every decoder layer's cross-attention chooses, for each output position, which
input positions to read.

B2: encoder layer = self-attention over the whole source (padding keys masked) + feed-forward.
B3: decoder layer = causal self-attention (position t sees target positions ≤ t only, so all
positions train at once without seeing the tokens they predict) + cross-attention (queries
from the decoder, keys and values from ``memory``) + feed-forward. The article leaves out both
the causal mask and the cross-attention.

Training uses teacher forcing: a target y_1..y_n becomes the decoder input
``tgt_in = [bos, y_1, ..., y_n]`` and the labels ``targets = [y_1, ..., y_n, eos]``
(``make_batch`` builds both), and the loss is the mean cross-entropy over non-padding labels.
Inference produces one token at a time (``greedy_decode``, ``beam_search``), with a KV cache
per decoder layer so each step computes only the new position.
"""
from dataclasses import dataclass

import numpy as np

from minigrad.autograd import no_grad
from minigrad.creation import tensor
from minigrad.errors import DTypeError, ShapeError
from minigrad.nn import Dropout, LayerNorm, Linear, Module, ModuleList, init
from minigrad.nn import functional as F
from minigrad.tensor import Tensor

from .attention import KVCache
from .blocks import DecoderLayer, EncoderLayer
from .embedding import SinusoidalPositionalEncoding, TokenEmbedding

__all__ = ["Seq2SeqConfig", "Seq2SeqTransformer", "make_batch", "greedy_step"]


@dataclass
class Seq2SeqConfig:
    """The shape of an encoder-decoder Transformer; the defaults are the paper's base model."""
    src_vocab_size: int = 37000     # the paper's shared English-German BPE vocabulary
    tgt_vocab_size: int = 37000
    d_model: int = 512              # C
    n_head: int = 8                 # H; the head width is D = d_model / n_head
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    d_ff: int = 2048                # the feed-forward's hidden width
    dropout: float = 0.1            # on embeddings + PE, attention weights, FFN hidden, residuals
    max_len: int = 512              # the most positions of a source or of a decoder input
    share_embeddings: bool = True   # one (V, C) table for source, target and lm_head (tied);
                                    # needs one vocabulary: src_vocab_size == tgt_vocab_size
    norm_first: bool = False        # False: post-LN as the paper; True: pre-LN + final LayerNorms
    activation: str = "relu"        # "relu" (the paper) or "gelu"
    pad_id: int = 0                 # padding in src and targets: masked keys, ignored in the loss
    bos_id: int = 1                 # the first token of every decoder input
    eos_id: int = 2                 # the last label of every target; decoding stops there

    def __post_init__(self):
        for name in ("src_vocab_size", "tgt_vocab_size", "d_model", "n_head",
                     "num_encoder_layers", "num_decoder_layers", "d_ff", "max_len"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Seq2SeqConfig: {name} must be a positive int, got {value!r}")
        if self.d_model % self.n_head:
            raise ValueError(f"Seq2SeqConfig: d_model={self.d_model} is not divisible by "
                             f"n_head={self.n_head}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"Seq2SeqConfig: dropout must be in [0, 1), got {self.dropout}")
        if self.activation not in ("relu", "gelu"):
            raise ValueError(f"Seq2SeqConfig: activation must be 'relu' or 'gelu', got "
                             f"{self.activation!r}")
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError(f"Seq2SeqConfig: share_embeddings=True needs one vocabulary, but "
                             f"src_vocab_size={self.src_vocab_size} != "
                             f"tgt_vocab_size={self.tgt_vocab_size}")
        smallest = min(self.src_vocab_size, self.tgt_vocab_size)
        for name in ("pad_id", "bos_id", "eos_id"):
            value = getattr(self, name)
            vocab = smallest if name == "pad_id" else self.tgt_vocab_size   # pad is in both
            if not isinstance(value, (int, np.integer)) or not 0 <= value < vocab:
                raise ValueError(f"Seq2SeqConfig: {name}={value!r} is not a token id of the "
                                 f"vocabulary (0 .. {vocab - 1})")
        if len({self.pad_id, self.bos_id, self.eos_id}) < 3:
            raise ValueError(f"Seq2SeqConfig: pad_id, bos_id and eos_id must differ, got "
                             f"{self.pad_id}, {self.bos_id}, {self.eos_id}")


class Seq2SeqTransformer(Module):
    """The model of the module docstring, in the paper's layout.

    ``forward(src, tgt_in, targets=None) -> (logits (B, Tt, V), loss)``; ``encode``/``decode``
    are its two halves. Parameters: ``src_embed``, ``tgt_embed`` (TokenEmbedding ×√C),
    ``encoder_layers``, ``decoder_layers``, ``encoder_norm``/``decoder_norm`` (pre-LN only,
    else None), ``lm_head`` (C -> V, no bias). With ``share_embeddings`` the three share one
    (V, C) matrix, as the paper does with its shared BPE vocabulary.

    Initialisation: Linear weights Xavier-uniform (as ``torch.nn.Transformer``), biases zero,
    embeddings N(0, 1/C) (as fairseq): ×√C then gives entries of variance 1, the size of the
    sinusoidal encoding's, so neither drowns the other.
    """

    def __init__(self, config):
        super().__init__()
        self.config = config
        C = config.d_model
        self.src_embed = TokenEmbedding(config.src_vocab_size, C, scale=True)       # (V_src, C)
        self.tgt_embed = TokenEmbedding(config.tgt_vocab_size, C, scale=True)       # (V_tgt, C)
        self.pos_encoding = SinusoidalPositionalEncoding(C, config.max_len)
        self.dropout = Dropout(config.dropout)
        layer_args = (C, config.n_head, config.d_ff, config.dropout, config.activation,
                      config.norm_first)
        self.encoder_layers = ModuleList([EncoderLayer(*layer_args)
                                          for _ in range(config.num_encoder_layers)])
        self.decoder_layers = ModuleList([DecoderLayer(*layer_args)
                                          for _ in range(config.num_decoder_layers)])
        # pre-LN leaves the residual stream un-normalised: each stack ends with a LayerNorm
        self.encoder_norm = LayerNorm(C) if config.norm_first else None
        self.decoder_norm = LayerNorm(C) if config.norm_first else None
        self.lm_head = Linear(C, config.tgt_vocab_size, bias=False)
        self._init_weights()
        if config.share_embeddings:                     # tied: the same Parameter object
            self.tgt_embed.weight = self.src_embed.weight
            self.lm_head.weight = self.src_embed.weight

    def _init_weights(self):
        for name, p in self.named_parameters():
            if name.endswith("embed.weight"):
                init.normal_(p, 0.0, self.config.d_model ** -0.5)
            elif name.endswith("bias"):                 # Linear and LayerNorm biases
                init.zeros_(p)
            elif p.ndim == 2:                           # Linear weights (lm_head included)
                init.xavier_uniform_(p)
            # LayerNorm weights stay 1

    # ---- the two halves ----------------------------------------------------------------------
    def encode(self, src, src_key_padding_mask=None):
        """memory (B, Ts, C): one vector per source position, padding included (FORMULAS B1, B2).

        src (B, Ts) token ids, Ts ≤ max_len. ``src_key_padding_mask`` bool (B, Ts), True = pad;
        None derives it from ``pad_id``. No position attends a padded one, so a source's
        real positions get the same vectors however much padding follows them.
        """
        src = self._ids("src", src, self.config.src_vocab_size)
        if src_key_padding_mask is None:
            src_key_padding_mask = self.padding_mask(src)
        x = self.dropout(self.pos_encoding(self.src_embed(src)))                # (B, Ts, C)
        for layer in self.encoder_layers:
            x = layer(x, key_padding_mask=src_key_padding_mask)
        return x if self.encoder_norm is None else self.encoder_norm(x)         # (B, Ts, C)

    def decode(self, tgt_in, memory, memory_key_padding_mask=None, kv_caches=None):
        """Logits (B, Tt, V) of the next target token at every decoder position (FORMULAS B3).

        tgt_in (B, Tt) token ids starting with bos; memory (B, Ts, C) from ``encode``;
        memory_key_padding_mask bool (B, Ts), True = a padded source position (no decoder
        position reads it). ``kv_caches``: ``new_kv_caches()`` for incremental decoding;
        tgt_in then holds only the new tokens, placed after the cached positions.

        Targets are padded on the right, so the causal mask alone keeps every real position
        from seeing the pads after it: no target padding mask is needed.
        """
        tgt_in = self._ids("tgt_in", tgt_in, self.config.tgt_vocab_size)
        if kv_caches is not None and len(kv_caches) != len(self.decoder_layers):
            raise ValueError(f"Seq2SeqTransformer.decode: expected {len(self.decoder_layers)} "
                             f"(self, cross) cache pairs, one per layer, got {len(kv_caches)}")
        past = len(kv_caches[0][0]) if kv_caches else 0
        if past + tgt_in.shape[1] > self.config.max_len:
            raise ShapeError(f"Seq2SeqTransformer.decode: {past} cached + {tgt_in.shape[1]} new "
                             f"target positions exceed max_len={self.config.max_len}")
        x = self.dropout(self.pos_encoding(self.tgt_embed(tgt_in), offset=past))  # (B, Tt, C)
        for i, layer in enumerate(self.decoder_layers):
            self_cache, cross_cache = kv_caches[i] if kv_caches is not None else (None, None)
            x = layer(x, memory, memory_key_padding_mask=memory_key_padding_mask,
                      self_cache=self_cache, cross_cache=cross_cache)
        if self.decoder_norm is not None:
            x = self.decoder_norm(x)
        return self.lm_head(x)                                                  # (B, Tt, V)

    def forward(self, src, tgt_in, targets=None):
        """Logits (B, Tt, V) and, given ``targets`` (B, Tt), the mean cross-entropy over the
        labels that are not ``pad_id``. Padding masks come from ``pad_id``."""
        src = self._ids("src", src, self.config.src_vocab_size)
        pad = self.padding_mask(src)                                            # (B, Ts)
        logits = self.decode(tgt_in, self.encode(src, pad), pad)                # (B, Tt, V)
        if targets is None:
            return logits, None
        B, T, V = logits.shape
        targets = targets if isinstance(targets, Tensor) else tensor(targets, device=src.device)
        if targets.shape != (B, T):
            raise ShapeError(f"Seq2SeqTransformer: targets must be (B, Tt) = ({B}, {T}) like "
                             f"tgt_in, got {targets.shape}")
        loss = F.cross_entropy(logits.reshape(B * T, V), targets.reshape(B * T),  # (B*Tt, V)
                               ignore_index=self.config.pad_id)
        return logits, loss

    def padding_mask(self, ids):
        """Bool (B, T), True where ids (B, T) is ``pad_id``; raises if a row is all padding (no
        position would be left to attend)."""
        pad = ids.data == self.config.pad_id
        empty_rows = np.flatnonzero(np.asarray(pad.all(axis=1).tolist()))
        if empty_rows.size:
            raise ValueError(f"Seq2SeqTransformer: row {int(empty_rows[0])} of src holds only "
                             f"padding (pad_id={self.config.pad_id}); every source needs a token")
        return pad

    def new_kv_caches(self):
        """Empty (self-attention, cross-attention) cache pairs, one per decoder layer."""
        return [(KVCache(), KVCache()) for _ in self.decoder_layers]

    def _ids(self, name, ids, vocab_size):
        """ids as an int Tensor (B, T), B ≥ 1, 1 ≤ T ≤ max_len, every id in [0, vocab_size)."""
        ids = ids if isinstance(ids, Tensor) else tensor(ids)
        if ids.ndim != 2 or 0 in ids.shape:
            raise ShapeError(f"Seq2SeqTransformer: {name} must be (B, T) token ids with B, T ≥ 1, "
                             f"got shape {ids.shape}")
        if not np.issubdtype(ids.dtype, np.integer):
            raise DTypeError(f"Seq2SeqTransformer: {name} must hold integer token ids, got "
                             f"{ids.dtype}")
        if ids.shape[1] > self.config.max_len:
            raise ShapeError(f"Seq2SeqTransformer: {name} has {ids.shape[1]} positions, more "
                             f"than max_len={self.config.max_len}")
        low, high = int(ids.data.min()), int(ids.data.max())
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise IndexError(f"Seq2SeqTransformer: {name} holds token id {bad}, out of range "
                             f"for a vocabulary of {vocab_size} (0 .. {vocab_size - 1})")
        return ids

    def _max_new_tokens(self, max_len):
        max_len = self.config.max_len if max_len is None else max_len
        if not 1 <= max_len <= self.config.max_len:
            raise ValueError(f"Seq2SeqTransformer: max_len (tokens to generate, eos included) "
                             f"must be in [1, {self.config.max_len}], got {max_len}")
        return max_len

    # ---- inference ------------------------------------------------------------------------------
    @no_grad()
    def greedy_decode(self, src, max_len=None):
        """The argmax token at every step, for each source row: a list of B token lists.

        Generates at most ``max_len`` tokens (eos included; default: config.max_len); a row
        stops at its first eos. The lists hold neither bos nor eos. Call ``model.eval()``
        first if the model has dropout.
        """
        src = self._ids("src", src, self.config.src_vocab_size)
        max_len = self._max_new_tokens(max_len)
        pad = self.padding_mask(src)
        memory = self.encode(src, pad)                                          # (B, Ts, C)
        B = src.shape[0]
        caches = self.new_kv_caches()
        token = np.full((B, 1), self.config.bos_id, dtype=np.int64)             # (B, 1)
        outputs, done = [[] for _ in range(B)], np.zeros(B, dtype=bool)
        for _ in range(max_len):
            logits = self.decode(tensor(token, device=src.device), memory, pad, caches)
            token = greedy_step(logits, outputs, done, self.config.eos_id)      # (B, 1)
            if done.all():
                break
        return outputs

    @no_grad()
    def beam_search(self, src, beam_size=4, max_len=None, length_penalty=1.0,
                    return_scores=False):
        """The best hypothesis of a beam search for each source row: a list of B token lists.

        Each step extends every live hypothesis by every token and keeps the ``beam_size`` best
        by log P(y_1..y_t | x) (the sum of the tokens' log-probabilities). A candidate ending in
        eos that ranks among the ``beam_size`` best is finished. The answer is the finished
        hypothesis with the best length-normalised score

            score(y) = log P(y | x) / |y| ** length_penalty,   |y| = tokens generated, eos included

        (Hugging Face's and fairseq's ``length_penalty``, α ≥ 0; GNMT's ((5 + |y|) / 6) ** α is
        another common divisor). length_penalty=0 ranks by log P alone, which favours short
        outputs, since every token adds a negative log-probability.

        A row stops when no live hypothesis can beat its best finished one any more: a live
        log P of s ≤ 0 can only fall, so its final score is at most s / max_len ** α. It also
        stops after ``max_len`` tokens (eos included; default config.max_len), when its best
        live hypotheses are finished as they are. (Stopping at ``beam_size`` finished ones, as
        fairseq does, can end a row before the most probable hypothesis has finished: a
        confident model's unlikely alternatives reach eos early.) With beam_size=1 and
        length_penalty=0 this is greedy decoding. Beam search is not exhaustive: a larger beam
        usually finds a more probable output, but is not guaranteed to.

        Returns the token lists (no bos, no eos), and their scores as well when
        ``return_scores``. The B × beam_size hypotheses run as one batch of the decoder; the
        self-attention caches follow each hypothesis to its parent.
        """
        src = self._ids("src", src, self.config.src_vocab_size)
        max_len = self._max_new_tokens(max_len)
        if beam_size < 1:
            raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}")
        if length_penalty < 0:
            raise ValueError(f"beam_search: length_penalty must be >= 0, got {length_penalty}")
        K, V, eos = beam_size, self.config.tgt_vocab_size, self.config.eos_id
        B = src.shape[0]
        pad = self.padding_mask(src)
        rows = tensor(np.repeat(np.arange(B), K), device=src.device)   # b*K + k reads source b
        memory = self.encode(src, pad)[rows]                                    # (B*K, Ts, C)
        pad = pad[rows.data]                                                    # (B*K, Ts)
        caches = self.new_kv_caches()

        hyps = [[[] for _ in range(K)] for _ in range(B)]         # tokens of each live hypothesis
        scores = np.full((B, K), -np.inf)                         # log P of each, -inf = empty
        scores[:, 0] = 0.0                # all K start as [bos]: expand only one of them at first
        finished = [[] for _ in range(B)]                         # (score, tokens) per row
        done = np.zeros(B, dtype=bool)
        last = np.full((B * K, 1), self.config.bos_id, dtype=np.int64)         # (B*K, 1)
        for step in range(max_len):
            logits = self.decode(tensor(last, device=src.device), memory, pad, caches)
            logp = _log_softmax(logits[:, -1, :].numpy().astype(np.float64))   # (B*K, V)
            # log P of hypothesis k extended by token v, at k*V + v: (B, K, V) -> (B, K*V)
            candidates = (scores[:, :, None] + logp.reshape(B, K, V)).reshape(B, K * V)
            parent = np.zeros((B, K), dtype=np.int64)
            next_token = np.full((B, K), eos, dtype=np.int64)     # eos: fed to empty slots
            new_hyps = [[[] for _ in range(K)] for _ in range(B)]
            new_scores = np.full((B, K), -np.inf)
            for b in np.flatnonzero(~done):
                live, ended = _beam_step(candidates[b], hyps[b], eos, step == max_len - 1,
                                         length_penalty)
                finished[b] += ended
                for slot, (k, token, tokens, score) in enumerate(live):
                    parent[b, slot], next_token[b, slot] = k, token
                    new_hyps[b][slot], new_scores[b, slot] = tokens, score
                best_finished = max((f[0] for f in finished[b]), default=-np.inf)
                bound = new_scores[b, 0] / max_len ** length_penalty   # the best a live one can get
                done[b] = not live or bound <= best_finished
            if done.all():
                break
            hyps, scores, last = new_hyps, new_scores, next_token.reshape(B * K, 1)
            # each hypothesis continues from its parent's keys and values; the cross-attention
            # caches stay: the K hypotheses of one row read the same memory
            index = tensor((np.arange(B)[:, None] * K + parent).reshape(B * K),   # (B*K,)
                           device=src.device)
            for self_cache, _ in caches:
                self_cache.k, self_cache.v = self_cache.k[index], self_cache.v[index]
        best_of = [max(f, key=lambda item: item[0]) for f in finished]
        tokens = [list(map(int, item[1])) for item in best_of]
        return (tokens, [float(item[0]) for item in best_of]) if return_scores else tokens


def greedy_step(logits, outputs, done, eos_id):
    """One step of greedy decoding: each row's argmax token at its last position, (B, 1).
    A row not ``done`` appends it to its list in ``outputs``, or is done if it is eos."""
    token = logits[:, -1, :].numpy().argmax(axis=1)[:, None]                   # (B, 1)
    for b in np.flatnonzero(~done):
        if token[b, 0] == eos_id:
            done[b] = True
        else:
            outputs[b].append(int(token[b, 0]))
    return token


def _beam_step(candidates, hyps, eos, last_step, length_penalty):
    """One step of beam search for one source row.

    candidates (K·V,): log P of live hypothesis k extended by token v, at index k·V + v
    (-inf for an empty slot); hyps: the K hypotheses' token lists. The candidates are read best
    first, at most 2K of them: an eos among the K best finishes its hypothesis (on the last
    step every one of the K best finishes, truncated), and the best K that do not end become
    the live ones. Returns (live, finished): live a list of (parent k, token, tokens, log P),
    best first, at most K; finished a list of (log P / |y| ** length_penalty, tokens without
    eos).
    """
    K = len(hyps)
    V = len(candidates) // K
    live, finished = [], []
    for rank, c in enumerate(np.argsort(-candidates, kind="stable")[:2 * K]):
        score = candidates[c]
        if score == -np.inf or (len(live) == K and rank >= K):
            break
        k, token = divmod(int(c), V)
        tokens = hyps[k] + [token]
        if token == eos or last_step:
            if rank < K:
                finished.append((score / len(tokens) ** length_penalty,
                                 tokens[:-1] if token == eos else tokens))
        elif len(live) < K:
            live.append((k, token, tokens, score))
    return live, finished


def _log_softmax(z):
    """log softmax over the last axis of a NumPy array (float64 bookkeeping of beam search)."""
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def make_batch(sources, targets, pad_id=0, bos_id=1, eos_id=2):
    """Teacher-forcing arrays from token lists: (src, tgt_in, tgt_out), int64, right-padded.

    src (B, Ts) = the sources; tgt_in (B, Tt) = [bos] + target; tgt_out (B, Tt) = target + [eos],
    the label of each decoder position (pad_id where there is none, ignored by the loss).

    >>> src, tgt_in, tgt_out = make_batch([[5, 6, 7], [8]], [[7, 6, 5], [8]])
    >>> src.tolist(), tgt_in.tolist(), tgt_out.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[1, 7, 6, 5], [1, 8, 0, 0]], [[7, 6, 5, 2], [8, 2, 0, 0]])
    """
    if len(sources) != len(targets) or not sources:
        raise ValueError(f"make_batch: need as many targets as sources (at least one), got "
                         f"{len(sources)} sources and {len(targets)} targets")

    def padded(rows):
        out = np.full((len(rows), max(len(r) for r in rows)), pad_id, dtype=np.int64)
        for i, r in enumerate(rows):
            out[i, :len(r)] = r
        return out

    return (padded([list(s) for s in sources]), padded([[bos_id] + list(t) for t in targets]),
            padded([list(t) + [eos_id] for t in targets]))
