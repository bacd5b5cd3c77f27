"""The lessons: percent-format scripts (``# %%`` cells) that teach one idea each.

Run one as a plain script, e.g. ``python lessons/01_autograd.py``; ``lessons/README.md`` is the index.
"""
