# %% [markdown]
# # Lesson 15 — Applications: the right kind of Transformer for each task
#
# **Promise.** After this lesson you can say which of the three Transformer shapes a task
# needs — a decoder alone, an encoder and a decoder, or an encoder alone — and why; you will
# have trained (or, for QA, loaded) a small model of the right kind for each of the article's
# applications (text generation, machine translation, question answering, text
# classification, and part-of-speech tagging), scored each on examples it never saw, and shown
# by computation why BERT cannot "generate summaries" left to right. FORMULAS id: **B6**.
#
# ## What the article says (§3.4, §6)
#
# > LLM在NLP领域有广泛的应用，包括但不限于以下方面：
# >
# > - **文本生成**：如文章写作、对话系统、故事创作等。
# > - **机器翻译**：如中英文翻译、多语言翻译等。
# > - **问答系统**：如智能客服、在线教育等。
# > - **文本分类**：如情感分析、新闻分类等。
#
# In English (§3.4): LLMs are widely used in NLP, including but not limited to text generation
# (writing articles, dialogue systems, stories), machine translation (Chinese–English,
# multilingual), question answering (customer service bots, online education) and text
# classification (sentiment analysis, news categories).
#
# > 文本生成是LLM最重要的应用之一，包括文章写作、对话系统、故事创作等。例如，谷歌的BERT模型可以生成高质量的文章摘要，微软的GPT模型可以生成逼真的对话内容。
#
# In English (§6.1): text generation is one of the most important applications of LLMs,
# including article writing, dialogue systems and story writing. For example, Google's BERT
# model can generate high-quality article summaries, and Microsoft's GPT model can generate
# realistic dialogue.
#
# The list is right. The example is not: BERT is an **encoder**, it reads a whole text at once
# and has no way to write one token after another (section 6 shows it); and GPT is OpenAI's.
#
# ## The idea in plain words
#
# Every model below is built from the same blocks (lessons 06–11); what differs is which
# positions may see which, and what the last layer predicts:
#
# | task | model | attention | the output |
# | --- | --- | --- | --- |
# | generation | decoder (GPT) | causal: $t$ sees $\le t$ | $P(x_t \mid x_{<t})$, token by token |
# | translation | encoder + decoder | all-to-all; causal + cross | $P(y_t \mid y_{<t}, x)$ |
# | question answering | encoder (BERT) | all-to-all | a sentence vector to match (or a span) |
# | classification | encoder (BERT) | all-to-all | one label per text, from [CLS] |
# | POS tagging | encoder (BERT) | all-to-all | one label per token |
#
# Each model here trains in a few seconds on a laptop (the QA encoder comes pretrained), and
# most answers can be checked exactly: numbers written in words (`transformer.datasets.
# number_words`), and the People's Daily part-of-speech tags for the tagger.

# %%
import os
import re
from collections import Counter
import time

import numpy as np

import minigrad as mg
from transformer import GPT, GPTConfig
from transformer.bert import (BertConfig, BertForSequenceClassification,
                              BertForTokenClassification, BertModel, mean_pool)
from transformer.datasets import (chatterbot_qa, english_number, number_translation,
                                  peoples_daily_pos)
from transformer.pretrained import installed_checkpoint
from transformer.tokenizers import WordPieceTokenizer
from transformer.seq2seq import Seq2SeqConfig, Seq2SeqTransformer, make_batch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "15_applications")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
mg.set_num_threads(1)              # tiny models: a second thread only waits (see tests/conftest)
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## The data: numbers in words
#
# `number_translation` gives distinct numbers 0..9999 as (English words, Chinese numerals).
# We split the English into words (a hyphen is a word of its own, so that joining is exact) and
# keep one vocabulary of English words for every model. 2,000 numbers train, 500 others test.

# %%
pairs = number_translation(2500, seed=0)
train_pairs, test_pairs = pairs[:2000], pairs[2000:]


def words(english):
    """'twenty-one' -> ['twenty', '-', 'one']."""
    return re.findall(r"[a-z]+|-", english)


def join(tokens):
    return " ".join(tokens).replace(" - ", "-")


ALL_NAMES = {english_number(n): n for n in range(10000)}
NUMBER_WORDS = sorted({w for name in ALL_NAMES for w in words(name)})
WORDS = ["<pad>", "<bos>", "<eos>", "[CLS]"] + NUMBER_WORDS
WORD_ID = {w: i for i, w in enumerate(WORDS)}
print(len(NUMBER_WORDS), "English number words;", pairs[0], "->", words(pairs[0][0]))
assert all(join(words(name)) == name for name in ALL_NAMES)
assert not {en for en, _ in train_pairs} & {en for en, _ in test_pairs}


def train(model, batches, steps, lr, loss_of):
    """Adam with a 10% warm-up and a linear decay; returns the losses."""
    opt = mg.optim.Adam(model.parameters(), lr=lr)
    warmup = max(1, steps // 10)
    schedule = mg.optim.lr_scheduler.LambdaLR(
        opt, lambda step: min(1, (step + 1) / warmup) * (1 - step / steps))
    model.train()
    losses = []
    for step in range(steps):
        loss = loss_of(model, *batches(step))
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    return losses

# %% [markdown]
# ## 1. Text generation — a decoder alone (GPT)
#
# A language model learns $P(x_t \mid x_{<t})$ and writes by sampling one token, appending it,
# and asking again (lesson 03). The causal mask is what makes this work: position $t$ was
# trained without seeing what comes after it, which is exactly the situation when generating.
# Our GPT learns English number names, each line `<bos> words <eos>`, and then writes new ones.
# Are they well formed? Each can be checked: is it the name of a number?

# %%
BOS, EOS = WORD_ID["<bos>"], WORD_ID["<eos>"]
lines = [[BOS] + [WORD_ID[w] for w in words(en)] + [EOS] for en, _ in train_pairs]
T_GEN = max(map(len, lines)) - 1
line_in = np.full((len(lines), T_GEN), EOS)
line_out = np.full((len(lines), T_GEN), -1)                  # -1: no target (GPT's ignore)
for i, line in enumerate(lines):
    line_in[i, :len(line) - 1], line_out[i, :len(line) - 1] = line[:-1], line[1:]

mg.manual_seed(0)
gpt = GPT(GPTConfig(vocab_size=len(WORDS), block_size=T_GEN + 1, n_layer=2, n_head=2, n_embd=32))
rng = np.random.default_rng(0)
t0 = time.perf_counter()
gen_losses = train(gpt, lambda step: [rng.integers(0, len(lines), 64)], 100, 1e-2,
                   lambda m, rows: m(mg.tensor(line_in[rows]), mg.tensor(line_out[rows]))[1])
print(f"GPT: {gpt.num_parameters():,} parameters, loss {gen_losses[0]:.2f} -> "
      f"{np.mean(gen_losses[-20:]):.3f} in {time.perf_counter() - t0:.1f} s")

mg.manual_seed(1)
samples = gpt.generate(mg.tensor(np.full((200, 1), BOS)), T_GEN, temperature=0.8).numpy()
written = []
for row in samples[:, 1:]:
    ends = np.flatnonzero(row == EOS)
    written.append(join([WORDS[i] for i in row[:ends[0] if ends.size else len(row)]]))
valid = [w for w in written if w in ALL_NAMES]
new = [w for w in valid if w not in {en for en, _ in train_pairs}]
print("a few of its lines:", written[:4])
print(f"{len(valid)} of {len(written)} are number names; {len(new)} of those are not in its "
      f"training lines, e.g. {new[0]!r} = {ALL_NAMES[new[0]]}")
assert gen_losses[-1] < gen_losses[0] / 3
assert len(valid) >= 0.9 * len(written) and len(new) >= 0.5 * len(valid)

# %% [markdown]
# ## 2. Machine translation — an encoder and a decoder
#
# Translation reads a whole source sentence, then writes a target sentence of a different
# length in a different vocabulary: $P(y_t \mid y_{<t}, x)$. The encoder turns the source into
# one vector per source word (not one fixed-length vector, FORMULAS B1); the decoder is a GPT
# whose every layer also looks at those vectors (cross-attention) — `Seq2SeqTransformer`.
# English words in, Chinese numerals out, character by character: the model must learn that
# English counts in thousands and Chinese in ten-thousands, where 零 goes, and that "and" has no
# Chinese counterpart. The test numbers were never seen in training, and every answer is
# checked exactly (`chinese_number`).

# %%
ZH = ["<pad>", "<bos>", "<eos>"] + list("零一二三四五六七八九十百千")
ZH_ID = {c: i for i, c in enumerate(ZH)}
src_train = [[WORD_ID[w] for w in words(en)] for en, _ in train_pairs]
tgt_train = [[ZH_ID[c] for c in zh] for _, zh in train_pairs]
mg.manual_seed(0)
translator = Seq2SeqTransformer(Seq2SeqConfig(
    src_vocab_size=len(WORDS), tgt_vocab_size=len(ZH), d_model=32, n_head=2,
    num_encoder_layers=2, num_decoder_layers=2, d_ff=64, dropout=0.0, max_len=12,
    share_embeddings=False, norm_first=True))
rng = np.random.default_rng(0)


def translation_batch(step):
    rows = rng.integers(0, len(src_train), 64)
    return [mg.tensor(a) for a in make_batch([src_train[i] for i in rows],
                                             [tgt_train[i] for i in rows])]


t0 = time.perf_counter()
mt_losses = train(translator, translation_batch, 140, 1e-2,
                  lambda m, src, tgt_in, tgt_out: m(src, tgt_in, tgt_out)[1])
src_test = make_batch([[WORD_ID[w] for w in words(en)] for en, _ in test_pairs],
                      [[0] for _ in test_pairs])[0]
greedy = ["".join(ZH[i] for i in out) for out in translator.greedy_decode(src_test)]
beam = ["".join(ZH[i] for i in out) for out in translator.beam_search(src_test, beam_size=4)]
truth = [zh for _, zh in test_pairs]
greedy_acc = np.mean([g == t for g, t in zip(greedy, truth)])
beam_acc = np.mean([b == t for b, t in zip(beam, truth)])
print(f"translator: loss {mt_losses[0]:.2f} -> {np.mean(mt_losses[-20:]):.3f} in "
      f"{time.perf_counter() - t0:.1f} s; exact match on {len(truth)} unseen numbers: "
      f"greedy {greedy_acc:.1%}, beam search (4) {beam_acc:.1%}")
for (en, zh), out in list(zip(test_pairs, beam))[:3]:
    print(f"  {en!r} -> {out}  ({'right' if out == zh else 'wrong, ' + zh})")
assert mt_losses[-1] < 0.05 and greedy_acc >= 0.95 and beam_acc >= greedy_acc - 0.01


# %% [markdown]
# ## 3. Question answering — an encoder that compares meanings
#
# The article's example is a FAQ bot (§6.3: "微软的Q&A Bot", a Microsoft Q&A bot): it keeps
# questions with their answers and, for a user's question, returns the answer of the stored
# question that *means* the same. That needs an encoder that turns a sentence into one vector
# whose direction carries its meaning: the pretrained all-MiniLM-L6-v2 (a 6-layer BERT,
# lesson 14), its token vectors averaged (`mean_pool`) and normalised, so that the dot product
# of two sentences is their cosine. The stored set is ChatterBot's English trivia; the user
# questions below are our own rewordings of five stored ones.
#
# (Two other kinds of QA exist. *Extractive*: an encoder reads question and text together and
# points at the answer's start and end in the text — BERT on SQuAD. *Generative*: a decoder
# writes the answer. Both need a model trained on many (question, text, answer) examples,
# far more than a lesson can afford; a FAQ bot needs only a pretrained sentence encoder.)

# %%
faq = {}
for item in chatterbot_qa("english"):
    if item.topic == "trivia":
        faq.setdefault(item.question, item.answer)
questions = list(faq)
tokenizer = WordPieceTokenizer.from_pretrained(installed_checkpoint())
encoder = BertModel.from_pretrained(installed_checkpoint()).eval()


def embed(texts, batch_size=64):
    """Unit sentence vectors (N, C): mean of the real tokens' vectors, normalised. Texts are
    batched by length, so that little time goes into padding."""
    order = np.argsort([len(text) for text in texts], kind="stable")
    out = np.zeros((len(texts), encoder.config.hidden_size), np.float32)
    with mg.no_grad():
        for i in range(0, len(texts), batch_size):
            rows = order[i:i + batch_size]
            inputs = tokenizer.batch_encode([texts[j] for j in rows], max_length=32)
            hidden, _ = encoder(**inputs)
            out[rows] = mean_pool(hidden, inputs["attention_mask"], normalize=True).numpy()
    return out


t0 = time.perf_counter()
stored = embed(questions)                                            # (N, C)
ASKED = {        # our wording -> the stored question it means
    "Which planet in the solar system is the biggest?":
        "What is the largest planet in our solar system?",
    "Someone who studies seismology studies what?": "What does a seismologist study?",
    "How many hearts has an octopus got?": "How many hearts does an octopus have?",
    "In which city was Beethoven born?": "Ludwig Van Beethoven was born in 1770 in which city?",
    "Who painted Guernica?": "Which artist painted, “Guernica”?"}
similarity = embed(list(ASKED)) @ stored.T                            # cosines (Q, N)
print(f"{len(questions)} stored questions encoded in {time.perf_counter() - t0:.1f} s")
for (asked, meant), row in zip(ASKED.items(), similarity):
    best = int(row.argmax())
    print(f"  {asked!r}\n    -> {questions[best]!r} (cosine {row[best]:.2f}): "
          f"{faq[questions[best]]!r}")
    assert questions[best] == meant and row[best] > 0.8

# %% [markdown]
# ## 4. Text classification — an encoder with one label per text
#
# One label for a whole text: BERT puts a [CLS] token first, and after the encoder its vector
# (through the pooler) feeds a linear layer with one output per class
# (`BertForSequenceClassification`; lesson 14 fine-tunes a pretrained one on real labeled
# text). Here a 2-layer BERT (C = 64) trained from scratch sorts number names into three
# classes: below 100, 100–999, 1000 and above — the answer is in which words occur, anywhere
# in the text, so attention from [CLS] to every position is the right tool.

# %%
SIZE_CLASSES = ["< 100", "100-999", ">= 1000"]
CLS = WORD_ID["[CLS]"]


def size_batch(rng, n):
    """n number names drawn evenly from the three classes: [CLS] words, padded; labels."""
    labels = rng.integers(0, 3, n)
    lows, highs = np.array([0, 100, 1000]), np.array([100, 1000, 10000])
    names = [words(english_number(int(rng.integers(lows[c], highs[c])))) for c in labels]
    ids = np.zeros((n, 1 + max(map(len, names))), dtype=np.int64)
    for i, name in enumerate(names):
        ids[i, :1 + len(name)] = [CLS] + [WORD_ID[w] for w in name]
    return mg.tensor(ids), mg.tensor((ids > 0).astype(np.int64)), mg.tensor(labels)


def tiny_bert(vocab_size, **changes):
    return BertConfig(**{**dict(vocab_size=vocab_size, hidden_size=64, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=128,
                                hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                                max_position_embeddings=32), **changes})


mg.manual_seed(0)
classifier = BertForSequenceClassification(tiny_bert(len(WORDS)), num_labels=3)
rng = np.random.default_rng(0)
t0 = time.perf_counter()
cls_losses = train(classifier, lambda step: size_batch(rng, 64), 100, 3e-3,
                   lambda m, ids, mask, labels: m(ids, mask, labels=labels)[1])
ids, mask, labels = size_batch(np.random.default_rng(1), 600)
with mg.no_grad():
    predicted = classifier(ids, mask)[0].numpy().argmax(1)
cls_acc = np.mean(predicted == labels.numpy())
print(f"classifier: loss {cls_losses[0]:.2f} -> {np.mean(cls_losses[-20:]):.3f} in "
      f"{time.perf_counter() - t0:.1f} s; accuracy on 600 new number names: {cls_acc:.1%} "
      f"(guessing: 33%)")
assert cls_acc >= 0.95

# %% [markdown]
# ## 5. Part-of-speech tagging — an encoder with one label per token
#
# Tagging gives every word a label (FORMULAS A4): 人民/n 日报/n 发表/v 社论/n. The tag of a word
# depends on its neighbours on *both* sides (发展 is a verb in 发展经济, a noun in 经济的发展), so
# the encoder's all-to-all attention is the right kind, with a linear layer on every position
# (`BertForTokenClassification`). Real data: the People's Daily corpus, 4,000 sentences of 5–30
# words to train on, 500 others to test; a word seen once in training becomes [UNK]. Two
# baselines: always the most common tag, and a lookup table of each word's most frequent tag
# in the same training sentences (lesson 04).

# %%
t0 = time.perf_counter()
tagged = [ex for ex in peoples_daily_pos().examples if 5 <= len(ex[0]) <= 30]
order = np.random.default_rng(0).permutation(len(tagged))
pos_train = [tagged[i] for i in order[:4000]]
pos_test = [tagged[i] for i in order[4000:4500]]
word_counts = Counter(w for ws, _ in pos_train for w in ws)
VOCAB = ["[PAD]", "[UNK]"] + sorted(w for w, c in word_counts.items() if c >= 2)
VOCAB_ID = {w: i for i, w in enumerate(VOCAB)}
TAGS = sorted({t for _, ts in pos_train + pos_test for t in ts})
TAG_ID = {t: i for i, t in enumerate(TAGS)}

tags_of = {}
for ws, ts in pos_train:
    for w, t in zip(ws, ts):
        tags_of.setdefault(w, Counter())[t] += 1
most_common_tag = Counter(t for _, ts in pos_train for t in ts).most_common(1)[0][0]
test_pairs_pos = [(w, t) for ws, ts in pos_test for w, t in zip(ws, ts)]
majority_acc = np.mean([t == most_common_tag for _, t in test_pairs_pos])
lookup_acc = np.mean([(tags_of[w].most_common(1)[0][0] if w in tags_of else most_common_tag) == t
                      for w, t in test_pairs_pos])


def pos_batch(sentences):
    """ids (B, T) and labels (B, T), -100 at padding (no loss there)."""
    T = max(len(ws) for ws, _ in sentences)
    ids, labels = np.zeros((len(sentences), T), np.int64), np.full((len(sentences), T), -100)
    for i, (ws, ts) in enumerate(sentences):
        ids[i, :len(ws)] = [VOCAB_ID.get(w, 1) for w in ws]
        labels[i, :len(ts)] = [TAG_ID[t] for t in ts]
    return mg.tensor(ids), mg.tensor((ids > 0).astype(np.int64)), labels


mg.manual_seed(0)
tagger = BertForTokenClassification(tiny_bert(len(VOCAB), num_hidden_layers=1), len(TAGS))
rng = np.random.default_rng(0)
pos_losses = train(tagger, lambda step: pos_batch([pos_train[i] for i in
                                                   rng.integers(0, len(pos_train), 32)]),
                   150, 5e-3, lambda m, ids, mask, labels: m(ids, mask, labels=labels)[1])
ids, mask, labels = pos_batch(pos_test)
with mg.no_grad():
    predicted = tagger(ids, mask)[0].numpy().argmax(-1)                 # (B, T)
real = labels != -100
tagger_acc = np.mean(predicted[real] == labels[real])
print(f"{len(VOCAB):,} words, {len(TAGS)} tags; tagger trained in {time.perf_counter() - t0:.1f} s")
print(f"accuracy on {real.sum():,} test words: always {most_common_tag!r} {majority_acc:.1%}, "
      f"lookup table {lookup_acc:.1%}, tagger {tagger_acc:.1%}")
assert tagger_acc > majority_acc + 0.4 and lookup_acc - 0.1 < tagger_acc < lookup_acc

# %% [markdown]
# The tagger beats "always n" by far but not the lookup table: 150 steps show it each
# training sentence about once, while the table counts every occurrence exactly. Real taggers
# start from a pretrained encoder (lesson 14) and then beat the table, mostly on the words it
# cannot know — those it never saw, and those whose tag depends on the sentence.
#
# ## 6. Where the article goes wrong: BERT does not "generate summaries" (§6.1)
#
# To write text left to right a model must give $P(x_t \mid x_{<t})$: a distribution for the
# next token computed from the tokens before it only. Change a token and see which outputs
# move. For GPT, changing token $j$ may only change the outputs at positions $\ge j$ (the
# causal mask). For BERT, every position reads every other, so the output at position $t$
# depends on tokens *after* $t$ — which do not exist yet when you are writing token $t$. Its
# training objective says the same: a masked language model predicts a hidden token from both
# sides, so there is no left-to-right factorisation to sample from.

# %%
def influence(outputs_of, ids):
    """(T, T) matrix: how far the outputs at position i move when token j changes."""
    base = outputs_of(ids)
    effect = np.zeros((len(ids), len(ids)))
    for j in range(len(ids)):
        changed = list(ids)
        changed[j] = WORD_ID["seven"] if ids[j] != WORD_ID["seven"] else WORD_ID["two"]
        effect[:, j] = np.abs(outputs_of(changed) - base).max(axis=1)
    return effect


sentence = words(english_number(4321))
with mg.no_grad():
    gpt_effect = influence(lambda ids: gpt(mg.tensor([ids]))[0].numpy()[0],
                           [BOS] + [WORD_ID[w] for w in sentence])
    bert_effect = influence(lambda ids: classifier.bert(mg.tensor([ids]))[0].numpy()[0],
                            [CLS] + [WORD_ID[w] for w in sentence])
future = np.triu(np.ones_like(gpt_effect, dtype=bool), k=1)     # j > i: a later token
print("largest change of an output caused by a LATER token:  GPT "
      f"{gpt_effect[future].max():.1e},  BERT {bert_effect[future].max():.2f}")
assert gpt_effect[future].max() < 1e-5 and bert_effect[future].max() > 0.05
assert (bert_effect[future] > 1e-4).all()                        # every later token matters
assert gpt_effect[~future].min() > 1e-3                          # earlier tokens do matter

import matplotlib

if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt                                  # noqa: E402 (only for the plot)

fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
for ax, effect, name, first in ((axes[0], gpt_effect, "GPT (decoder): causal", "<bos>"),
                                (axes[1], bert_effect, "BERT (encoder): all-to-all", "[CLS]")):
    image = ax.imshow(np.log10(np.maximum(effect, 1e-4)), cmap="viridis", vmin=-4)
    labels_ = [first] + sentence
    ax.set_xticks(range(len(labels_)), labels_, rotation=60)
    ax.set_yticks(range(len(labels_)), labels_)
    ax.set(xlabel="token changed (j)", ylabel="output position (i)", title=name)
    fig.colorbar(image, ax=ax, shrink=0.8, label="log10 of the largest output change")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "who_sees_what.png"), dpi=90)
print("plot saved to", os.path.join(OUT, "who_sees_what.png"))

# %% [markdown]
# The left map is zero above the diagonal: GPT's output at a position never depends on what
# follows, so it is a valid next-token distribution while writing. The right one is full.
#
# **Correction.** Summaries made "with BERT" are either *extractive* — BERT scores each
# sentence of the article, keep or drop (BertSum), a classification as in section 4 that
# writes nothing new — or *abstractive* with BERT as the encoder under a decoder that writes,
# which is the encoder-decoder of section 2 (Google's own abstractive summarisers, PEGASUS and
# T5, are encoder-decoders). And GPT is OpenAI's model; Microsoft's dialogue model DialoGPT is
# built on it.
#
# ## Try it
#
# 1. Translate the other way: swap the pairs (`[(zh, en) for en, zh in pairs]`) and the
#    vocabularies. Which is harder to learn, and why (think of "and" and 零)?
# 2. Lower the translator's training to 100 steps: where do greedy decoding and beam search
#    start to differ? (`translator.beam_search(..., return_scores=True)` gives the scores.)
# 3. Sample the GPT at temperature 1.5: how many lines are still number names?
# 4. Ask the FAQ bot something it has no answer for: what cosine does the best match get?
#
# ## What's next
#
# Lesson 16 measures these models properly: accuracy, precision, recall, F1, BLEU, perplexity.
#
# Next: [Lesson 16 — Metrics: what a score measures, and what it hides](16_metrics.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
