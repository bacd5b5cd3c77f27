"""What every check uses: fresh random inputs, and the backward check of a student's Function."""
import numpy as np

import minigrad as mg
from minigrad.autograd import Context
from minigrad.errors import GradcheckError
from lessons.exercises.compare import CheckFailed, as_array, expect_close

__all__ = ["need", "nonzero", "positive", "shapes", "check_backward", "gradcheck_op",
           "gradcheck_fn", "leaf"]


def need(module, name):
    """``module.name``, or CheckFailed saying the file lacks it."""
    if not hasattr(module, name):
        raise CheckFailed(f"your file has no `{name}`: keep the names the stub gives "
                          "(the grader calls them)")
    return getattr(module, name)


def nonzero(rng, shape, low=0.5, high=2.0):
    """Random float64 values with |x| in [low, high] and a random sign: never zero."""
    magnitude = rng.uniform(low, high, size=shape)
    return np.where(rng.random(size=shape) < 0.5, -magnitude, magnitude)


def positive(rng, shape, low=0.5, high=2.0):
    return rng.uniform(low, high, size=shape)


def shapes(names, arrays):
    """'a (2, 3), b (3,)' — how a case is named in messages."""
    return ", ".join(f"{n} {tuple(np.shape(a))}" for n, a in zip(names, arrays))


def leaf(x):
    return mg.tensor(np.array(x, dtype=np.float64), dtype=mg.float64, requires_grad=True)


def check_backward(op, inputs, names, grad_of, reference, case, rng, hint, variants=None):
    """Check the student's ``op.backward`` on one case; returns nothing or raises CheckFailed.

    Runs ``op.forward`` (given in the stub) on ``inputs``, then ``op.backward`` with a random
    upstream gradient g (never zeros), and compares each gradient named in ``grad_of`` with the
    one minigrad's autograd computes for ``reference(*inputs)``. ``variants(g)`` returns
    {input name: {"what a known mistake does": the array it gives}} for the messages.
    """
    ctx = Context()
    ctx.needs_input_grad = tuple(name in grad_of for name in names)
    out = as_array(f"{op.__name__}.forward's output", op.forward(ctx, *inputs), case)
    g = nonzero(rng, out.shape)
    leaves = [leaf(x) if name in grad_of else x for name, x in zip(names, inputs)]
    expected = reference(*leaves)
    expect_close(f"{op.__name__}.forward's output", out, expected.numpy(), case,
                 "the forward pass is given in the stub: restore it as it was")
    expected.backward(g)
    grads = op.backward(ctx, g.copy())
    grads = tuple(grads) if isinstance(grads, (tuple, list)) else (grads,)
    if len(grads) != len(inputs):
        others = [n for n in names if n not in grad_of]
        rest = f" (None for {', '.join(others)})" if others else ""
        raise CheckFailed(f"{op.__name__}.backward returned {len(grads)} value(s), but forward "
                          f"takes {len(inputs)} inputs ({', '.join(names)}): return one "
                          f"gradient per input, in that order{rest}", hint)
    known = variants(g) if variants else {}
    for name, x, got in zip(names, leaves, grads):
        if name in grad_of:
            expect_close(f"the gradient for {name}", got, x.grad, case, hint, known.get(name),
                         out_shape=out.shape)


def gradcheck_fn(fn, leaves, case, name):
    """mg.gradcheck of ``fn`` at ``leaves`` (float64), a failure reported as CheckFailed."""
    fn.__name__ = name
    try:
        mg.gradcheck(fn, *leaves)
    except GradcheckError as error:
        raise CheckFailed(f"mg.gradcheck (finite differences in float64) disagrees with your "
                          f"backward for {case}:\n  {error}") from None


def gradcheck_op(op, inputs, names, grad_of, case):
    """mg.gradcheck of ``op.apply`` on one case: your backward, run by minigrad's engine."""
    leaves = [leaf(x) if name in grad_of else x for name, x in zip(names, inputs)]
    gradcheck_fn(lambda *xs: op.apply(*xs), leaves, case, f"{op.__name__}.apply")
