"""The scanner of the whole-run secrets check (tests/log_scan.py) finds each kind of secret, so
that check fails when one reaches a log, and passes over masked values and ordinary lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.redaction import redact_text
from tests.log_scan import find_secrets, scan_logs

PASSWORD = "Correct-Horse-42!"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (f'{{"message": "login", "body": "{PASSWORD}"}}', "a test secret"),
        (f'{{"message": "verified {JWT}"}}', "a JWT"),
        ('{"message": "sent Bearer abc.def-ghi"}', "a bearer credential"),
        ("GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjpwYXNz\r\n", "an Authorization value"),
        ('{"headers": {"authorization": "Basic dXNlcjpwYXNz"}}', "an Authorization value"),
    ],
)
def test_each_kind_of_secret_is_found(line: str, kind: str) -> None:
    found = find_secrets(line, [PASSWORD])

    assert any(hit.startswith(kind) for hit in found), found


@pytest.mark.parametrize(
    "line",
    [
        '{"message": "ledger operation", "kind": "deposit", "request_id": "r-1", "user": "a"}',
        '{"headers": {"authorization": "[REDACTED]"}, "message": "Bearer [REDACTED]"}',
        "Send a bearer access token in the Authorization header.",
        "access-control-allow-headers: Authorization, Content-Type",
    ],
)
def test_masked_values_and_ordinary_lines_are_not_secrets(line: str) -> None:
    assert find_secrets(line, [PASSWORD]) == []


def test_what_the_redaction_leaves_of_a_secret_is_not_found() -> None:
    raw = f"Authorization: Bearer {JWT} password='{PASSWORD}' token={JWT}"

    assert find_secrets(raw, [PASSWORD]) != []
    assert find_secrets(redact_text(raw), [PASSWORD]) == []


def test_every_file_under_the_roots_is_scanned(tmp_path: Path) -> None:
    (tmp_path / "logs" / "serve").mkdir(parents=True)
    (tmp_path / "logs" / "serve" / "replica.log").write_text(f"ok\ntoken {JWT}\n")
    (tmp_path / "logs" / "worker-1.err").write_bytes(b"\xff clean line\n")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "moto.log").write_text(f"login {PASSWORD}\n")

    found = scan_logs([tmp_path / "logs", tmp_path / "run"], [PASSWORD])

    assert set(found) == {
        tmp_path / "logs" / "serve" / "replica.log",
        tmp_path / "run" / "moto.log",
    }
    assert all(PASSWORD not in hit for hits in found.values() for hit in hits)
