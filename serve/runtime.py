"""The collaborators of one ingress replica, built once in its constructor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from actors.cache.read_cache import RedisReadCache
from actors.cache.sessions import RedisSessionCache, SessionCache
from actors.domain.commands import Command
from actors.ledger.reads import LedgerReader
from actors.ledger.results import Committed, Outcome, Refused
from actors.live.fanout import LiveFeed
from actors.live.redis import RedisLiveSubscriber
from actors.market.catalogue import DynamoCatalogue
from actors.market.reader import MarketReader
from actors.market.store import RedisPriceStore
from actors.settings import dynamodb_client
from actors.store.blocking import BlockingRunner
from actors.store.dynamo import DynamoLedgerStore
from actors.telemetry import NullTelemetry, Telemetry
from actors.users.sessions import DynamoSessionStore, SessionStore
from actors.users.store import DynamoUserStore, UserStore
from serve.client_address import ClientAddresses
from serve.cursors import CursorCodec
from serve.limiter import redis_storage
from serve.login_block import LoginBlock, build_login_block
from serve.rate_limits import RequestLimits, build_request_limits
from serve.security import KeyRing, Passwords, Tokens
from serve.sessions import Sessions
from serve.settings import Settings

if TYPE_CHECKING:  # Ray: imported by the builders, so the app's schema can be made without it
    from serve.ledger_client import LedgerClient


@dataclass
class Runtime:
    """Everything a route needs; tests may build one with doubles."""

    settings: Settings
    tokens: Tokens
    sessions: Sessions
    passwords: Passwords
    users: UserStore
    reader: LedgerReader
    ledger: LedgerClient
    cache: RedisReadCache
    cursors: CursorCodec
    store: DynamoLedgerStore
    cpu: BlockingRunner
    live: LiveFeed
    market: MarketReader = field(default_factory=MarketReader.empty)
    addresses: ClientAddresses = field(default_factory=ClientAddresses)
    limits: RequestLimits | None = None  # None: no rate limits (unit-test apps)
    login_block: LoginBlock | None = None  # None: no failed-login block (unit-test apps)
    telemetry: Telemetry = field(default_factory=NullTelemetry)

    async def execute(self, username: str, command: Command, idempotency_key: str) -> Outcome:
        """Run ``command`` on the user's actor; the version it recorded (a commit or a refusal)
        becomes the floor of this replica's cached reads of the user (``KnownVersions``)."""
        outcome = await self.ledger.execute(username, command, idempotency_key)
        if isinstance(outcome, Committed | Refused):
            self.reader.known.note(username, outcome.seq)
        return outcome


def build_runtime(settings: Settings) -> Runtime:
    """Connect to DynamoDB, Redis and the shards as configured."""
    from actors.ray_metrics import RayTelemetry
    from serve.ledger_client import LedgerClient

    telemetry = RayTelemetry()
    config = settings.ledger_settings()
    client = dynamodb_client(config)
    runner = BlockingRunner(settings.io_threads, "ingress-io")
    store = DynamoLedgerStore(client, settings.table_name, runner)
    cache = RedisReadCache(
        settings.redis_url, settings.cache_ttl_s, timeout_s=settings.redis_timeout_s
    )
    tokens = build_tokens(settings)
    session_cache = RedisSessionCache(
        settings.redis_url, settings.redis_timeout_s, settings.session_state_ttl_s
    )
    addresses = ClientAddresses(settings.trusted_proxies)
    limits_redis = redis_storage(settings.redis_url, settings.rate_limit_timeout_s)
    return Runtime(
        settings=settings,
        tokens=tokens,
        sessions=build_sessions(
            settings, tokens, DynamoSessionStore(client, settings.table_name, runner), session_cache
        ),
        passwords=Passwords(),
        users=DynamoUserStore(client, settings.table_name, runner),
        reader=LedgerReader(store, cache, telemetry),
        ledger=LedgerClient(config, settings.actor_call_timeout_s, settings.shard_calls_in_flight),
        cache=cache,
        cursors=CursorCodec(settings.jwt_secret),
        store=store,
        cpu=BlockingRunner(2, "ingress-cpu"),
        live=RedisLiveSubscriber(settings.redis_url, settings.events_queue_size),
        market=build_market(config, client, runner),
        addresses=addresses,
        limits=build_request_limits(settings, limits_redis, addresses, tokens),
        login_block=build_login_block(settings, limits_redis),
        telemetry=telemetry,
    )


def build_tokens(settings: Settings) -> Tokens:
    """The replica's token issuer and verifier, keyed as configured."""
    signing_key = settings.jwt_private_key if settings.jwt_algorithm == "RS256" else None
    keys = KeyRing(
        settings.jwt_algorithm,
        settings.jwt_key_id,
        signing_key or settings.jwt_secret,
        settings.jwt_verification_keys,
    )
    return Tokens(
        keys,
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.access_token_ttl_s,
        settings.refresh_token_ttl_s,
    )


def build_sessions(
    settings: Settings, tokens: Tokens, store: SessionStore, cache: SessionCache
) -> Sessions:
    """The sessions of the replica on ``store`` (the truth) and ``cache``."""
    return Sessions(
        tokens, store, cache, settings.session_check_cache_s, settings.session_state_ttl_s
    )


class MarketConnection(Protocol):
    """Where the market's data is (the actors' settings have all of it)."""

    @property
    def redis_url(self) -> str: ...
    @property
    def redis_timeout_s(self) -> float: ...
    @property
    def table_name(self) -> str: ...
    @property
    def namespace(self) -> str: ...


def build_market(where: MarketConnection, client: Any, runner: BlockingRunner) -> MarketReader:
    """The inventory's read path: prices from Redis (the feed actor when Redis has none), the
    catalogue from Redis or the table, cached in the replica."""
    from actors.market.feed import FeedClient

    return MarketReader(
        RedisPriceStore(where.redis_url, where.redis_timeout_s),
        DynamoCatalogue(client, where.table_name, runner).load,
        FeedClient(where.namespace).latest,
    )
