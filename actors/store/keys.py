"""Key builders for the DynamoDB table and the Redis cache: the only place keys are spelled."""

from __future__ import annotations

SEQ_WIDTH = 12


def user_pk(username: str) -> str:
    """The partition holding everything of one user."""
    return f"USER#{username}"


def event_sk(seq: int) -> str:
    """The sort key of event ``seq`` in the user's log (zero padded, so it sorts numerically)."""
    return f"EVENT#{seq:0{SEQ_WIDTH}d}"


def transaction_sk(seq: int) -> str:
    """The sort key of the cash transaction recorded by event ``seq``."""
    return f"TX#{seq:0{SEQ_WIDTH}d}"


def seq_of(sort_key: str) -> int:
    """The sequence number in an ``EVENT#`` or ``TX#`` sort key."""
    return int(sort_key.rsplit("#", 1)[1])


PROFILE_SK = "PROFILE"
BALANCE_SK = "BALANCE"
SNAPSHOT_SK = "SNAPSHOT"
EVENT_PREFIX = "EVENT#"
TX_PREFIX = "TX#"
EMAIL_SK = "EMAIL"


def email_pk(email: str) -> str:
    """The item that makes an email address unique across users."""
    return f"EMAIL#{email.lower()}"


ASSET_SK = "ASSET"


def asset_pk(asset_id: str) -> str:
    """The item of one asset in the catalogue."""
    return f"ASSET#{asset_id}"


def balance_cache_key(username: str) -> str:
    """Redis hash holding the versioned balance view."""
    return f"op:balance:{username}"


def transactions_cache_key(username: str) -> str:
    """Redis hash holding the versioned window of recent transactions."""
    return f"op:tx:{username}"


def events_channel(username: str) -> str:
    """Redis pub/sub channel of one user's live events."""
    return f"op:events:{username}"
