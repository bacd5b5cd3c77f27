"""Look at a computation graph: ``summarize_graph`` (text) and ``draw_graph`` (a matplotlib figure).

Every distinct tensor that ``root`` was computed from is one node: leaves ("param" when they
require grad, "leaf" otherwise) and the outputs of ops (named by their ``Function``). A tensor
with a ``name`` attribute (``w.name = "w"``) shows it. Arrows go from an op's inputs to its
output, so leaves sit on the left and ``root`` on the right, each column one step further from
the root (its depth: the longest path down to it from the root).

>>> import minigrad as mg
>>> w = mg.tensor([1.0, -1.0], requires_grad=True); w.name = "w"
>>> loss = (w * w).sum()
>>> print(summarize_graph(loss))
#0 w = param          (2,) float32  mean 0 std 1
#1 Mul(#0, #0)        (2,) float32  mean 1 std 0
#2 Sum(#1)            () float32  value 2

Only matplotlib is needed (no graphviz), imported when drawing; nothing here calls
``plt.show()``, so it works headless (``MPLBACKEND=Agg``) and in notebooks alike.
"""
import numpy as np

from minigrad.autograd import graph_order

__all__ = ["summarize_graph", "draw_graph"]


def graph_nodes(root):
    """Every tensor ``root`` depends on (itself included, leaves too), inputs first."""
    return graph_order(root, leaves=True)


def _kind(t):
    if t._op is not None:
        return t._op.__name__
    return "param" if t.requires_grad else "leaf"


def _summary(array):
    """'value v' for one element, else 'mean m std s' (floats) or 'min a max b' (ints, bools)."""
    array = np.asarray(array)
    if array.size == 0:
        return "empty"
    if array.size == 1:
        return f"value {array.item():.4g}"
    if np.issubdtype(array.dtype, np.floating):
        return f"mean {array.mean():.3g} std {array.std():.3g}"
    return f"min {array.min()} max {array.max()}"


def _describe(t):
    """(title, 'shape dtype', data summary, grad summary or None) for one node."""
    name = getattr(t, "name", None)
    title = _kind(t) if name is None else f"{name} = {_kind(t)}"
    grad = None if t.grad is None else "grad " + _summary(
        t.grad if isinstance(t.grad, np.ndarray) else t.grad.get())
    return title, f"{t.shape} {t.dtype}", _summary(t.numpy()), grad


def summarize_graph(root):
    """One line per tensor, inputs first: ``#i op(#inputs)  shape dtype  data  [grad]``.

    Only tensor inputs are listed; numbers and settings (``x * 0.1``, ``dim=1``) are not kept
    by the graph.
    """
    nodes = graph_nodes(root)
    number = {id(t): i for i, t in enumerate(nodes)}
    lines = []
    for i, t in enumerate(nodes):
        title, shape, data, grad = _describe(t)
        if t._op is not None:
            inputs = ", ".join(f"#{number[id(p)]}" for p in t._parents if p is not None)
            title = f"{title}({inputs})"
        line = f"#{i} {title:<18} {shape}  {data}"
        lines.append(line if grad is None else f"{line}  {grad}")
    return "\n".join(lines)


def _layers(nodes):
    """Depth of every node (longest path from the root) and the nodes of each depth."""
    depth = {id(nodes[-1]): 0}
    for t in reversed(nodes):                     # root first: outputs before their inputs
        for p in t._parents:
            if p is not None:
                depth[id(p)] = max(depth.get(id(p), 0), depth[id(t)] + 1)
    layers = [[] for _ in range(max(depth.values()) + 1)]
    for t in reversed(nodes):
        layers[depth[id(t)]].append(t)
    return depth, layers


_COLORS = {"param": "#cfe8cf", "leaf": "#e4e4e4", "op": "#d3e3f5", "root": "#f9d9a8"}
_BOX_W, _BOX_H, _DX, _DY = 1.8, 0.9, 2.5, 1.15   # box size and spacing, in inches


def draw_graph(root, path=None, ax=None, max_nodes=200):
    """Draw ``root``'s computation graph; returns the matplotlib ``Figure``.

    Args:
        root: the tensor whose graph to draw (usually the loss).
        path: if given, also save the figure there (``.png``, ``.svg``, ``.pdf``).
        ax: draw into this ``Axes`` instead of a new figure.
        max_nodes: draw at most this many nodes, those nearest the root; a note says how many
            were left out (``summarize_graph`` always lists all).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyBboxPatch

    nodes = graph_nodes(root)
    depth, layers = _layers(nodes)
    shown, kept_layers = set(), []
    for layer in layers:
        room = max_nodes - len(shown)
        if room <= 0:
            break
        kept_layers.append(layer[:room])
        shown.update(id(t) for t in layer[:room])
    hidden = len(nodes) - len(shown)

    # y position: each layer ordered by the mean position of the nodes it feeds (fewer crossings)
    position = {}
    for d, layer in enumerate(kept_layers):
        if d > 0:
            def pull(t):
                ys = [position[id(c)][1] for c in nodes if id(c) in position and
                      any(p is t for p in c._parents)]
                return sum(ys) / len(ys) if ys else 0.0
            layer = sorted(layer, key=pull)
        for k, t in enumerate(layer):
            position[id(t)] = (-d * _DX, (k - (len(layer) - 1) / 2) * _DY)

    # an edge that skips a column arches over the boxes between (arc3: the curve rises about
    # 0.15 x its length); leave room above the top row for the highest arch
    spans = [abs(position[id(p)][0] - position[id(t)][0]) for t in nodes if id(t) in shown
             for p in t._parents if p is not None and id(p) in shown
             and depth[id(p)] - depth[id(t)] > 1]
    ys = [y for _, y in position.values()]
    top = max(ys) + _BOX_H / 2 + 0.2 + (0.15 * max(spans) if spans else 0)
    bottom = min(ys) - _BOX_H / 2 - (0.5 if hidden else 0.2)
    width, height = len(kept_layers) * _DX, top - bottom
    if ax is None:
        fig = Figure(figsize=(max(width, 3.0), max(height, 1.2)))
        ax = fig.add_axes((0, 0, 1, 1))
    else:
        fig = ax.figure
    ax.set_axis_off()
    ax.set_xlim(-(len(kept_layers) - 0.5) * _DX, 0.5 * _DX)
    ax.set_ylim(bottom, top)

    for t in nodes:
        if id(t) not in shown:
            continue
        x, y = position[id(t)]
        kind = "root" if t is root else ("op" if t._op is not None else _kind(t))
        ax.add_patch(FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                                    boxstyle="round,pad=0,rounding_size=0.08",
                                    fc=_COLORS[kind], ec="#555555", lw=0.8))
        title, shape, data, grad = _describe(t)
        ax.text(x, y + _BOX_H * 0.28, title, ha="center", va="center", fontsize=8,
                fontweight="bold")
        details = "\n".join(s for s in (shape, data, grad) if s is not None)
        ax.text(x, y - _BOX_H * 0.1, details, ha="center", va="center", fontsize=6.5,
                linespacing=1.25)
        drawn = []
        for p in t._parents:
            if p is not None and id(p) in shown:
                px, py = position[id(p)]
                bend = 0.25 * drawn.count(id(p))        # x * x: two arrows, the second bent
                start, end = (px + _BOX_W / 2, py), (x - _BOX_W / 2, y)
                if depth[id(p)] - depth[id(t)] > 1:     # skips a column: top to top, arched
                    start, end = (px + _BOX_W / 4, py + _BOX_H / 2), (x - _BOX_W / 4, y + _BOX_H / 2)
                    bend -= 0.3
                drawn.append(id(p))
                ax.annotate("", xy=end, xytext=start,
                            arrowprops=dict(arrowstyle="-|>", color="#444444", lw=0.8,
                                            shrinkA=1, shrinkB=1,
                                            connectionstyle=f"arc3,rad={bend}"))
    if hidden:
        ax.text(ax.get_xlim()[0] + 0.1, bottom + 0.15,
                f"... {hidden} more nodes further from the output not drawn (max_nodes={max_nodes})",
                fontsize=7, style="italic")
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
