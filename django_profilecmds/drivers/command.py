"""Another management command, through ``call_command``, its output captured."""

from __future__ import annotations

import sys
import traceback

from django.http import HttpRequest

from django_profilecmds.collectors import Observer
from django_profilecmds.drivers.base import Outcome

# Commands that serve or wait for a person, never returning on their own.
NEVER_RETURN = frozenset(
    {"runserver", "testserver", "shell", "dbshell", "runserver_plus", "shell_plus", "runworker"}
)


class CommandDriver:
    """Another management command, through ``call_command``, its output captured."""

    name = "command"
    description = "management command"

    def __init__(self, name: str, args: list[str]) -> None:
        from django.core.management import get_commands

        from django_profilecmds.exceptions import InvalidOption

        commands = get_commands()
        if name not in commands:
            import difflib

            close = difflib.get_close_matches(name, list(commands), n=3)
            hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise InvalidOption(f"Unknown management command {name!r}.{hint}")
        if name in NEVER_RETURN or name.startswith("profile_") or name == "lineprof":
            raise InvalidOption(
                f"profile_command cannot profile {name!r}: it "
                + ("never returns." if name in NEVER_RETURN else "is a profiling command itself.")
            )
        self.command = name
        self.args = args

    def execute(self, request: HttpRequest | None, observer: Observer) -> Outcome:
        """Run the command once. A prompt fails at once: :class:`InteractiveInput`."""
        import io

        from django.core.management import call_command
        from django.core.management.base import CommandError

        from django_profilecmds.prompts import (
            InputNotAvailable,
            command_asked_for_input,
            no_interactive_input,
        )

        stdout, stderr = io.StringIO(), io.StringIO()
        error = None
        observer.start(sys._getframe())
        try:
            with no_interactive_input():
                call_command(self.command, *self.args, stdout=stdout, stderr=stderr)
        except InputNotAvailable as exc:
            raise command_asked_for_input(self.command, exc) from exc
        except CommandError as exc:
            error = f"CommandError: {exc}"
        except SystemExit as exc:
            error = f"The command exited with status {exc.code}." if exc.code else None
        except Exception:
            error = traceback.format_exc()
        finally:
            observer.stop()
        output = {"stdout": stdout.getvalue(), "stderr": stderr.getvalue()}
        lines = output["stdout"].count("\n")
        finished = f"finished with {lines} line{'' if lines == 1 else 's'} of output"
        return Outcome(None, 0, error, returned=finished, output=output)
