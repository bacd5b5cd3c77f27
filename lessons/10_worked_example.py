# %% [markdown]
# # Lesson 10 — The article's worked example, end to end
#
# **Promise.** You will follow the article's own example (§4.3) — one Chinese sentence through
# tokenization, toy embeddings, a similarity, a position code, a fully connected output — with
# every number recomputed, two arithmetic slips corrected, and then you will train a real (tiny)
# encoder-decoder until it does what the article claims: decode the sentence back. FORMULAS ids:
# **D1–D6**.
#
# ## What the article says (§4.3)
#
# > 假设我们有一个简单的文本序列：“我是一个程序员，喜欢编程和解决问题”。我们将使用Transformer模型对其进行编码和解码。
#
# In English: suppose we have a simple text sequence, "我是一个程序员，喜欢编程和解决问题"
# ("I am a programmer; I like programming and solving problems"). We will encode and decode it
# with a Transformer model.
#
# Each step below quotes the article's sentence for that step, then computes it.

# %%
import os
import time

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from transformer import (MultiHeadAttention, SinusoidalPositionalEncoding, TokenEmbedding,
                         sinusoidal_table)
from transformer.seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch
from transformer.tokenizers import CharTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "10_worked_example")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
mg.set_num_threads(1)       # tiny matrices: one thread is faster than sharing the work
SENTENCE = "我是一个程序员，喜欢编程和解决问题"
print("the sentence:", SENTENCE, "— plots go to", OUT)

# %% [markdown]
# ## D1. Tokenization: characters, then words
#
# > 1. **嵌入层**：将文本序列中的每个单词映射为一个向量。
#
# "Embedding layer: map every word of the text sequence to a vector." Before anything can be
# mapped, the text must be cut into units. Chinese is written without spaces, so "word" needs
# a decision. The simplest unit is the **character**: `CharTokenizer` gives each distinct
# character an id.

# %%
char_tok = CharTokenizer.from_text(SENTENCE, special_tokens=["<pad>", "<bos>", "<eos>"])
chars = [char_tok.id_to_token(i) for i in char_tok.encode(SENTENCE)]
print(f"{len(chars)} characters, {len(set(chars))} distinct:", " ".join(chars))
print("ids:", char_tok.encode(SENTENCE))
assert "".join(chars) == SENTENCE and len(chars) == len(SENTENCE)
assert char_tok.decode(char_tok.encode(SENTENCE)) == SENTENCE
assert len(set(chars)) == len(chars) - 1                          # 程 appears twice

# %% [markdown]
# **Words** need a segmenter. The oldest one is *forward maximum matching*: at each position,
# take the longest dictionary word that starts there (a single character if none does).
# With a small dictionary you get the segmentation below; lesson 04 takes its dictionary from
# the People's Daily and scores the segmenter on held-out lines. Note the choice it hides: is 程序员 one word, or 程序 + 员? snownlp's
# segmenter, trained on the People's Daily, splits it the second way.

# %%
DICTIONARY = {"一个", "程序", "程序员", "喜欢", "编程", "解决", "问题"}


def max_match(text, dictionary, longest=3):
    words, i = [], 0
    while i < len(text):
        n = next(n for n in range(longest, 0, -1) if n == 1 or text[i:i + n] in dictionary)
        words.append(text[i:i + n])
        i += n
    return words


words = max_match(SENTENCE, DICTIONARY)
print(f"{len(words)} words:", " | ".join(words))
assert "".join(words) == SENTENCE
assert "程序员" in words and len(words) < len(chars)

# %% [markdown]
# ## D2. The toy embeddings
#
# > 例如，“我”映射为 $[0.1, 0.2, 0.3]$，“是”映射为 $[0.4, 0.5, 0.6]$，依此类推。
#
# "For example, 我 maps to [0.1, 0.2, 0.3], 是 maps to [0.4, 0.5, 0.6], and so on."
#
# An embedding layer is a table $W \in \mathbb{R}^{V \times d}$ with one row per token; the
# token with id $i$ gets row $i$: $e(x_i) = W[x_i]$, and a sequence of $T$ ids becomes
# $E \in \mathbb{R}^{T \times d}$ (here $d = 3$). We put the article's two rows into a
# `TokenEmbedding` (the other rows stay random: "and so on") and look the first two tokens up.

# %%
ARTICLE_ME, ARTICLE_IS = [0.1, 0.2, 0.3], [0.4, 0.5, 0.6]     # the article's vectors
embedding = TokenEmbedding(char_tok.vocab_size, 3)
me, is_ = char_tok.token_to_id("我"), char_tok.token_to_id("是")
embedding.weight.data[me] = ARTICLE_ME
embedding.weight.data[is_] = ARTICLE_IS
E = embedding(mg.tensor([[me, is_]]))[0]                       # (T, d) = (2, 3)
print("W:", embedding.weight.shape, "->  E for 我是:", E.shape)
print(np.round(E.numpy(), 3))
assert E.shape == (2, 3)
np.testing.assert_allclose(E.numpy(), [ARTICLE_ME, ARTICLE_IS], rtol=1e-6)

# %% [markdown]
# ## D3. The similarity: 0.32, not 0.35
#
# > 例如，对于“我”和“是”，它们的相似度为 $0.1 \times 0.4 + 0.2 \times 0.5 + 0.3 \times 0.6 = 0.35$。
#
# "For example, the similarity of 我 and 是 is 0.1 × 0.4 + 0.2 × 0.5 + 0.3 × 0.6 = 0.35."
#
# The similarity is the dot product $e_我 \cdot e_是 = \sum_{k=1}^{d} e_{我,k}\, e_{是,k}$.
# The three products are 0.04, 0.10 and 0.18, and they add up to **0.32**. The article's 0.35
# is an arithmetic slip; we continue with 0.32.

# %%
ARTICLE_SIMILARITY = 0.35                                     # quoted, to be compared
products = E[0] * E[1]                                        # (d,)
similarity = (E[0] @ E[1]).item()
print("products:", np.round(products.numpy(), 4), " sum:", round(similarity, 4),
      " article:", ARTICLE_SIMILARITY)
assert np.isclose(similarity, products.sum().item())
assert np.isclose(similarity, 0.1 * 0.4 + 0.2 * 0.5 + 0.3 * 0.6)
assert not np.isclose(similarity, ARTICLE_SIMILARITY, atol=1e-3)

# %% [markdown]
# In a Transformer the raw dot product is only the start. Self-attention (lesson 06) compares
# every token with every token, divides by $\sqrt{d}$ and turns each row into weights with a
# softmax: $A = \operatorname{softmax}(E E^\top / \sqrt{d})$, $(T, T)$, here without the learned
# projections $W_Q, W_K$ so that you can see the article's number inside it.

# %%
scores = (E @ E.T) / np.sqrt(3)                               # (T, T)
weights = F.softmax(scores, dim=-1)                           # (T, T), rows sum to 1
print("scores E Eᵀ/√d:\n", np.round(scores.numpy(), 4))
print("attention weights:\n", np.round(weights.numpy(), 4))
assert np.isclose(scores.numpy()[0, 1] * np.sqrt(3), similarity)
np.testing.assert_allclose(weights.numpy().sum(axis=1), 1.0, rtol=1e-6)
attended = F.scaled_dot_product_attention(E[None], E[None], E[None])[0]   # (T, d)
np.testing.assert_allclose(attended.numpy(), (weights @ E).numpy(), rtol=1e-5)

# %% [markdown]
# ## D4. The position code
#
# > 例如，第一个单词的位置编码为 $[0.1, 0.2, 0.3]$。
#
# "For example, the position code of the first word is [0.1, 0.2, 0.3]."
#
# The article gives no formula, and its code for position 1 happens to equal 我's embedding.
# The Transformer's sinusoidal code (lesson 08) gives position 0 the vector
# $(\sin 0, \cos 0, \sin 0) = (0, 1, 0)$ at $d = 3$. Either way the code is **added** to the
# embedding, $x_1 = e(x_1) + p_1$, which needs the same width $d$ for both.

# %%
ARTICLE_POSITION = [0.1, 0.2, 0.3]
x_article = E[0] + mg.tensor(ARTICLE_POSITION)                       # (d,)
pe = SinusoidalPositionalEncoding(3, max_len=len(SENTENCE))
x_sinusoidal = pe(E[None])[0]                                        # (T, d)
print("e(我) + article's p_1:", np.round(x_article.numpy(), 4))
print("sinusoidal p_1 at d=3:", np.round(sinusoidal_table(1, 3)[0], 4),
      "->  e(我) + p_1:", np.round(x_sinusoidal.numpy()[0], 4))
np.testing.assert_allclose(x_article.numpy(), np.add(ARTICLE_ME, ARTICLE_POSITION), rtol=1e-6)
np.testing.assert_allclose(sinusoidal_table(1, 3)[0], [np.sin(0), np.cos(0), np.sin(0)])
np.testing.assert_allclose(x_sinusoidal.numpy()[0], np.add(ARTICLE_ME, [0, 1, 0]), rtol=1e-6)

# %% [markdown]
# ## D5. The fully connected output: 0.55 becomes 0.52
#
# > 例如，对于“我”，其全连接层的输出为 $[0.1 + 0.35 + 0.1] = [0.55]$。
#
# "For example, for 我, the output of the fully connected layer is [0.1 + 0.35 + 0.1] = [0.55]."
#
# Reading the sum: the first embedding component (0.1), the similarity (0.35) and the first
# position component (0.1). With the similarity corrected the same sum is
# 0.1 + 0.32 + 0.1 = **0.52**.
#
# A fully connected layer is not a plain sum: it computes $y = \operatorname{ReLU}(x W + b)$
# with a weight matrix $W \in \mathbb{R}^{C_{in} \times C_{out}}$ and bias
# $b \in \mathbb{R}^{C_{out}}$ (lesson 09's notation) that are
# **learned**. The article's sum is the special case $x = (0.1, 0.32, 0.1)$, $W = (1, 1, 1)^\top$,
# $b = 0$. We build it with `nn.Linear(3, 1)`, then show what a layer with other weights gives.

# %%
ARTICLE_FC = 0.55
x_fc = mg.tensor([[E.numpy()[0, 0], similarity, ARTICLE_POSITION[0]]])   # (1, C_in) = (1, 3)
fc = nn.Linear(3, 1)
fc.weight.data[...] = 1.0                                                 # W = (1, 1, 1)ᵀ
fc.bias.data[...] = 0.0
y = F.relu(fc(x_fc)).item()
article_sum = ARTICLE_ME[0] + ARTICLE_SIMILARITY + ARTICLE_POSITION[0]
print(f"article: 0.1 + 0.35 + 0.1 = {article_sum:.2f} (it writes {ARTICLE_FC});"
      f"  corrected: ReLU(x·W + b) = {y:.2f}")
assert np.isclose(article_sum, ARTICLE_FC)                  # the article's sum, as written
assert np.isclose(y, ARTICLE_ME[0] + similarity + ARTICLE_POSITION[0])
assert np.isclose(y, article_sum - ARTICLE_SIMILARITY + similarity)

mg.manual_seed(0)
learned = nn.Linear(3, 4)                           # a real layer: random weights, 4 outputs
y_learned = F.relu(learned(x_fc))
print("a layer with initial random weights, 4 outputs:", np.round(y_learned.numpy(), 4))
expected = np.maximum(x_fc.numpy() @ learned.weight.numpy().T + learned.bias.numpy(), 0)
np.testing.assert_allclose(y_learned.numpy(), expected, rtol=1e-5)

# %% [markdown]
# ## D6. Decoding: does the decoder give the sentence back?
#
# > 1. **嵌入层**：将输入序列中的每个单词映射为一个向量。
# > 2. **自注意力机制**：计算输入序列中每个单词的相似度，生成权重矩阵。
# > 3. **位置编码**：为序列中的每个位置提供位置信息。
# > 4. **全连接层**：将自注意力机制和位置编码的结果映射为一个固定大小的向量。
# > 5. **激活函数**：通常使用ReLU函数。
# > 6. **输出层**：将全连接层的输出映射为输出序列的每个单词的概率分布。
# >
# > 通过解码过程，我们可以得到输出序列：“我是一个程序员，喜欢编程和解决问题”。
#
# "(1) Embedding layer: map every word of the input sequence to a vector. (2) Self-attention:
# compute the similarity of every word of the input sequence, produce a weight matrix.
# (3) Positional encoding: give every position of the sequence its position information.
# (4) Fully connected layer: map the results of self-attention and positional encoding to a
# vector of fixed size. (5) Activation: usually ReLU. (6) Output layer: map the fully connected
# output to a probability distribution over the words at each position of the output
# sequence. Through the decoding process we obtain the output sequence
# 我是一个程序员，喜欢编程和解决问题."
#
# Three things the article leaves out, which we now build:
#
# - **Order.** The position code must be added *before* self-attention: attention alone does
#   not know order (permute its inputs and its outputs are permuted the same way — checked
#   below).
# - **The decoder's two attentions.** Its self-attention is *causal* (position $t$ sees
#   positions $\le t$), and a *cross-attention* reads the encoder's output — that is the only
#   way the input sentence reaches the decoder (lesson 11).
# - **Generation is a loop.** The decoder starts from a `<bos>` token and, at each step $t$,
#   outputs $P(y_t \mid y_{<t}, \text{input})$, a distribution over the vocabulary $V$; greedy
#   decoding takes its argmax, appends it, and repeats until `<eos>`.
#
# Above all: an **untrained** model outputs noise. A decoder outputs the same sentence only
# after it has been trained to copy.

# %%
mg.manual_seed(0)
mha = MultiHeadAttention(8, 2)
x = mg.randn(1, 5, 8)
order = np.array([3, 0, 4, 1, 2])
out, out_permuted = mha(x).numpy()[0], mha(x[:, order]).numpy()[0]    # (T, C) each
print("attention without positions: permuting the inputs permutes the outputs:",
      np.allclose(out[order], out_permuted, atol=1e-5))
assert np.allclose(out[order], out_permuted, atol=1e-5)

# %% [markdown]
# ### A tiny encoder-decoder
#
# `transformer.seq2seq.Seq2SeqTransformer` is the original Transformer. Encoder: token
# embedding + sinusoidal positions → `EncoderLayer` (self-attention, feed-forward) → the memory
# $M \in \mathbb{R}^{B \times T_s \times C}$, one vector per input character. Decoder:
# embedding + positions of the output so far → `DecoderLayer` (causal self-attention,
# cross-attention to $M$, feed-forward) → a linear output layer → logits $(B, T_t, V)$, whose
# softmax is the article's "probability distribution of each word". Ours is tiny: one layer
# each, $C = 64$, 4 heads.

# %%
config = Seq2SeqConfig(src_vocab_size=char_tok.vocab_size, tgt_vocab_size=char_tok.vocab_size,
                       d_model=64, n_head=4, num_encoder_layers=1, num_decoder_layers=1,
                       d_ff=128, dropout=0.0, max_len=32, norm_first=True, share_embeddings=False,
                       pad_id=char_tok.token_to_id("<pad>"), bos_id=char_tok.token_to_id("<bos>"),
                       eos_id=char_tok.token_to_id("<eos>"))
sentence_ids = char_tok.encode(SENTENCE)


def new_model(seed):
    mg.manual_seed(seed)
    return Seq2SeqTransformer(config)


model = new_model(seed=2)
print(f"Seq2SeqTransformer: {model.num_parameters():,} parameters, "
      f"vocabulary V = {config.tgt_vocab_size}")
before = model.greedy_decode([sentence_ids], max_len=len(sentence_ids) + 1)[0]
print("untrained decoder outputs:", char_tok.decode(before))
assert before != sentence_ids

# %% [markdown]
# ### Train it to copy
#
# If we trained on the one sentence only, the decoder could learn it by heart and ignore the
# encoder (we test that below). So each batch holds the sentence and 31 random shuffles of
# its characters: the only way to get them all right is to read the input through
# cross-attention. Teacher forcing (`make_batch`): the decoder reads `<bos>` + target and must
# predict target + `<eos>`, all positions at once (the causal mask keeps each from seeing its
# answer); the loss is the cross-entropy of every position. Adam, with 20 steps of warm-up and
# a linear decay (lesson 12).

# %%
def copy_batch(rng, size):
    sources = [sentence_ids] + [rng.permutation(sentence_ids).tolist() for _ in range(size - 1)]
    return make_batch(sources, sources, config.pad_id, config.bos_id, config.eos_id)


def train(model, steps, batch_size, seed=0):
    rng = np.random.default_rng(seed)
    optimizer = mg.optim.Adam(model.parameters(), lr=5e-3)
    schedule = mg.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1, (step + 1) / 20) * (1 - step / steps))
    losses = []
    for _ in range(steps):
        src, decoder_in, decoder_out = copy_batch(rng, batch_size)      # (B, T), (B, T+1) × 2
        _, loss = model(src, decoder_in, decoder_out)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    return losses


V = config.tgt_vocab_size
losses = train(model, steps=500, batch_size=32, seed=2)
print(f"copy training: loss {losses[0]:.3f} -> {np.mean(losses[-10:]):.4f} "
      f"(uniform guess: log V = {np.log(V):.3f})")
assert abs(losses[0] - np.log(V)) < 1.0 and np.mean(losses[-10:]) < 0.1

# %% [markdown]
# ### Decode the sentence, and one the model has never seen

# %%
decoded = model.greedy_decode([sentence_ids], max_len=len(sentence_ids) + 1)[0]
print("input :", SENTENCE)
print("output:", char_tok.decode(decoded))
assert decoded == sentence_ids

unseen = np.random.default_rng(123).permutation(sentence_ids).tolist()
copied = model.greedy_decode([unseen], max_len=len(unseen) + 1)[0]
print("unseen input :", char_tok.decode(unseen))
print("copied output:", char_tok.decode(copied))
assert copied == unseen

# %% [markdown]
# The decoder now really outputs 我是一个程序员，喜欢编程和解决问题 — and copies a shuffle it
# never trained on, so it reads its input. Compare a model trained on the sentence alone: it
# also "reproduces" the sentence, but gives the same sentence back whatever you feed it. It
# memorised; it did not encode and decode.

# %%
parrot = new_model(seed=1)
optimizer = mg.optim.Adam(parrot.parameters(), lr=5e-3)
src, decoder_in, decoder_out = copy_batch(np.random.default_rng(0), 1)    # the sentence alone
for _ in range(40):
    _, loss = parrot(src, decoder_in, decoder_out)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
parrot_same = parrot.greedy_decode([sentence_ids], max_len=len(sentence_ids) + 1)[0]
parrot_other = parrot.greedy_decode([unseen], max_len=len(unseen) + 1)[0]
print("trained on the sentence alone; given the shuffle it outputs:", char_tok.decode(parrot_other))
assert parrot_same == sentence_ids and parrot_other == sentence_ids

# %% [markdown]
# ### The distribution at each step
#
# Greedy decoding ran one step at a time. Because the decoder's self-attention is causal, one
# teacher-forced pass over `<bos>` + the output gives every step's distribution
# $P(y_t \mid y_{<t}, \text{input})$ at once — the same numbers, which we check: the argmax
# of each row is the token greedy decoding chose.

# %%
with mg.no_grad():
    logits, _ = model([sentence_ids], [[config.bos_id] + decoded])        # (1, T+1, V)
step_probs = F.softmax(logits[0], dim=-1).numpy()                          # (T+1, V)
chosen = decoded + [config.eos_id]
print("step probabilities:", step_probs.shape, "(steps, V)")
print(f"lowest top probability over the steps: {step_probs.max(axis=1).min():.3f}")
assert step_probs.shape == (len(sentence_ids) + 1, V)
assert step_probs.argmax(axis=1).tolist() == chosen
np.testing.assert_allclose(step_probs.sum(axis=1), 1.0, rtol=1e-5)
assert (step_probs.max(axis=1) > 0.5).all()

# %% [markdown]
# ### See it: the distribution at each decoding step
#
# Row $t$ is $P(y_t \mid y_{<t}, \text{input})$ over the whole vocabulary (columns). The
# trained decoder puts almost all its mass on one token per step; the colours are on a log
# scale, so you also see where the rest goes. 程 appears twice in the sentence, so its column
# is lit at two steps.

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.colors import LogNorm

cjk_fonts = [f.name for f in font_manager.fontManager.ttflist
             if any(key in f.name for key in ("CJK", "Hei", "Song", "WenQuanYi", "Ming"))]
if cjk_fonts:                       # label with characters when a Chinese font exists
    plt.rcParams["font.family"] = cjk_fonts[0]
    label = char_tok.id_to_token
else:                               # otherwise with ids (print the id -> character table)
    label = str
    print("no CJK font found: columns are ids;",
          " ".join(f"{i}={char_tok.id_to_token(i)}" for i in range(V)))

fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1, 2]})
left.plot(losses)
left.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="training to copy")
image = right.imshow(step_probs, cmap="viridis", aspect="auto", norm=LogNorm(vmin=1e-5, vmax=1))
right.set_xticks(range(V), [label(i) for i in range(V)])
right.set_yticks(range(len(chosen)), [f"{t}: {label(i)}" for t, i in enumerate(chosen)])
right.set(xlabel="vocabulary token", ylabel="decoding step: chosen token",
          title="P(y_t | y_<t, input) at each greedy step")
fig.colorbar(image, ax=right)
fig.tight_layout()
fig.savefig(os.path.join(OUT, "decoding_steps.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "decoding_steps.png"))

# %% [markdown]
# ## Where the article goes wrong, in one list
#
# - **D3**: 0.1 × 0.4 + 0.2 × 0.5 + 0.3 × 0.6 is 0.32, not 0.35.
# - **D5**: the fully connected output then is 0.1 + 0.32 + 0.1 = 0.52, not 0.55; and a real
#   layer multiplies by learned weights ($y = \operatorname{ReLU}(xW + b)$), it does not just
#   add three numbers.
# - **D6**: the decoder's steps are out of order (positions enter before attention), its
#   causal mask and cross-attention are missing, and "we obtain the same sentence" is true only
#   after training — and means something only if the model also copies inputs it has not seen.
#
# ## Try it
#
# 1. Train for 150 steps instead of 500: which characters come out wrong first? Try other
#    seeds in `new_model(seed=...)`: how many steps does each need before it copies unseen input?
# 2. Build the model with `norm_first=False` (the paper's post-LN): does it still learn to copy
#    in 500 steps?
# 3. Feed the trained copier a sentence with a character outside its vocabulary (it becomes
#    `<unk>`): what does it output?
# 4. Exercise: the sinusoidal code that replaces the article's [0.1, 0.2, 0.3] —
#    `python -m lessons check ex05`.
#
# ## What's next
#
# Lesson 11 opens the encoder-decoder: what the encoder really hands to the decoder, why the
# decoder's self-attention must be causal, and where the cross-attention looks.
#
# Next: [Lesson 11 — Encoder and decoder: what passes between them](11_encoder_decoder.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
