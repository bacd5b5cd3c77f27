"""A run folder: what one command leaves behind, readable without this code.

    runs/<name>/
        config.json       the command's settings
        metrics.jsonl     one JSON object per line: {"step", "loss", "lr", ...} while training,
                          {"step", "val_loss", "val_ppl"} at each evaluation, test metrics last
        checkpoint.npz    the latest checkpoint (transformer.checkpoint)
        plots/            loss.png (train and validation), lr.png, confusion.png, attention.png
        summary.md        a few lines: what ran, the final numbers, where the files are

Plots use matplotlib's file-only backend (Agg), so they work without a display.

>>> import tempfile
>>> run = Run(tempfile.mkdtemp())
>>> run.log({"step": 1, "loss": 2.5}); run.log({"step": 2, "loss": 2.0})
>>> [r["loss"] for r in run.metrics()]
[2.5, 2.0]
"""
import json
import os

import numpy as np

from minigrad.serialization import atomic_write

__all__ = ["Run"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _cjk_font():
    """A font that draws Chinese characters, if one is installed (None: tick labels show ids)."""
    from matplotlib import font_manager
    for name in ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "SimHei",
                 "AR PL UMing CN", "Droid Sans Fallback"):
        if any(f.name == name for f in font_manager.fontManager.ttflist):
            return name
    return None


class Run:
    """The folder ``path`` (created) and the files of the module docstring."""

    def __init__(self, path):
        self.path = os.fspath(path)
        os.makedirs(os.path.join(self.path, "plots"), exist_ok=True)

    def file(self, name):
        return os.path.join(self.path, name)

    @property
    def checkpoint_path(self):
        return self.file("checkpoint.npz")

    def write_config(self, config):
        with atomic_write(self.file("config.json"), encoding="utf-8") as f:
            json.dump(config, f, indent=2, ensure_ascii=False, default=str)

    def log(self, record):
        """Append one JSON line to metrics.jsonl."""
        with open(self.file("metrics.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

    def metrics(self):
        """Every record of metrics.jsonl, in order. A last line cut off mid-write (the process
        was killed while appending) is not a record and is skipped."""
        if not os.path.exists(self.file("metrics.jsonl")):
            return []
        with open(self.file("metrics.jsonl"), encoding="utf-8") as f:
            complete = f.read().split("\n")[:-1]     # after the last newline: "", or a cut line
        return [json.loads(line) for line in complete if line.strip()]

    def truncate_metrics(self, step):
        """Drop records after ``step``: a resumed run logs those steps again."""
        kept = [r for r in self.metrics() if r.get("step", 0) <= step]
        with atomic_write(self.file("metrics.jsonl"), encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in kept)

    def write_summary(self, text):
        with atomic_write(self.file("summary.md"), encoding="utf-8") as f:
            f.write(text.rstrip() + "\n")

    def summarize(self, title, lines):
        """summary.md: a title, ``lines``, and the files the run holds."""
        files = sorted(os.path.relpath(os.path.join(folder, name), self.path)
                       for folder, _, names in os.walk(self.path) for name in names
                       if name != "summary.md")
        self.write_summary("\n".join([f"# {title}", "", *lines, "", "Files: " + ", ".join(files)]))

    # ---- plots ----------------------------------------------------------------------------------
    def plot_curves(self, prefix=""):
        """plots/<prefix>loss.png (train loss per step, validation loss per evaluation) and
        plots/<prefix>lr.png (the learning rate per step); returns the paths written."""
        plt = _pyplot()
        records = self.metrics()
        train = [(r["step"], r["loss"]) for r in records if "loss" in r]
        valid = [(r["step"], r["val_loss"]) for r in records if "val_loss" in r]
        lrs = [(r["step"], r["lr"]) for r in records if "lr" in r]
        paths = []
        if train:
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(*zip(*train), label="train", lw=1)
            if valid:
                ax.plot(*zip(*valid), "o-", label="validation")
            ax.set(xlabel="step", ylabel="cross-entropy loss", title="Loss")
            ax.legend()
            paths.append(self._save(fig, f"{prefix}loss.png"))
        if lrs:
            fig, ax = plt.subplots(figsize=(6, 3))
            ax.plot(*zip(*lrs))
            ax.set(xlabel="step", ylabel="learning rate", title="Warm-up + cosine schedule")
            paths.append(self._save(fig, f"{prefix}lr.png"))
        return paths

    def plot_confusion(self, matrix, labels, name="confusion.png", title="Confusion matrix"):
        """A confusion matrix M[true, predicted]; up to 12 labels, the counts in the cells."""
        plt = _pyplot()
        matrix = np.asarray(matrix)
        size = max(4.0, 0.25 * len(labels))
        fig, ax = plt.subplots(figsize=(size, size))
        ax.imshow(matrix, cmap="Blues")
        ax.set(xticks=range(len(labels)), yticks=range(len(labels)), xlabel="predicted",
               ylabel="true", title=title)
        ax.set_xticklabels(labels, rotation=90 if len(labels) > 12 else 0)
        ax.set_yticklabels(labels)
        for (i, j), count in np.ndenumerate(matrix if len(labels) <= 12 else []):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > matrix.max() / 2 else "black")
        return self._save(fig, name)

    def plot_attention(self, weights, tokens, name="attention.png", title="Attention"):
        """Heatmaps of attention weights (H, T, T), one per head; rows are queries."""
        plt = _pyplot()
        font = _cjk_font()
        weights = np.asarray(weights)
        H = weights.shape[0]
        fig, axes = plt.subplots(1, H, figsize=(3.2 * H, 3.4), squeeze=False)
        labels = tokens if font else [str(i) for i in range(len(tokens))]
        for h, ax in enumerate(axes[0]):
            ax.imshow(weights[h], cmap="viridis", vmin=0, vmax=1)
            ax.set_title(f"head {h}")
            ax.set_xticks(range(len(tokens)))
            ax.set_yticks(range(len(tokens)))
            ax.set_xticklabels(labels, fontsize=6, fontfamily=font or "sans-serif")
            ax.set_yticklabels(labels, fontsize=6, fontfamily=font or "sans-serif")
        fig.suptitle(title)
        return self._save(fig, name)

    def _save(self, fig, name):
        path = os.path.join(self.path, "plots", name)
        fig.savefig(path, dpi=100, bbox_inches="tight")
        fig.clf()
        _pyplot().close(fig)
        return path
