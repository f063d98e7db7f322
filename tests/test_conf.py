from __future__ import annotations

from django.core.checks import run_checks
from django.test import override_settings

from django_profilecmds.conf import get_settings


def check_ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("profilecmds")}


def test_defaults_and_override():
    assert get_settings()["OUTPUT_DIR"] == "profiles"
    with override_settings(PROFILECMDS={"OUTPUT_DIR": "/tmp/p"}):
        assert get_settings()["OUTPUT_DIR"] == "/tmp/p"
        assert check_ids() == set()
    assert get_settings()["OUTPUT_DIR"] == "profiles"


def test_system_checks_report_bad_settings():
    with override_settings(PROFILECMDS=["not", "a", "dict"]):
        assert check_ids() == {"profilecmds.E001"}
    with override_settings(PROFILECMDS={"OUTPUTDIR": "x"}):
        assert check_ids() == {"profilecmds.E002"}
    with override_settings(PROFILECMDS={"INTERVAL": "fast"}):
        assert check_ids() == {"profilecmds.E003"}
    with override_settings(PROFILECMDS={"PROFILER": "yappi"}):
        assert check_ids() == {"profilecmds.E004"}
