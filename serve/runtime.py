"""The collaborators of one ingress replica, built once in its constructor."""

from __future__ import annotations

from dataclasses import dataclass

from actors.cache.read_cache import RedisReadCache
from actors.config import dynamodb_client
from actors.ledger.reads import LedgerReader
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.users.store import DynamoUserStore, UserStore
from serve.cursors import CursorCodec
from serve.ledger_client import LedgerClient
from serve.security import Passwords, Tokens
from serve.settings import Settings


@dataclass
class Runtime:
    """Everything a route needs; tests may build one with doubles."""

    settings: Settings
    tokens: Tokens
    passwords: Passwords
    users: UserStore
    reader: LedgerReader
    ledger: LedgerClient
    cache: RedisReadCache
    cursors: CursorCodec
    store: DynamoLedgerStore
    cpu: BlockingRunner


def build_runtime(settings: Settings) -> Runtime:
    """Connect to DynamoDB, Redis and the shards as configured."""
    config = settings.ledger_config()
    client = dynamodb_client(config)
    runner = BlockingRunner(settings.io_threads, "ingress-io")
    store = DynamoLedgerStore(client, settings.table_name, runner)
    cache = RedisReadCache(settings.redis_url, settings.cache_ttl_s, settings.redis_timeout_s)
    return Runtime(
        settings=settings,
        tokens=Tokens(
            settings.jwt_secret,
            settings.jwt_issuer,
            settings.jwt_audience,
            settings.access_token_ttl_s,
        ),
        passwords=Passwords(),
        users=DynamoUserStore(client, settings.table_name, runner),
        reader=LedgerReader(store, cache),
        ledger=LedgerClient(config, settings.actor_call_timeout_s),
        cache=cache,
        cursors=CursorCodec(settings.jwt_secret),
        store=store,
        cpu=BlockingRunner(2, "ingress-cpu"),
    )
