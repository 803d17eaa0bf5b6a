"""The user store: profile and credential items, with in-memory and DynamoDB implementations.

The profile item also carries the user's token epoch (``token_epoch``, a number beside the
profile's JSON): every token names the epoch it was issued under, and a password change bumps
it, so every earlier token stops working, whatever Redis remembers.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from actors.domain.errors import DomainError
from actors.ledger.errors import UserExistsError
from actors.store import keys
from actors.store.blocking import BlockingRunner
from actors.store.errors import StoreUnavailableError


@dataclass(frozen=True)
class UserRecord:
    """A registered user (``username`` is the canonical, lower-case key)."""

    username: str
    display_username: str
    email: str
    password_hash: str
    first_name: str
    last_name: str
    phone: str | None
    date_of_birth: str | None
    marketing_emails_consent: bool
    role: str
    created_at: str
    updated_at: str
    token_epoch: int = 0  # stored beside the profile, not in it: see the module docstring


class ProfileChangedError(DomainError):
    """The profile changed between reading and writing it (a concurrent edit)."""

    def __str__(self) -> str:
        return "The profile was changed by another request; read it again and retry."


class UserStore(Protocol):
    """Create, read and change users."""

    async def create(self, user: UserRecord) -> None:
        """Store a new user; raise ``UserExistsError`` if the username or email is taken."""

    async def get(self, username: str) -> UserRecord | None:
        """The user with this canonical username, if any."""

    async def update(self, before: UserRecord, after: UserRecord) -> None:
        """Replace the profile ``before`` (as read) by ``after``, moving the email claim when it
        changed. ``UserExistsError("email")`` when the new email is taken,
        ``ProfileChangedError`` when the stored profile is no longer ``before``."""

    async def change_password(self, before: UserRecord, password_hash: str, at: str) -> int:
        """Store a new password hash and bump the token epoch; returns the new epoch.
        ``ProfileChangedError`` when the stored profile is no longer ``before``."""


def _profile_json(user: UserRecord) -> str:
    data = asdict(user)
    del data["token_epoch"]
    return json.dumps(data)


class InMemoryUserStore:
    """A ``UserStore`` in a dict."""

    def __init__(self) -> None:
        self.users: dict[str, UserRecord] = {}

    async def create(self, user: UserRecord) -> None:
        if any(u.email.lower() == user.email.lower() for u in self.users.values()):
            raise UserExistsError("email")  # checked first, as in DynamoUserStore
        if user.username in self.users:
            raise UserExistsError("username")
        self.users[user.username] = user

    async def get(self, username: str) -> UserRecord | None:
        return self.users.get(username)

    async def update(self, before: UserRecord, after: UserRecord) -> None:
        if self.users.get(before.username) != before:
            raise ProfileChangedError()
        if after.email.lower() != before.email.lower() and any(
            u.email.lower() == after.email.lower() for u in self.users.values()
        ):
            raise UserExistsError("email")
        self.users[before.username] = replace(after, token_epoch=before.token_epoch)

    async def change_password(self, before: UserRecord, password_hash: str, at: str) -> int:
        if self.users.get(before.username) != before:
            raise ProfileChangedError()
        epoch = before.token_epoch + 1
        self.users[before.username] = replace(
            before, password_hash=password_hash, updated_at=at, token_epoch=epoch
        )
        return epoch


class DynamoUserStore:
    """A ``UserStore`` on the single table: the profile item plus an email-uniqueness item."""

    def __init__(self, client: Any, table_name: str, runner: BlockingRunner) -> None:
        self._client = client
        self._table = table_name
        self._run = runner.run

    async def _put_new(self, item: dict[str, Any], taken: str) -> None:
        try:
            await self._run(
                self._client.put_item,
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                if await self._is_ours(item):
                    return  # our own write: its answer was lost and boto3's retry met it
                raise UserExistsError(taken) from None
            raise StoreUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailableError(str(error)) from error

    async def _is_ours(self, item: dict[str, Any]) -> bool:
        """Whether the item in the way is exactly ``item`` (each carries what only this
        registration wrote: the profile its salted hash and time, the email claim its id)."""
        try:
            found = await self._run(
                self._client.get_item,
                TableName=self._table,
                Key={"PK": item["PK"], "SK": item["SK"]},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(str(error)) from error
        return bool(found.get("Item") == item)

    async def create(self, user: UserRecord) -> None:
        email_item = {
            "PK": {"S": keys.email_pk(user.email)},
            "SK": {"S": keys.EMAIL_SK},
            "username": {"S": user.username},
            "claim": {"S": uuid.uuid4().hex},  # this registration's, to know its own write
        }
        await self._put_new(email_item, "email")
        profile = {
            **self._profile_key(user.username),
            "profile": {"S": _profile_json(user)},
            "token_epoch": {"N": str(user.token_epoch)},
        }
        try:
            await self._put_new(profile, "username")
        except Exception:
            await self._release_email(user)
            raise

    async def _release_email(self, user: UserRecord) -> None:
        """Undo the email claim of a registration that lost the username race."""
        # Claimed by someone else meanwhile, or unreachable: a stale claim only blocks reuse.
        with contextlib.suppress(ClientError, BotoCoreError):
            await self._run(
                self._client.delete_item,
                TableName=self._table,
                Key={"PK": {"S": keys.email_pk(user.email)}, "SK": {"S": keys.EMAIL_SK}},
                ConditionExpression="username = :u",
                ExpressionAttributeValues={":u": {"S": user.username}},
            )

    async def get(self, username: str) -> UserRecord | None:
        try:
            result = await self._run(
                self._client.get_item,
                TableName=self._table,
                Key=self._profile_key(username),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(str(error)) from error
        item = result.get("Item")
        return user_of(item) if item else None

    @staticmethod
    def _profile_key(username: str) -> dict[str, Any]:
        return {"PK": {"S": keys.user_pk(username)}, "SK": {"S": keys.PROFILE_SK}}

    def _replace_profile(self, before: UserRecord, after: UserRecord) -> dict[str, Any]:
        """The conditional update of the profile item from ``before`` to ``after``."""
        return {
            "TableName": self._table,
            "Key": self._profile_key(before.username),
            "UpdateExpression": "SET profile = :after",
            "ConditionExpression": "profile = :before",
            "ExpressionAttributeValues": {
                ":after": {"S": _profile_json(after)},
                ":before": {"S": _profile_json(before)},
            },
        }

    async def update(self, before: UserRecord, after: UserRecord) -> None:
        if after.email.lower() == before.email.lower():
            await self._conditional(self._client.update_item, self._replace_profile(before, after))
            return
        claim = {
            "TableName": self._table,
            "Item": {
                "PK": {"S": keys.email_pk(after.email)},
                "SK": {"S": keys.EMAIL_SK},
                "username": {"S": after.username},
            },
            "ConditionExpression": "attribute_not_exists(PK)",
        }
        release = {
            "TableName": self._table,
            "Key": {"PK": {"S": keys.email_pk(before.email)}, "SK": {"S": keys.EMAIL_SK}},
        }
        steps = [{"Put": claim}, {"Update": self._replace_profile(before, after)}]
        try:
            await self._run(
                self._client.transact_write_items,
                TransactItems=[*steps, {"Delete": release}],
            )
        except ClientError as error:
            reasons = [r.get("Code") for r in error.response.get("CancellationReasons", [])]
            if reasons[:1] == ["ConditionalCheckFailed"]:
                raise UserExistsError("email") from None
            if "ConditionalCheckFailed" in reasons:
                raise ProfileChangedError() from None
            raise StoreUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailableError(str(error)) from error

    async def change_password(self, before: UserRecord, password_hash: str, at: str) -> int:
        after = replace(before, password_hash=password_hash, updated_at=at)
        update = self._replace_profile(before, after)
        update["UpdateExpression"] += " ADD token_epoch :one"
        update["ExpressionAttributeValues"][":one"] = {"N": "1"}
        result = await self._conditional(
            self._client.update_item, {**update, "ReturnValues": "UPDATED_NEW"}
        )
        return int(result["Attributes"]["token_epoch"]["N"])

    async def _conditional(self, call: Any, request: dict[str, Any]) -> Any:
        try:
            return await self._run(call, **request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                raise ProfileChangedError() from None
            raise StoreUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailableError(str(error)) from error


def user_of(item: dict[str, Any]) -> UserRecord:
    """The user in a profile item (its token epoch beside the profile's JSON)."""
    epoch = int(item.get("token_epoch", {}).get("N", "0"))
    return UserRecord(**json.loads(item["profile"]["S"]), token_epoch=epoch)
