"""The training loop, as functions: ``fit(state, task, config)`` (STYLE 8: no top-level script).

One step, the same for pretraining and fine-tuning (FORMULAS A2: pretraining and fine-tuning
are the same gradient descent on different data and heads)::

    batch = task.batch(step)                   a pure function of (seed, step): resumable
    loss  = task.loss(model, batch)            mean cross-entropy
    loss.backward()
    clip_grad_norm_(params, grad_clip)         g ← g · min(1, c / ‖g‖)
    optimizer.step()                           AdamW (FORMULAS B4)
    scheduler.step()                           linear warm-up, then cosine decay

Every ``eval_every`` steps the task evaluates on held-out data (validation loss, perplexity
or accuracy) and may print a sample. Checkpoints hold everything needed to continue exactly:
the batches are a function of the step, and the random generators are saved, so an
interrupted and resumed run computes the same losses as one that never stopped. Ctrl-C
(SIGINT) finishes the current step, saves a checkpoint and returns ``interrupted=True``.

The tasks: ``LMTask`` (next-token prediction on a token stream, GPT pretraining),
``MLMTask`` (masked-token prediction, BERT pretraining), ``ClassificationTask`` (one label per
text) and ``TokenClassificationTask`` (one label per token).
"""
import math
import signal
import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from minigrad import random
from minigrad.autograd import no_grad
from minigrad.creation import tensor
from minigrad.nn import functional as F
from minigrad.nn.utils import clip_grad_norm_
from minigrad.optim import AdamW
from minigrad.optim.lr_scheduler import WarmupCosineLR

from .bert import mask_tokens
from .metrics import perplexity

__all__ = ["TrainConfig", "TrainState", "FitResult", "make_optimizer", "make_scheduler", "fit",
           "LMTask", "MLMTask", "ClassificationTask", "TokenClassificationTask", "pad_batch"]


@dataclass
class TrainConfig:
    """How to train; the one home of these defaults (the CLI's flags read them)."""
    steps: int = 1000            # optimizer steps in the whole run
    batch_size: int = 16
    lr: float = 1e-3             # the peak learning rate, reached after the warm-up
    min_lr: float = 1e-4         # where the cosine ends
    warmup_steps: int = 50
    weight_decay: float = 0.1    # AdamW's decoupled decay, on matrices only (as nanoGPT)
    grad_clip: float = 1.0       # max global gradient norm; 0 = no clipping
    eval_every: int = 100        # evaluate (and sample) every this many steps, and at the end
    checkpoint_every: int = 0    # save every this many steps (0: at evaluations and the end)
    seed: int = 0                # initialisation, dropout and batch order

    @classmethod
    def from_settings(cls, settings):
        """The fields of this class taken from a command's config dataclass."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in asdict(settings).items() if k in names})


@dataclass
class TrainState:
    """What changes while training (saved in a checkpoint)."""
    model: object
    optimizer: object
    scheduler: object
    step: int = 0


@dataclass
class FitResult:
    step: int                                      # the step the run stopped at
    losses: dict = field(default_factory=dict)     # step -> training loss
    evals: list = field(default_factory=list)      # {"step", metric: value} per evaluation
    interrupted: bool = False                      # stopped by Ctrl-C (or ``stop_at``)


def make_optimizer(model, config):
    """AdamW with weight decay on the 2-D weights (matmuls, embeddings) and none on biases and
    LayerNorm gains, as nanoGPT; a tied weight appears once."""
    params = list(model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    return AdamW([{"params": decay, "weight_decay": config.weight_decay},
                  {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))


def make_scheduler(optimizer, config):
    warmup = min(config.warmup_steps, config.steps - 1)
    return WarmupCosineLR(optimizer, warmup_steps=warmup, total_steps=config.steps,
                          min_lr=config.min_lr)


class _SigintFlag:
    """While active, the first Ctrl-C sets ``raised`` instead of stopping the program, so the
    loop can finish its step and save; a second Ctrl-C stops at once."""

    def __enter__(self):
        self.raised = False
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:                     # not the main thread: leave signals alone
            self._old = None
        return self

    def _handle(self, signum, frame):
        if self.raised:
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _progress(total, initial, enabled):
    from tqdm import tqdm
    return tqdm(total=total, initial=initial, disable=not enabled, unit="step",
                dynamic_ncols=True, leave=False)


def fit(state, task, config, *, run=None, save=None, progress=True, echo=print, stop_at=None):
    """Train ``state.model`` on ``task`` from ``state.step`` to ``config.steps``.

    ``run``: a ``runs.Run`` to log metrics to; ``save(state)``: writes a checkpoint;
    ``echo``: prints evaluations and samples; ``stop_at``: behave as if Ctrl-C came after
    that step (tests use it to interrupt a run at a known point).
    """
    model, optimizer, scheduler = state.model, state.optimizer, state.scheduler
    result = FitResult(step=state.step)
    bar = _progress(config.steps, state.step, progress)
    write = bar.write if progress else echo
    if state.step == 0:
        result.evals.append(_evaluate(task, model, 0, run, write))
    model.train()
    with _SigintFlag() as sigint:
        while state.step < config.steps:
            started = time.perf_counter()
            batch = task.batch(state.step)
            loss = task.loss(model, batch)
            optimizer.zero_grad()
            loss.backward()
            grad_norm = clip_grad_norm_(model.parameters(), config.grad_clip).item() \
                if config.grad_clip > 0 else math.nan
            lr = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            state.step += 1
            value = loss.item()
            tokens_per_s = task.tokens(batch) / (time.perf_counter() - started)
            result.losses[state.step] = value
            if run is not None:
                run.log({"step": state.step, "loss": value, "lr": lr, "grad_norm": grad_norm,
                         "tokens_per_s": round(tokens_per_s, 1)})
            bar.update(1)
            bar.set_postfix(loss=f"{value:.3f}", tok_s=f"{tokens_per_s:,.0f}")
            evaluated = state.step % config.eval_every == 0 or state.step == config.steps
            if evaluated:
                result.evals.append(_evaluate(task, model, state.step, run, write))
            stopping = sigint.raised or state.step == stop_at
            every = config.checkpoint_every
            if save is not None and (stopping or state.step == config.steps
                                     or (every and state.step % every == 0)
                                     or (not every and evaluated)):
                save(state)
            if stopping:
                result.interrupted = True
                break
    bar.close()
    result.step = state.step
    return result


def _evaluate(task, model, step, run, write):
    """Held-out metrics (and a sample) without disturbing training: eval mode, no graph, and
    the random generator put back afterwards (sampling draws from it)."""
    rng_state = random.get_rng_state()
    model.eval()
    with no_grad():
        metrics = task.evaluate(model)
        sample = task.sample(model) if hasattr(task, "sample") else None
    model.train()
    random.set_rng_state(rng_state)
    record = {"step": step, **metrics}
    if run is not None:
        run.log(record)
    shown = "  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                      for k, v in metrics.items())
    write(f"step {step:>5}  {shown}")
    if sample is not None:
        write(f"            sample: {sample}")
    return record


# ---- tasks ------------------------------------------------------------------------------------
class LMTask:
    """Next-token prediction on a stream of token ids (GPT pretraining, FORMULAS A1).

    Batch ``step`` takes ``batch_size`` windows of block_size + 1 tokens at offsets drawn from
    a generator seeded by (seed, step): x = window[:-1], y = window[1:], both (B, T).
    Validation uses fixed, evenly spaced windows of the held-out stream.
    """

    def __init__(self, train_ids, valid_ids, block_size, batch_size, seed=0, device="cpu",
                 eval_batches=8, sample_prompt=None, sample_tokens=40, decode=None):
        self.train_ids = np.asarray(train_ids, dtype=np.int64)
        self.valid_ids = np.asarray(valid_ids, dtype=np.int64)
        for name, ids in (("training", self.train_ids), ("validation", self.valid_ids)):
            if len(ids) < block_size + 1:
                raise ValueError(f"LMTask: the {name} text has {len(ids)} tokens, fewer than "
                                 f"the context + 1 = {block_size + 1}; use more text or a "
                                 "smaller --block-size")
        self.T, self.B, self.seed, self.device = block_size, batch_size, seed, device
        self.eval_batches = eval_batches
        self.sample_prompt, self.sample_tokens, self.decode = sample_prompt, sample_tokens, decode

    def _windows(self, ids, offsets):
        rows = offsets[:, None] + np.arange(self.T + 1)                     # (B, T + 1)
        window = ids[rows]
        return (tensor(window[:, :-1], device=self.device),                # x (B, T)
                tensor(window[:, 1:], device=self.device))                 # y (B, T)

    def batch(self, step):
        rng = np.random.default_rng([self.seed, step])
        return self._windows(self.train_ids, rng.integers(0, len(self.train_ids) - self.T,
                                                          size=self.B))

    def tokens(self, batch):
        return batch[0].numel()

    def loss(self, model, batch):
        return model(batch[0], batch[1])[1]

    def evaluate(self, model):
        """Mean validation cross-entropy and its perplexity exp(loss) (FORMULAS F1)."""
        loss = self.valid_loss(model, self.valid_ids)
        return {"val_loss": loss, "val_ppl": perplexity(loss)}

    def valid_loss(self, model, ids):
        starts = np.linspace(0, len(ids) - self.T - 1, self.eval_batches * self.B).astype(int)
        losses = [self.loss(model, self._windows(ids, starts[i:i + self.B])).item()
                  for i in range(0, len(starts), self.B)]
        return float(np.mean(losses))

    def sample(self, model):
        """A continuation of the prompt with a fixed seed, so samples of successive
        evaluations differ only by what the model learned."""
        if self.sample_prompt is None:
            return None
        random.manual_seed(self.seed)
        prompt = tensor([self.sample_prompt], device=self.device)            # (1, T0)
        out = model.generate(prompt, self.sample_tokens, temperature=0.8, top_k=20)
        return self.decode(out.numpy()[0].tolist())


class MLMTask(LMTask):
    """Masked-token prediction on a stream of token ids (BERT pretraining, FORMULAS B5).

    Each window is [CLS] + block_size - 1 tokens; ``mask_tokens`` chooses 15% of the
    non-special tokens (80% become [MASK], 10% a random token, 10% stay) with a generator
    seeded by (seed, step), and the loss is the cross-entropy at the chosen positions only.
    """

    def __init__(self, train_ids, valid_ids, block_size, batch_size, special, vocab_size,
                 seed=0, device="cpu", eval_batches=8, decode=None):
        super().__init__(train_ids, valid_ids, block_size - 1, batch_size, seed, device,
                         eval_batches, decode=decode)
        self.special, self.vocab_size = special, vocab_size      # {"[CLS]": id, ...}

    def _masked(self, ids, offsets, key):
        rows = offsets[:, None] + np.arange(self.T)                        # (B, T - 1)
        x = np.concatenate([np.full((len(offsets), 1), self.special["[CLS]"]), ids[rows]],
                           axis=1)                                          # (B, T)
        inputs, labels = mask_tokens(x, self.special["[MASK]"], self.vocab_size,
                                     list(self.special.values()),
                                     rng=np.random.default_rng([self.seed, *key]))
        if (labels == -100).all():             # a loss over no token is undefined: mask one
            labels[0, 1], inputs[0, 1] = x[0, 1], self.special["[MASK]"]
        return tensor(inputs, device=self.device), tensor(labels, device=self.device)

    def batch(self, step):
        rng = np.random.default_rng([self.seed, step])
        offsets = rng.integers(0, len(self.train_ids) - self.T, size=self.B)
        return self._masked(self.train_ids, offsets, (step, 1))

    def loss(self, model, batch):
        return model(batch[0], labels=batch[1])[1]

    def valid_loss(self, model, ids):
        starts = np.linspace(0, len(ids) - self.T - 1, self.eval_batches * self.B).astype(int)
        losses = [self.loss(model, self._masked(ids, starts[i:i + self.B], (i, 2)))
                  .item() for i in range(0, len(starts), self.B)]
        return float(np.mean(losses))

    def sample(self, model):
        """Fill in the blanks: every fourth token of the first validation window hidden,
        then the model's most likely token in each blank."""
        ids = np.concatenate([[self.special["[CLS]"]], self.valid_ids[:min(self.T, 24)]])
        blanks = np.arange(2, len(ids), 4)
        masked = ids.copy()
        masked[blanks] = self.special["[MASK]"]
        logits = model(tensor(masked[None], device=self.device))[0].numpy()[0]   # (T, V)
        filled = masked.copy()
        filled[blanks] = logits[blanks].argmax(axis=-1)
        return f"{self.decode(masked[1:].tolist())}  →  {self.decode(filled[1:].tolist())}"


def pad_batch(sequences, pad_id):
    """Right-pad token lists to the longest: ids (B, T) int64 and attention_mask (B, T) with 1
    for real tokens.

    >>> ids, mask = pad_batch([[5, 6, 7], [8]], pad_id=0)
    >>> ids.tolist(), mask.tolist()
    ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    """
    T = max(len(s) for s in sequences)
    ids = np.full((len(sequences), T), pad_id, dtype=np.int64)
    mask = np.zeros((len(sequences), T), dtype=np.int64)
    for i, s in enumerate(sequences):
        ids[i, :len(s)] = s
        mask[i, :len(s)] = 1
    return ids, mask


class ClassificationTask:
    """One label per token sequence (sentiment, topic). The model maps (ids, attention_mask) to
    logits (B, num_labels); the loss is their cross-entropy with the labels.

    Batches walk through the training set in a new order each epoch: example i of the whole
    run (i = step · B + j) is example ``perm_e[i mod n]`` of epoch e = i // n, with perm_e a
    permutation seeded by (seed, e).
    """

    def __init__(self, train, valid, batch_size, pad_id, seed=0, device="cpu"):
        self.train, self.valid = train, valid      # each: (list of id lists, int labels)
        if not train[0] or not valid[0]:
            raise ValueError("ClassificationTask: the training and validation sets must not "
                             "be empty")
        self.B, self.pad_id, self.seed, self.device = batch_size, pad_id, seed, device
        self._epoch_order = (None, None)           # (epoch, its permutation), the last used

    def _order(self, epoch):
        if self._epoch_order[0] != epoch:
            n = len(self.train[0])
            self._epoch_order = (epoch, np.random.default_rng([self.seed, epoch]).permutation(n))
        return self._epoch_order[1]

    def _collate(self, data, indices):
        ids, mask = pad_batch([data[0][i] for i in indices], self.pad_id)
        labels = np.asarray([data[1][i] for i in indices], dtype=np.int64)
        return (tensor(ids, device=self.device), tensor(mask, device=self.device),
                tensor(labels, device=self.device))

    def batch(self, step):
        n = len(self.train[0])
        indices = []
        for i in range(step * self.B, (step + 1) * self.B):
            epoch, position = divmod(i, n)
            indices.append(self._order(epoch)[position])
        return self._collate(self.train, indices)

    def tokens(self, batch):
        return int(batch[1].numpy().sum())

    def logits(self, model, batch):
        """(B, num_labels); a BERT classifier returns (logits, loss): its logits."""
        out = model(batch[0], batch[1])
        return out[0] if isinstance(out, tuple) else out

    def loss(self, model, batch):
        logits = self.logits(model, batch)                        # (B, L) or (B, T, L)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[2].reshape(-1),
                               ignore_index=-100)

    def predict(self, model, data, batch_size=64):
        """``(predictions, targets, mean loss)`` over ``data`` in order; for tagging, the
        labeled positions only (flattened)."""
        preds, targets, losses = [], [], []
        for start in range(0, len(data[0]), batch_size):
            batch = self._collate(data, range(start, min(start + batch_size, len(data[0]))))
            labels = batch[2].numpy()
            labeled = labels != -100
            losses.append(self.loss(model, batch).item() * labeled.sum())
            preds.append(self.logits(model, batch).numpy().argmax(axis=-1)[labeled])
            targets.append(labels[labeled])
        n = sum(len(t) for t in targets)
        return np.concatenate(preds), np.concatenate(targets), float(np.sum(losses) / n)

    def evaluate(self, model):
        preds, targets, loss = self.predict(model, self.valid)
        return {"val_loss": loss, "val_accuracy": float((preds == targets).mean())}


class TokenClassificationTask(ClassificationTask):
    """One label per token (word segmentation, tagging): the model maps (ids, attention_mask)
    to logits (B, T, num_labels); labels (B, T) hold -100 where no label applies (padding,
    [CLS]), and the loss is the cross-entropy over the labeled positions."""

    def _collate(self, data, indices):
        ids, mask = pad_batch([data[0][i] for i in indices], self.pad_id)
        labels = np.full(ids.shape, -100, dtype=np.int64)                   # (B, T)
        for row, i in enumerate(indices):
            labels[row, :len(data[1][i])] = data[1][i]
        return (tensor(ids, device=self.device), tensor(mask, device=self.device),
                tensor(labels, device=self.device))
