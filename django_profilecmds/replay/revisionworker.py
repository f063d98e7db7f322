"""One side of an A/B replay: a fresh interpreter with one revision's code first on its path,
replaying the requests its parent sends, one at a time, in its own sandbox.

Started by :mod:`.against` as ``python -c BOOT CONFIG``: forked processes share the parent's
imported code, and B's code must be imported from B's tree. The protocol is JSON lines: the
parent writes ``{"request": {...}}`` on the worker's stdin, the worker answers each on the
pipe that was its stdout (``ready`` once the sandbox is entered; then ``wall``, ``cpu``,
``db``, ``status``, ``error``, ``view``, or ``skipped``; ``failure`` if it cannot go on).
Whatever the project prints goes to stderr, never into the protocol. The worker ends when its
stdin ends, which is also when the parent ends however it ends.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import IO, Any

# The interpreter's first code: the revision's path, then this module.
BOOT = (
    "import json, sys; config = json.loads(sys.argv[1]); sys.path[:] = config['path']; "
    "from django_profilecmds.replay.revisionworker import main; main(config)"
)


def main(config: dict[str, Any]) -> None:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # the project's prints and its C libraries' go to stderr
    sys.stdout = sys.stderr
    try:
        _serve(config, protocol)
    except BaseException as exc:
        from django_profilecmds.exceptions import ProfileCmdsError

        failure = str(exc) if isinstance(exc, ProfileCmdsError) else traceback.format_exc()
        _answer(protocol, {"failure": failure})
    finally:
        protocol.close()


def _serve(config: dict[str, Any], protocol: IO[str]) -> None:
    import django
    from django.conf import settings

    # The same database as the other side: a tree's settings may name a file inside it.
    for alias, name in config["databases"].items():
        if alias in settings.DATABASES:
            settings.DATABASES[alias]["NAME"] = name
    django.setup()
    from django.db import connections

    from django_profilecmds.replay.engine import Replayer
    from django_profilecmds.replay.options import ReplayOptions
    from django_profilecmds.replay.recorded import ReplayRequest

    options = ReplayOptions(**config["options"])
    # One transaction per request: SQLite lets one writer at a time, and both sides write.
    short = any(connections[alias].vendor == "sqlite" for alias in connections)
    replayer = Replayer(options, 0, short)
    with replayer.session():
        _answer(protocol, {"ready": True})
        for line in sys.stdin:
            request = ReplayRequest(**json.loads(line)["request"])
            sample = replayer.replay_request(request)
            if sample is None:
                _answer(protocol, {"skipped": True})
                continue
            _answer(
                protocol,
                {
                    "wall": sample.wall,
                    "cpu": sample.cpu,
                    "db": sample.db_time,
                    "queries": sample.queries,
                    "status": sample.status,
                    "error": sample.error,
                    "view": sample.view,
                },
            )
    connections.close_all()


def _answer(protocol: IO[str], message: dict[str, Any]) -> None:
    protocol.write(json.dumps(message) + "\n")
    protocol.flush()
