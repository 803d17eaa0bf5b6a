"""Login sessions, the truth about which tokens still work: one item per session (a refresh-token
family) in the user's partition, read together with the user's token epoch.

A session item holds the id (``jti``) of the one refresh token that may be used next; rotating it
is a conditional write, so of two uses of the same refresh token exactly one wins and the other is
recognised as a reuse. A revoked session refuses its access and refresh tokens alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from actors.store import keys
from actors.store.blocking import BlockingRunner
from actors.store.errors import StoreUnavailableError
from actors.store.schema import TTL_ATTRIBUTE
from actors.users.store import InMemoryUserStore


@dataclass(frozen=True)
class SessionState:
    """What the store says about one session of one user."""

    epoch: int  # the user's current token epoch (0 for an unknown user)
    active: bool  # the session exists and is not revoked
    refresh_id: str | None  # the refresh token that may be used next


class SessionStore(Protocol):
    """Open, read, rotate and revoke sessions."""

    async def open(self, username: str, session_id: str, refresh_id: str, until: int) -> None:
        """Record a new session whose first refresh token is ``refresh_id``, kept until the
        epoch second ``until`` (then DynamoDB's TTL deletes it)."""

    async def state(self, username: str, session_id: str) -> SessionState:
        """The session's state and the user's epoch (one consistent read of both)."""

    async def rotate(
        self, username: str, session_id: str, used: str, successor: str, until: int
    ) -> bool:
        """Replace refresh token ``used`` by ``successor``; False when ``used`` is not the
        current one or the session is revoked (nothing changes then)."""

    async def revoke(self, username: str, session_id: str) -> None:
        """End the session: its tokens stop working (a no-op for an unknown session)."""


@dataclass
class InMemorySessionStore:
    """A ``SessionStore`` in a dict, reading epochs from an ``InMemoryUserStore``."""

    users: InMemoryUserStore
    sessions: dict[tuple[str, str], SessionState]

    def __init__(self, users: InMemoryUserStore) -> None:
        self.users, self.sessions = users, {}

    async def open(self, username: str, session_id: str, refresh_id: str, until: int) -> None:
        self.sessions[(username, session_id)] = SessionState(0, True, refresh_id)

    async def state(self, username: str, session_id: str) -> SessionState:
        user = self.users.users.get(username)
        epoch = user.token_epoch if user else 0
        found = self.sessions.get((username, session_id), SessionState(0, False, None))
        return replace(found, epoch=epoch)

    async def rotate(
        self, username: str, session_id: str, used: str, successor: str, until: int
    ) -> bool:
        found = self.sessions.get((username, session_id))
        if found is None or not found.active or found.refresh_id != used:
            return False
        self.sessions[(username, session_id)] = replace(found, refresh_id=successor)
        return True

    async def revoke(self, username: str, session_id: str) -> None:
        found = self.sessions.get((username, session_id))
        if found is not None:
            self.sessions[(username, session_id)] = replace(found, active=False)


class DynamoSessionStore:
    """A ``SessionStore`` on the single table."""

    def __init__(self, client: Any, table_name: str, runner: BlockingRunner) -> None:
        self._client, self._table, self._run = client, table_name, runner.run

    @staticmethod
    def _key(username: str, session_id: str) -> dict[str, Any]:
        return {"PK": {"S": keys.user_pk(username)}, "SK": {"S": keys.session_sk(session_id)}}

    async def _call(self, method: Any, **request: Any) -> Any:
        """``method(**request)``; None when its condition failed; store errors as unavailable."""
        try:
            return await self._run(method, TableName=self._table, **request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return None
            raise StoreUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailableError(str(error)) from error

    async def open(self, username: str, session_id: str, refresh_id: str, until: int) -> None:
        item = {
            **self._key(username, session_id),
            "refresh_id": {"S": refresh_id},
            "revoked": {"BOOL": False},
            TTL_ATTRIBUTE: {"N": str(until)},
        }
        await self._call(self._client.put_item, Item=item)

    async def state(self, username: str, session_id: str) -> SessionState:
        profile_key = {"PK": {"S": keys.user_pk(username)}, "SK": {"S": keys.PROFILE_SK}}
        wanted = [profile_key, self._key(username, session_id)]
        items: list[dict[str, Any]] = []
        for _ in range(5):  # BatchGetItem may leave keys unprocessed under throttling
            try:
                result = await self._run(
                    self._client.batch_get_item,
                    RequestItems={self._table: {"Keys": wanted, "ConsistentRead": True}},
                )
            except (ClientError, BotoCoreError) as error:
                raise StoreUnavailableError(str(error)) from error
            items += result.get("Responses", {}).get(self._table, [])
            wanted = result.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
            if not wanted:
                break
        else:
            raise StoreUnavailableError("session state: keys left unprocessed")
        by_sk = {item["SK"]["S"]: item for item in items}
        profile, session = by_sk.get(keys.PROFILE_SK), by_sk.get(keys.session_sk(session_id))
        epoch = int(profile.get("token_epoch", {}).get("N", "0")) if profile else 0
        if session is None:
            return SessionState(epoch, False, None)
        return SessionState(epoch, not session["revoked"]["BOOL"], session["refresh_id"]["S"])

    async def rotate(
        self, username: str, session_id: str, used: str, successor: str, until: int
    ) -> bool:
        result = await self._call(
            self._client.update_item,
            Key=self._key(username, session_id),
            UpdateExpression="SET refresh_id = :next, #ttl = :until",
            ConditionExpression="refresh_id = :used AND revoked = :no",
            ExpressionAttributeNames={"#ttl": TTL_ATTRIBUTE},
            ExpressionAttributeValues={
                ":next": {"S": successor},
                ":used": {"S": used},
                ":no": {"BOOL": False},
                ":until": {"N": str(until)},
            },
        )
        return result is not None

    async def revoke(self, username: str, session_id: str) -> None:
        await self._call(
            self._client.update_item,
            Key=self._key(username, session_id),
            UpdateExpression="SET revoked = :yes",
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )
