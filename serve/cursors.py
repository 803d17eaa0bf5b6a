"""Opaque pagination cursors, signed and bound to the user they were issued to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from serve.problems import Problem


class CursorCodec:
    """Encode a position (a sequence number or an id) for one user; refuse tampered or foreign
    cursors with 400."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("cursor:" + secret).encode()).digest()

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:32]

    def encode(self, username: str, position: int | str) -> str:
        """A cursor for the page that starts after ``position`` (a sequence number or an id)."""
        payload = json.dumps({"u": username, "s": position}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)

    def _position(self, username: str, cursor: str) -> object:
        try:
            encoded, signature = cursor.split(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            data = json.loads(payload)
            if hmac.compare_digest(signature, self._sign(payload)) and data["u"] == username:
                return data["s"]
        except (ValueError, KeyError, TypeError):
            pass
        raise _bad_cursor()

    def decode(self, username: str, cursor: str) -> int:
        """The sequence number in ``cursor``; 400 if it is malformed or not this user's."""
        seq = self._position(username, cursor)
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise _bad_cursor()
        return seq

    def decode_id(self, username: str, cursor: str) -> str:
        """The id in ``cursor``; 400 if it is malformed or not this user's."""
        position = self._position(username, cursor)
        if not isinstance(position, str) or not position:
            raise _bad_cursor()
        return position


def _bad_cursor() -> Problem:
    return Problem(400, "validation_error", "Bad cursor", "The cursor is not valid here.")
