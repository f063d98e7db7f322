"""How the work reaches the code. One driver a way in, behind the :class:`Driver` protocol:

- ``fullstack``: Django's handler, every middleware (``profile_view``'s default, replay);
- ``direct``: the view alone, as a RequestFactory script calls it (``--direct``);
- ``asgi``: Django's ASGI handler or the project's ASGI_APPLICATION (``--asgi``);
- ``call``: an importable callable (``profile_call``, ``lineprof --call``);
- ``command``: a management command (``profile_command``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from django_profilecmds.drivers.base import Driver, Outcome, view_is_async

if TYPE_CHECKING:
    from django.urls.resolvers import ResolverMatch

    from django_profilecmds.choices import DriverName
    from django_profilecmds.users import Identity

__all__ = ["HARNESS_FILES", "Driver", "Outcome", "request_driver", "view_is_async"]

# The drivers' own files: a query's origin walk ends at their frames, which are not the
# project's code however the project is installed. Spelt as this file's own name is (a frame's
# file is the path the module was imported by, "/./" and all), not tidied up.
MODULES = ("__init__", "base", "fullstack", "direct", "asgi", "call", "command")
HARNESS_FILES = frozenset(os.path.join(os.path.dirname(__file__), f"{m}.py") for m in MODULES)


def request_driver(
    name: DriverName, match: ResolverMatch, identity: Identity | None, enforce_csrf: bool = False
) -> Driver:
    """The driver that sends a request to the view of ``match`` the way ``name`` says."""
    if name == "direct":
        from django_profilecmds.drivers.direct import DirectDriver

        return DirectDriver(match, identity)
    if name == "asgi":
        from django_profilecmds.drivers.asgi import AsgiDriver

        return AsgiDriver(enforce_csrf)
    from django_profilecmds.drivers.fullstack import FullStackDriver

    return FullStackDriver(view_is_async(match))
