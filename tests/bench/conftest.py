"""The bench is not installed: its package is found at the checkout's root, after every
installed one (so that none of those is read from the tree instead)."""

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2]))
