"""The user store: profile and credential items, with in-memory and DynamoDB implementations."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

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


class UserStore(Protocol):
    """Create and read users."""

    async def create(self, user: UserRecord) -> None:
        """Store a new user; raise ``UserExistsError`` if the username or email is taken."""

    async def get(self, username: str) -> UserRecord | None:
        """The user with this canonical username, if any."""


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
                raise UserExistsError(taken) from None
            raise StoreUnavailableError(str(error)) from error
        except BotoCoreError as error:
            raise StoreUnavailableError(str(error)) from error

    async def create(self, user: UserRecord) -> None:
        email_item = {
            "PK": {"S": keys.email_pk(user.email)},
            "SK": {"S": keys.EMAIL_SK},
            "username": {"S": user.username},
        }
        await self._put_new(email_item, "email")
        profile = {
            "PK": {"S": keys.user_pk(user.username)},
            "SK": {"S": keys.PROFILE_SK},
            "profile": {"S": json.dumps(asdict(user))},
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
                Key={"PK": {"S": keys.user_pk(username)}, "SK": {"S": keys.PROFILE_SK}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as error:
            raise StoreUnavailableError(str(error)) from error
        item = result.get("Item")
        return UserRecord(**json.loads(item["profile"]["S"])) if item else None
