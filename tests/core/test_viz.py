"""mg.viz: the text summary and the matplotlib drawing of a computation graph, headless."""
import subprocess
import sys


import minigrad as mg
from minigrad import viz


def small_expression():
    x = mg.randn(4, 3, requires_grad=True)
    x.name = "x"
    w = mg.randn(3, 2, requires_grad=True)
    w.name = "w"
    b = mg.zeros(2, requires_grad=True)
    h = (x @ w + b).relu()
    loss = (h * h).mean() + h.sum() * 0.1
    tensors = {id(t): t for t in (x, w, b, h, loss)}
    return loss, tensors


def distinct_tensors(root):
    """Independent count: breadth-first over _parents with a seen-set."""
    seen, frontier = {id(root)}, [root]
    while frontier:
        t = frontier.pop()
        for p in t._parents:
            if p is not None and id(p) not in seen:
                seen.add(id(p))
                frontier.append(p)
    return len(seen)


def test_summary_lists_every_tensor_inputs_first_and_names_each_op(rng):
    loss, _ = small_expression()
    loss.backward()
    lines = viz.summarize_graph(loss).splitlines()
    assert len(lines) == distinct_tensors(loss) == 11
    text = "\n".join(lines)
    for op in ("MatMul", "Add", "ReLU", "Mul", "Mean", "Sum"):
        assert op in text
    assert lines[0].startswith("#0 x = param") and "grad mean" in lines[0]
    assert lines[-1].startswith(f"#{len(lines) - 1} Add(") and f"value {loss.item():.4g}" in lines[-1]
    assert "Mul(#5, #5)" in text and "Mul(#8)" in text   # h * h: the same input twice; sum * 0.1


def test_nodes_cover_every_distinct_tensor_in_topological_order(rng):
    loss, known = small_expression()
    nodes = viz.graph_nodes(loss)
    assert len(nodes) == len({id(t) for t in nodes}) == distinct_tensors(loss)
    assert all(k in {id(t) for t in nodes} for k in known)
    index = {id(t): i for i, t in enumerate(nodes)}
    for t in nodes:
        assert all(index[id(p)] < index[id(t)] for p in t._parents if p is not None)


def test_draw_graph_writes_a_png(tmp_path, rng):
    import matplotlib.figure
    loss, _ = small_expression()
    loss.backward()
    path = tmp_path / "graph.png"
    fig = viz.draw_graph(loss, path=path)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    boxes = [p for p in fig.axes[0].patches]
    assert len(boxes) == distinct_tensors(loss)


def test_draw_graph_into_given_axes_and_truncated(rng):
    from matplotlib.figure import Figure
    y = mg.randn(3, requires_grad=True)
    for _ in range(30):
        y = y * 1.5
    fig = Figure()
    ax = fig.add_subplot()
    assert viz.draw_graph(y, ax=ax, max_nodes=10) is fig
    assert len(ax.patches) == 10
    assert any("21 more nodes" in t.get_text() for t in ax.texts)


def test_a_leaf_alone_and_integer_data():
    t = mg.tensor([1, 2, 3])
    assert viz.summarize_graph(t) == "#0 leaf               (3,) int64  min 1 max 3"
    fig = viz.draw_graph(mg.tensor(2.0, requires_grad=True))
    assert len(fig.axes[0].patches) == 1


def test_importing_viz_does_not_import_matplotlib():
    code = "import minigrad, minigrad.viz, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
