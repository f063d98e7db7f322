"""Redaction never raises, whatever it is given, and a planted secret never survives it."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from django_profilecmds.reports.redact import MASK, Redactor

SAFE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Secrets: never an asterisk (the mask), long enough to be masked inside any text.
secret_text = st.text(
    alphabet=st.characters(blacklist_characters="*", blacklist_categories=["Cs"]),
    min_size=6,
    max_size=40,
).filter(lambda s: s.strip() == s and s.strip())
token = st.text(alphabet=string.ascii_letters + string.digits + "-_.~", min_size=1, max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
SENSITIVE = ["password", "api_key", "X-Auth", "otp", "Authorization", "session_token", "pwd"]


@SAFE
@given(st.text(), st.lists(st.text(max_size=20), max_size=3))
def test_text_never_raises(text, values):
    redactor = Redactor(values)
    assert isinstance(redactor.text(text), str)
    assert isinstance(redactor.text(json.dumps(text)[1:-1], json_encoded=True), str)
    assert isinstance(redactor.json_text(text), str)


# Secrets that no line break can split (plan() masks line by line).
one_line_secret = st.text(
    alphabet=string.ascii_letters + string.digits + "-_.~!@#$%^&()[]{}<>|/\\'\" ", min_size=6
).filter(lambda s: s.strip() == s)


@SAFE
@given(st.binary(), one_line_secret)
def test_bytes_decoded_any_way_keep_no_planted_value(data, secret):
    redactor = Redactor([secret])
    for text in (data.decode("utf-8", "replace"), data.decode("latin-1")):
        assume(secret not in text)
        middle = len(text) // 2
        planted = text[:middle] + secret + text[middle:]
        assert secret not in redactor.text(planted)
        assert secret not in redactor.json_text(planted)
        assert not any(secret in line for line in redactor.plan(planted.splitlines()))
        assert redactor.sql(text).count("\n") == text.count("\n")  # masks values, not lines


@SAFE
@given(json_values)
def test_data_never_raises_and_stays_json(value):
    clean = Redactor(["abcdef"]).data(value)
    json.dumps(clean)


@SAFE
@given(st.text(), secret_text, st.text())
def test_a_known_value_never_survives_text(before, secret, after):
    assume(secret not in before and secret not in after)
    masked = Redactor([secret]).text(before + secret + after)
    assert secret not in masked


@SAFE
@given(json_values, secret_text)
def test_a_known_value_never_survives_a_document(value, secret):
    document = {"wrapper": [value, f"around {secret} it", {"deep": secret}], "k": secret}
    assume(secret not in json.dumps(value))
    clean = Redactor([secret]).data(document)
    assert secret not in json.dumps(clean)
    assert secret not in json.dumps(clean, ensure_ascii=False)


@SAFE
@given(json_values, st.sampled_from(SENSITIVE), token)
def test_a_value_under_a_sensitive_key_never_survives(value, name, secret):
    secret = f"Z{secret}Z"
    assume(secret not in json.dumps(value))
    document = {"outer": [value, {name: secret}], "list": {name: [secret]}}
    clean = Redactor().data(document)
    assert secret not in json.dumps(clean)
    # The same document as a body's JSON text, and embedded as text in another string.
    assert secret not in Redactor().json_text(json.dumps(document))
    assert secret not in json.dumps(Redactor().data({"body": json.dumps(document)}))


@SAFE
@given(st.text(), st.sampled_from(SENSITIVE), token, st.sampled_from(["&", " ", "?", ";", "\n"]))
def test_a_pair_under_a_sensitive_name_never_survives(before, name, secret, separator):
    secret = f"Z{secret}Z"
    assume(secret not in before)
    for text in (
        f"{before}{separator}{name}={secret}&page=2",
        f'{before}{separator}"{name}": "{secret}", "n": 1',
        f"{before}{separator}'{name}': '{secret}'",
        f'{before}{separator}{{"name": "{name}", "value": "{secret}"}}',
    ):
        assert secret not in Redactor().text(text)
        assert secret not in json.dumps(Redactor().data({"line": text}))


KEYS = [
    "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2",
    "ghp_" + "A" * 36,
    "AKIA" + "ABCDEFGHIJKLMNOP",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl",
    "xoxb-" + "1234567890-abcdefghij",
    "pbkdf2_sha256$600000$salt$hashhashhash=",
]


@SAFE
@given(st.text(), st.sampled_from(KEYS), st.sampled_from([" ", "\n", '"', "'", "(", ":"]))
def test_well_known_key_formats_never_survive(before, key, separator):
    assume(key not in before)
    text = f"{before}{separator}{key}{separator}tail"
    assert key not in Redactor().text(text)
    assert key not in json.dumps(Redactor().data({"message": text, "list": [text]}))
    assert MASK in Redactor().text(text)


# The replay's readers: whatever a file holds, a SourceError or requests and problems.
har_entries = st.lists(
    st.dictionaries(
        st.sampled_from(["request", "response", "startedDateTime"]),
        json_values
        | st.fixed_dictionaries(
            {},
            optional={
                "method": json_values | st.sampled_from(["GET", "POST"]),
                "url": json_values | st.just("http://testserver/books/?token=Zsecret"),
                "headers": json_values
                | st.lists(st.fixed_dictionaries({"name": json_values, "value": json_values})),
                "queryString": json_values,
                "cookies": json_values,
                "postData": json_values,
            },
        ),
    ),
    max_size=4,
)


def _read_all(data: bytes, format: str | None) -> tuple[str, int, int, list[str]]:
    """Read ``data`` as a replay source: its error (or ""), how many requests and skipped
    lines it gave, and the requests' paths."""
    import tempfile
    from pathlib import Path

    from django_profilecmds.replay.sources import SourceError, open_source

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "traffic"
        path.write_bytes(data)
        try:
            source = open_source(path, format)
            requests = list(source)
        except SourceError as exc:
            return str(exc), 0, 0, []
        return "", len(requests), source.problem_count, [request.path for request in requests]


@SAFE
@given(st.binary(max_size=2000), st.sampled_from([None, "combined", "jsonl", "har"]))
def test_replay_readers_take_any_bytes(data, format):
    error, _requests, _skipped, paths = _read_all(data, format)
    assert "\n" not in error.strip()  # a one-line error, or requests
    assert all(path.startswith("/") for path in paths)


@SAFE
@given(st.lists(json_values, max_size=5), st.sampled_from([None, "jsonl"]))
def test_replay_readers_take_any_json_lines(lines, format):
    error, requests, skipped, _paths = _read_all(
        "\n".join(json.dumps(line) for line in lines).encode(), format
    )
    assert "\n" not in error.strip()
    if not error:  # every line is a request or a skipped line, none lost
        assert requests + skipped == len(lines)


@SAFE
@given(har_entries)
def test_replay_readers_take_any_har_document(entries):
    document = json.dumps({"log": {"version": "1.2", "entries": entries}}).encode()
    for format in (None, "har"):
        error, requests, skipped, _paths = _read_all(document, format)
        assert not error
        assert requests + skipped == len(entries)  # each entry replayed or counted as skipped
