"""Pagination cursors: opaque, signed, bound to the user they were issued to."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serve.cursors import CursorCodec
from serve.problems import Problem

codec = CursorCodec("a-test-secret-of-at-least-32-characters!")


def b64(data: object) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assert_bad_cursor(username: str, cursor: str) -> None:
    with pytest.raises(Problem) as problem:
        codec.decode(username, cursor)
    assert (problem.value.status, problem.value.code) == (400, "validation_error")
    assert cursor not in problem.value.detail or not cursor


@given(st.text(min_size=1, max_size=30), st.integers(min_value=1, max_value=10**12))
def test_a_cursor_decodes_to_the_position_it_was_issued_for(username: str, seq: int) -> None:
    assert codec.decode(username, codec.encode(username, seq)) == seq


def test_a_cursor_is_url_safe_and_does_not_spell_the_username_in_clear() -> None:
    cursor = codec.encode("alice_01", 42)

    assert "alice_01" not in cursor
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_another_users_cursor_is_refused() -> None:
    assert_bad_cursor("mallory", codec.encode("alice_01", 42))


def test_a_cursor_with_a_changed_position_is_refused() -> None:
    _, signature = codec.encode("alice_01", 42).split(".")

    assert_bad_cursor("alice_01", b64({"u": "alice_01", "s": 41}) + "." + signature)


def test_a_cursor_with_a_changed_signature_is_refused() -> None:
    encoded, signature = codec.encode("alice_01", 42).split(".")
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]

    assert_bad_cursor("alice_01", encoded + "." + flipped)


def test_a_cursor_signed_with_another_secret_is_refused() -> None:
    foreign = CursorCodec("another-secret-of-at-least-32-characters").encode("alice_01", 42)

    assert_bad_cursor("alice_01", foreign)


def test_a_cursor_for_position_zero_or_below_is_refused_even_when_signed() -> None:
    assert_bad_cursor("alice_01", codec.encode("alice_01", 0))
    assert_bad_cursor("alice_01", codec.encode("alice_01", -5))


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "abc",
        "a.b",
        "....",
        "%%%.sig",
        "é.é",
        b64([1, 2]) + ".sig",
        b64("text") + ".sig",
        b64({"u": "alice_01"}) + ".sig",
        b64({"u": "alice_01", "s": "x"}) + ".sig",
        base64.urlsafe_b64encode(b"\xff\xfe").decode() + ".sig",
    ],
)
def test_a_malformed_cursor_is_a_bad_request(cursor: str) -> None:
    assert_bad_cursor("alice_01", cursor)


@given(st.text(max_size=80))
def test_no_string_makes_decoding_fail_other_than_with_a_bad_request(cursor: str) -> None:
    try:
        codec.decode("alice_01", cursor)
    except Problem as problem:
        assert problem.status == 400
