"""The lessons: percent-format scripts (``# %%`` cells) that teach one idea each.

Run one as a plain script, e.g. ``python lessons/01_autograd.py``, or through
``python -m lessons`` (list, run, run --step, export; check grades the exercises, see
``lessons/cli.py``). ``lessons/README.md`` is the index.
"""
