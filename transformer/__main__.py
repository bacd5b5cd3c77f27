"""``python -m transformer <command>``: see ``transformer.cli``."""
import sys

from .cli import main

sys.exit(main())
