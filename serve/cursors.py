"""Opaque pagination cursors, signed and bound to the user they were issued to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

from serve.problems import Problem


class CursorCodec:
    """Encode a position (a sequence number) for one user; refuse tampered or foreign cursors."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("cursor:" + secret).encode()).digest()

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:32]

    def encode(self, username: str, seq: int) -> str:
        """A cursor for the page that starts below ``seq``."""
        payload = json.dumps({"u": username, "s": seq}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload).decode().rstrip("=") + "." + self._sign(payload)

    def decode(self, username: str, cursor: str) -> int:
        """The sequence number in ``cursor``; 400 if it is malformed or not this user's."""
        try:
            encoded, signature = cursor.split(".", 1)
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            data = json.loads(payload)
            valid = hmac.compare_digest(signature, self._sign(payload)) and data["u"] == username
            seq = int(data["s"])
        except (ValueError, KeyError, TypeError):
            valid, seq = False, 0
        if not valid or seq < 1:
            raise Problem(400, "validation_error", "Bad cursor", "The cursor is not valid here.")
        return seq
