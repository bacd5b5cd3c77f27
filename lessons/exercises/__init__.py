"""Exercises: stubs to complete (``exNN_*.py``), reference solutions (``solutions/``), and the
grader (``python -m lessons check exNN``; see ``grader.py``).

Each stub states the task, the formula, the shapes and a hint in its docstring, and has
``raise NotImplementedError`` where your code goes. The list, with the lesson that teaches each
exercise, is in ``checks/__init__.py`` (``EXERCISES``) and in ``lessons/README.md``.
"""
