"""``python -m lessons``: see ``lessons/cli.py``."""
import sys

from lessons.cli import main

sys.exit(main())
