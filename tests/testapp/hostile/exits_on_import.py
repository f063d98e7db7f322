"""Calls sys.exit() while it is imported, as a script written for ``python file.py`` does."""

from __future__ import annotations

import sys

sys.exit(7)
