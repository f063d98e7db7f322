"""Raises while it is imported, as a module with a broken setting check would."""

from __future__ import annotations

SETTINGS_URL = "https://api.example.com/?token=not-for-the-terminal"

raise ValueError(f"cannot reach {SETTINGS_URL}")
