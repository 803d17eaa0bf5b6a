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


def order_sk(order_id: str) -> str:
    """The sort key of one order (order ids are time ordered, so orders sort by creation)."""
    return f"{ORDER_PREFIX}{order_id}"


def asset_transactions_prefix(asset_id: str) -> str:
    """The sort-key prefix of the user's movements of one asset."""
    return f"{ASSET_TX_PREFIX}{asset_id}#"


def asset_transaction_sk(asset_id: str, seq: int) -> str:
    """The sort key of the movement of ``asset_id`` recorded by event ``seq``."""
    return f"{asset_transactions_prefix(asset_id)}{seq:0{SEQ_WIDTH}d}"


OPEN_ORDERS_INDEX = "open-orders"  # the sparse index of queued limit orders (the matcher's)
OPEN_PK = "OPEN_PK"
OPEN_SK = "OPEN_SK"


def open_orders_pk(asset_id: str) -> str:
    """The open-orders index partition of one asset."""
    return f"OPEN#{asset_id}"


def username_of(partition_key: str) -> str:
    """The username in a ``USER#`` partition key."""
    return partition_key.removeprefix("USER#")


def seq_of(sort_key: str) -> int:
    """The sequence number in an ``EVENT#`` or ``TX#`` sort key."""
    return int(sort_key.rsplit("#", 1)[1])


PROFILE_SK = "PROFILE"
BALANCE_SK = "BALANCE"
SNAPSHOT_SK = "SNAPSHOT"
EVENT_PREFIX = "EVENT#"
TX_PREFIX = "TX#"
ORDER_PREFIX = "ORDER#"
ASSET_TX_PREFIX = "ATX#"
EMAIL_SK = "EMAIL"
SESSION_PREFIX = "SESSION#"


def session_sk(session_id: str) -> str:
    """The sort key of one login session (a refresh-token family) in the user's partition."""
    return f"{SESSION_PREFIX}{session_id}"


def email_pk(email: str) -> str:
    """The item that makes an email address unique across users."""
    return f"EMAIL#{email.lower()}"


ASSET_SK = "ASSET"


def asset_pk(asset_id: str) -> str:
    """The item of one asset in the catalogue."""
    return f"ASSET#{asset_id}"


def balance_cache_key(username: str) -> str:
    """Redis hash holding the versioned account view (cash and holdings)."""
    return f"op:balance:{username}"


def transactions_cache_key(username: str) -> str:
    """Redis hash holding the versioned window of recent transactions."""
    return f"op:tx:{username}"


def events_channel(username: str) -> str:
    """Redis pub/sub channel of one user's live events."""
    return f"op:events:{username}"
