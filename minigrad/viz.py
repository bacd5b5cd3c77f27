"""Look at a computation graph: ``summarize_graph`` (text), ``draw_graph`` (a matplotlib figure),
``step_backward`` (the backward pass replayed one node at a time) and ``find_bad_backward``
(which op's backward is wrong; it lives in ``minigrad.gradcheck``).

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

The backward debugger: ``step_backward(loss)`` prints every step of the backward pass;
``step_backward(loss, interactive=True)`` waits for Enter between steps (in a terminal);
``steps = step_backward(loss, out=None)`` only returns the records, to inspect in a notebook;
``backward_steps(loss)`` yields them one at a time. None of them changes ``.grad`` or frees
the graph. When ``mg.gradcheck`` fails for a model, ``find_bad_backward(fn, *inputs)`` names
the first op whose own backward is wrong.
"""
import dataclasses

import numpy as np

from minigrad.autograd import graph_order, seed_gradient
from minigrad.errors import BackwardError, ShapeError
from minigrad.gradcheck import find_bad_backward

__all__ = ["summarize_graph", "draw_graph", "step_backward", "backward_steps", "BackwardStep",
           "Contribution", "find_bad_backward"]


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


# ---- the backward pass, one node at a time ---------------------------------------------------

def _host(array):
    """A NumPy copy of a NumPy or CuPy array (for printing)."""
    return array.get() if hasattr(array, "get") else np.array(array)


def _show(array, max_elements):
    """Small arrays in full on one line (4 significant digits), larger ones as '<shape mean std>'."""
    array = _host(array)
    if array.size <= max_elements:
        return np.array2string(array, separator=", ", max_line_width=10 ** 6,
                               formatter={"float_kind": lambda v: f"{v:.4g}"}).replace("\n", "")
    return f"<{array.shape} {_summary(array)}>"


def _label(t, number):
    name = getattr(t, "name", None)
    return f"#{number[id(t)]}" if name is None else f"#{number[id(t)]} {name}"


def _broadcast_axes(input_shape, output_shape):
    """The output axes an input of ``input_shape`` was broadcast along (as ``unbroadcast`` sums)."""
    extra = len(output_shape) - len(input_shape)
    stretched = tuple(i + extra for i, n in enumerate(input_shape)
                      if n == 1 and output_shape[i + extra] != 1)
    return tuple(range(extra)) + stretched


@dataclasses.dataclass(repr=False)
class Contribution:
    """What one backward step sends to one input of its op, and the sum it joins."""

    position: int           # which argument of the op's forward
    tensor: object          # that input Tensor
    label: str              # '#0 x': its number in summarize_graph, and its name
    grad: object            # the contribution: dL/d(input) through this op alone (input's shape)
    local: object           # d output / d input element by element (element-wise ops), else None
    summed_axes: tuple      # output axes summed because the input was broadcast along them
    before: object          # the input's gradient before this contribution (None: none yet)
    total: object           # before + grad
    into_grad: bool         # True: a leaf's .grad; False: a sum waiting for that node's own step

    @property
    def sink(self):
        """Where the sum lives: 'x.grad' for a leaf, 'dL/d#2' for an intermediate tensor."""
        name = getattr(self.tensor, "name", None)
        if self.into_grad:
            return f"{name}.grad" if name else f"{self.label}.grad"
        return f"dL/d{self.label.split()[0]}"


@dataclasses.dataclass(repr=False)
class BackwardStep:
    """One node of the backward pass: g = dL/d(output) in, one contribution per input out."""

    number: int             # 1 = the op that made the root; counts down the graph
    total: int              # number of ops in the graph
    tensor: object          # the op's output
    label: str              # '#3 Mul(#0 x, #0 x)'
    op: str                 # the Function's name
    rule: str               # the first line of its docstring: forward and backward formulas
    upstream: object        # g = dL/d(output): the sum of every gradient that flowed in
    contributions: list     # one Contribution per input that gets a gradient
    max_elements: int = 12  # arrays up to this size print in full

    def __str__(self):
        show = lambda a: _show(a, self.max_elements)    # noqa: E731
        out = self.label.split()[0]
        lines = [f"step {self.number}/{self.total}  {self.label} -> {self.tensor.shape} "
                 f"{self.tensor.dtype}"]
        if self.rule:
            lines.append(f"  rule      {self.rule}")
        start = "  (the start: dL/dL = 1)" if self.number == 1 else ""
        lines.append(f"  upstream  g = dL/d{out} = {show(self.upstream)}{start}")
        for c in self.contributions:
            lines.append(f"  -> input {c.position}: {c.label} {c.tensor.shape}")
            if c.local is not None:
                lines.append(f"       local  d{out}/d{c.label.split()[0]} = {show(c.local)}")
                lines.append(f"       g × local = {show(c.grad)}")
            else:
                lines.append(f"       contribution (the op's backward of g) = {show(c.grad)}")
            if c.summed_axes:
                lines.append(f"       (summed over axes {c.summed_axes}: the input was "
                             "broadcast along them)")
            if c.before is None:
                lines.append(f"       {c.sink} = {show(c.total)}  (its first contribution)")
            else:
                lines.append(f"       {c.sink} = {show(c.before)} + {show(c.grad)} = "
                             f"{show(c.total)}")
        return "\n".join(lines)

    def __repr__(self):
        return f"<BackwardStep {self.number}/{self.total}: {self.label}>"

    def _repr_pretty_(self, printer, cycle):         # IPython/Jupyter show the full text
        printer.text(str(self))


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def backward_steps(root, grad=None, max_elements=12):
    """Yield one ``BackwardStep`` per op, in the order ``root.backward()`` visits them.

    The replay calls each op's ``backward`` exactly as the engine does, but writes nothing:
    no ``.grad`` changes and the graph is not freed, so a later ``root.backward()`` gives the
    same result. Leaf sums start from the leaf's current ``.grad``, as ``backward()`` adds to it.
    For element-wise ops the step also shows the local derivative d output / d input, the
    op's backward of a gradient of ones, so that contribution = g × local can be read off.
    """
    g_root = seed_gradient(root, grad, "step_backward")
    number = {id(t): i for i, t in enumerate(graph_nodes(root))}
    ops = graph_order(root) if root._op is not None else []
    pending, leaf_sums = {id(root): g_root}, {}
    for k, node in enumerate(reversed(ops), start=1):
        g = pending.pop(id(node), None)
        if g is None:
            continue
        if node._ctx is None:
            raise BackwardError(f"step_backward: the saved values of {node._op.__name__} were "
                                "freed by an earlier backward(); call step_backward before "
                                "backward(), or pass retain_graph=True to backward()")
        grads = _as_tuple(node._op.backward(node._ctx, g))
        elementwise = node._op.__module__ == "minigrad.functions.elementwise"
        slopes = _as_tuple(node._op.backward(node._ctx, np.ones_like(g))) if elementwise else None
        contributions = []
        for i, (parent, ig) in enumerate(zip(node._parents, grads)):
            if parent is None or ig is None or not parent.requires_grad:
                continue
            if ig.shape != parent.data.shape:
                raise ShapeError(f"{node._op.__name__}.backward returned a gradient of shape "
                                 f"{ig.shape} for input {i} of shape {parent.shape}")
            ig = ig.astype(parent.data.dtype, copy=False)
            leaf = parent._op is None
            sums = leaf_sums if leaf else pending
            before = sums.get(id(parent))
            if before is None and leaf and parent.grad is not None:
                before = parent.grad
            total = ig.copy() if before is None else before + ig
            sums[id(parent)] = total
            same_shape = parent.shape == node.shape
            contributions.append(Contribution(
                position=i, tensor=parent, label=_label(parent, number), grad=ig,
                local=slopes[i] if elementwise and same_shape else None,
                summed_axes=_broadcast_axes(parent.shape, node.shape)
                if elementwise and not same_shape else (),
                before=before, total=total, into_grad=leaf))
        inputs = ", ".join(_label(p, number) for p in node._parents if p is not None)
        rule = (node._op.__doc__ or "").strip().split("\n")[0]
        yield BackwardStep(number=k, total=len(ops), tensor=node,
                           label=f"#{number[id(node)]} {node._op.__name__}({inputs})",
                           op=node._op.__name__, rule=rule, upstream=g,
                           contributions=contributions, max_elements=max_elements)


def _writer(out):
    if out is None:
        return lambda text: None
    if hasattr(out, "write"):
        return lambda text: out.write(text + "\n")
    return out


def step_backward(root, grad=None, out=print, interactive=False, max_elements=12):
    """Replay ``root.backward()`` one node at a time, showing each step; returns the steps.

    Each step shows the op and its rule (the formulas of its docstring), the upstream gradient
    g = dL/d(output), and for each input the contribution g × local derivative and how it is
    added into that input's gradient: running sums show a tensor used twice getting both
    contributions. At the end, the ``.grad`` every leaf will hold after ``backward()``.
    Nothing is changed: ``root.backward()`` afterwards gives the same gradients.

    Args:
        root: the tensor to differentiate (usually the loss).
        grad: dL/d(root) for a non-scalar root (as in ``backward``).
        out: ``print`` (the default), any callable taking a string, a stream with ``write``
            (``sys.stdout``, a file), or None to print nothing (a notebook can inspect the
            returned steps instead).
        interactive: wait for Enter after each step (q + Enter stops), for the terminal.
        max_elements: arrays with at most this many elements are printed in full.

    Returns:
        the list of ``BackwardStep`` records shown (each with ``upstream``, ``contributions``).

    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0], requires_grad=True); x.name = "x"
    >>> steps = step_backward((x * x).sum(), out=None)
    >>> [s.op for s in steps], steps[-1].contributions[1].total.tolist()
    (['Sum', 'Mul'], [2.0, 4.0])
    """
    write = _writer(out)
    steps = []
    for step in backward_steps(root, grad, max_elements):
        steps.append(step)
        write(str(step))
        if interactive and input("Enter: next step, q: quit ").strip().lower() == "q":
            return steps
    final = {}
    for step in steps:
        for c in step.contributions:
            if c.into_grad:
                final[id(c.tensor)] = c
    if final:
        write("after backward(): " + ";  ".join(f"{c.sink} = {_show(c.total, max_elements)}"
                                               for c in final.values()))
    return steps
