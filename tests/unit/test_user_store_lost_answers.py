"""A registration whose write committed but whose answer was lost: boto3 retries the
conditional put, meets its own item, and the store must call that a success, not a taken
username (found by the fault proxy's lost-after-commit runs, issue 17)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError

from actors.ledger.errors import UserExistsError
from actors.store.blocking import BlockingRunner
from actors.users.store import DynamoUserStore, UserRecord


def record(username: str, password_hash: str = "$argon2id$salt-1") -> UserRecord:
    return UserRecord(
        username=username,
        display_username=username,
        email=f"{username}@example.com",
        password_hash=password_hash,
        first_name="Ada",
        last_name="Lovelace",
        phone=None,
        date_of_birth=None,
        marketing_emails_consent=False,
        role="user",
        created_at="2026-12-04T06:00:00Z",
        updated_at="2026-12-04T06:00:00Z",
    )


class LostAnswers:
    """A table whose every new put commits, then answers as boto3's retry of it would: the
    condition failed. ``get_item`` reads what is stored."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[dict[str, Any]] = []

    def put_item(self, TableName: str, Item: dict[str, Any], **_: Any) -> None:
        key = (Item["PK"]["S"], Item["SK"]["S"])
        self.items.setdefault(key, Item)  # the first attempt commits; nothing overwrites
        raise ClientError(
            {"Error": {"Code": "ConditionalCheckFailedException", "Message": "exists"}}, "PutItem"
        )

    def get_item(self, TableName: str, Key: dict[str, Any], **_: Any) -> dict[str, Any]:
        item = self.items.get((Key["PK"]["S"], Key["SK"]["S"]))
        return {"Item": item} if item else {}

    def delete_item(self, **kwargs: Any) -> None:
        self.deleted.append(kwargs)


def create(client: LostAnswers, user: UserRecord) -> None:
    store = DynamoUserStore(client, "t", BlockingRunner(1, "test"))
    asyncio.run(store.create(user))


def test_a_registration_whose_answer_was_lost_is_created_once() -> None:
    client = LostAnswers()

    create(client, record("ada"))  # no UserExistsError: both items are this registration's

    assert len(client.items) == 2 and client.deleted == []


def test_someone_elses_username_or_email_is_still_taken() -> None:
    client = LostAnswers()
    create(client, record("ada"))

    with pytest.raises(UserExistsError):  # same email and username, another registration
        create(client, record("ada", password_hash="$argon2id$salt-2"))
    assert client.deleted == []  # the email claim is someone else's: never released
