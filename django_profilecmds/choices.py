"""The fixed sets of values that options and settings take.

Free of imports, so that the run's description (``spec``) and the settings' system checks
(``conf``) both read them without either importing the other.
"""

from __future__ import annotations

from typing import Literal

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PROFILERS = ("pyinstrument", "cprofile", "none")
DRIVERS = ("full", "direct", "asgi")

Profiler = Literal["pyinstrument", "cprofile", "none"]
DriverName = Literal["full", "direct", "asgi"]
