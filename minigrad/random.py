"""One random generator for the whole framework: init, dropout, sampling and data shuffling.

``mg.manual_seed(s)`` resets it, so one seed makes a run repeatable.

>>> import minigrad as mg
>>> _ = mg.manual_seed(0); a = mg.randn(3)
>>> _ = mg.manual_seed(0); b = mg.randn(3)
>>> bool((a.data == b.data).all())
True
"""
import numpy as np

__all__ = ["manual_seed", "generator", "get_rng_state", "set_rng_state"]

_generator = np.random.default_rng()


def manual_seed(seed):
    """Reset the framework's generator to ``seed``; returns the generator."""
    global _generator
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    """The ``numpy.random.Generator`` every random draw in minigrad uses."""
    return _generator


def get_rng_state():
    """The generator's state as a JSON-able dict (for checkpoints that resume exactly)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a state from ``get_rng_state()``."""
    _generator.bit_generator.state = state
