"""Comparing a student's array with the expected one, and saying what is wrong in words.

``expect_close`` raises ``CheckFailed`` with a message that names the quantity, the case (the
shapes of the inputs), the worst element (index, expected, got) and, where it can tell, the
likely mistake: a gradient left at the broadcast shape, a wrong sign or scale, a transpose, a
shift by one, the right numbers in the wrong places, or one of the exercise's known mistakes
(``variants``: arrays that a specific error would produce).
"""
import numpy as np

from minigrad.broadcast import unbroadcast
from minigrad.tensor import Tensor

__all__ = ["CheckFailed", "as_array", "expect_close", "RTOL", "ATOL"]

RTOL, ATOL = 1e-5, 1e-7


class CheckFailed(AssertionError):
    """A check found a wrong answer; the message says what is wrong, and ``hint`` what to try."""

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


def _index(index):
    """(1, 2) as '(1, 2)', (3,) as '(3,)', () as '()'."""
    return str(tuple(int(i) for i in index))


def as_array(what, value, case=""):
    """``value`` (array, Tensor, number, nested list) as a float64 array, or CheckFailed."""
    where = f"with {case}:\n" if case else ""
    if value is None:
        raise CheckFailed(f"{where}{what} is None: your code returned nothing there",
                          "end the function with `return ...`")
    if isinstance(value, Tensor):
        value = value.numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise CheckFailed(f"{where}{what} is a {type(value).__name__}, not an array of numbers")
    return array


def _close(a, b):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=RTOL, atol=ATOL))


def _shape_diagnosis(got, expected, out_shape):
    if out_shape is not None and got.shape == tuple(out_shape) and got.shape != expected.shape:
        try:
            summed = unbroadcast(got, expected.shape)
        except ValueError:
            summed = None
        right = ("; summed, your values would be right" if summed is not None
                 and _close(summed, expected) else "")
        return (f"it has the output's shape: this input was broadcast to {got.shape}, so its "
                f"gradient must be summed over the broadcast axes back to {expected.shape} "
                f"(minigrad.broadcast.unbroadcast(grad, {expected.shape})){right}")
    if got.shape == expected.shape[::-1] and got.ndim > 1:
        return "the shape is reversed: a transpose too many (or too few)?"
    if got.size == expected.size:
        return "the same number of elements in another shape: check your reshape"
    return None


def _value_diagnoses(got, expected):
    """Generic explanations of a same-shape mismatch, most specific first."""
    found = []
    if not np.any(got):
        found.append("your result is all zeros")
    elif _close(got, -expected):
        found.append("your result has the wrong sign everywhere")
    else:
        big = np.abs(expected) > 1e-6
        if big.any():
            ratio = got[big] / expected[big]
            if (ratio.flat[0] != 0 and np.allclose(ratio, ratio.flat[0], rtol=1e-4)
                    and _close(got, ratio.flat[0] * expected)):
                k = float(ratio.flat[0])
                inverse = f" (= 1/{1 / k:.6g})" if abs(k) < 1 else ""
                found.append(f"your result is {k:.6g}{inverse} × the expected one everywhere: "
                             "a wrong scale factor (a missing or extra division by a size, "
                             "√d, or 2?)")
    if got.ndim >= 2 and got.shape[-1] == got.shape[-2] and _close(np.swapaxes(got, -1, -2), expected):
        found.append("your result is the transpose of the expected one (last two axes swapped)")
    for axis in range(got.ndim):
        if got.shape[axis] < 3:
            continue
        head = [slice(None)] * got.ndim
        tail = [slice(None)] * got.ndim
        head[axis], tail[axis] = slice(1, None), slice(None, -1)
        for a, b, direction in ((head, tail, "later"), (tail, head, "earlier")):
            if np.allclose(got[tuple(a)], expected[tuple(b)], rtol=RTOL, atol=ATOL):
                found.append(f"your values are shifted one position {direction} along axis "
                             f"{axis}: an off-by-one in an index or a range")
    if not found and got.size > 1 and np.allclose(np.sort(got, axis=None),
                                                  np.sort(expected, axis=None), rtol=RTOL, atol=ATOL):
        found.append("you have the right numbers in the wrong places: check the order of your "
                     "reshape/transpose (or which axis you index)")
    return found


def expect_close(what, got, expected, case="", hint=None, variants=None, out_shape=None):
    """Raise CheckFailed unless ``got`` ≈ ``expected`` (rtol 1e-5, atol 1e-7).

    what: the quantity, e.g. "the gradient for b"; case: the inputs, e.g. "a (2, 3), b (3,)";
    variants: {"description of a mistake": the array it would give}; out_shape: the forward
    output's shape, when ``got`` is the gradient of an input that may have been broadcast.
    """
    got = as_array(what, got, case)
    expected = np.asarray(expected, dtype=np.float64)
    where = f"with {case}:\n" if case else ""
    if got.shape != expected.shape:
        why = _shape_diagnosis(got, expected, out_shape)
        raise CheckFailed(f"{where}{what} has shape {got.shape}, expected {expected.shape}"
                          + (f"\n{why}" if why else ""), hint)
    if not np.isfinite(got).all():
        bad = np.argwhere(~np.isfinite(got))[0]
        raise CheckFailed(f"{where}{what} contains {got[tuple(bad)]} at index {_index(bad)} "
                          f"(expected {expected[tuple(bad)]:.6g})\na division by zero, or the "
                          "log/exp of something out of range?", hint)
    if _close(got, expected):
        return got
    error = np.abs(got - expected)
    wrong = error > ATOL + RTOL * np.abs(expected)
    worst = np.unravel_index(np.argmax(error), got.shape) if got.ndim else ()
    if got.size == 1:
        message = f"{where}{what} is wrong: expected {expected[worst]:.6g}, got {got[worst]:.6g}"
    else:
        message = (f"{where}{what} is wrong: {int(wrong.sum())} of {got.size} elements differ; "
                   f"worst at index {_index(worst)}: expected {expected[worst]:.6g}, "
                   f"got {got[worst]:.6g}")
    named = [text for text, variant in (variants or {}).items()
             if np.shape(variant) == got.shape and _close(got, np.asarray(variant, np.float64))]
    if named:
        message += f"\nthis is exactly what you get when {named[0]}"
        message += "".join(f"\n(or when {text})" for text in named[1:])
    elif got.size > 1:
        message += "".join(f"\n{text}" for text in _value_diagnoses(got, expected))
    raise CheckFailed(message, hint)
