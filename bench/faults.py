"""A bank-style workload under faults, and the checks that nothing was lost (issue 17).

Clients deposit, withdraw, buy and sell at market for a set of users, concurrently (several
clients share each user, so the per-user serialization is exercised), while a fault thread
kills shard actors, pauses and kills ``redis-server``, cuts the DynamoDB endpoint and drops
answers after the write committed (``cluster.faults.StackFaults``). Every operation keeps its
``Idempotency-Key`` across retries until it gets a definitive answer (2xx, or a business
refusal), so the client knows exactly what was applied. Then the checks:

- conservation: each user's balance and holdings are exactly what the applied operations
  say, and the transaction history holds each applied cash movement once (amounts match);
- nothing negative, in any answer seen during the run or at the end;
- every 5xx was a 503 problem+json with ``Retry-After``, within 5 s of an injected fault;
- no other surprise (a 4xx that is not a refusal, a dropped connection, an HTML page).

``tests/integration/test_00_faults.py`` runs a short version in ``make test``;
``python -m bench.faults`` (in ``make bench``) runs the long one and writes
``bench/results/faults.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from bench.run import SETTINGS
from cluster.faultproxy import writes

D = Decimal
PASSWORD = "Correct-Horse-42!"
FAULT_WINDOW_S = 5.0  # a 5xx is acceptable only this close to an injected fault
GIVE_UP_S = 90.0  # an operation that gets no definitive answer in this long is a failure
REFUSALS = {"insufficient_funds", "insufficient_holdings"}
ASSET = "BTC"
RESULTS = Path(__file__).parent / "results" / "faults.json"


@dataclass
class Account:
    """One user as the clients see it: what the applied operations add up to."""

    username: str
    headers: dict[str, str]
    cash: Decimal = Decimal(0)
    held: Decimal = Decimal(0)
    movements: list[Decimal] = field(default_factory=list)  # signed cash of each applied op
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Attempt:
    """One HTTP answer (or a dropped connection, status 0) and when it was sent and received."""

    op: str
    status: int
    sent: float
    received: float
    problem_json: bool
    retry_after: str | None
    code: str | None


@dataclass
class Tally:
    """Everything the clients saw, shared by all client threads."""

    attempts: list[Attempt] = field(default_factory=list)
    applied: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    negatives: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)


@dataclass(frozen=True)
class Plan:
    """How long, how many and how hard."""

    users: int = 8
    clients: int = 6
    duration_s: float = 40.0
    fault_every_s: float = 4.0
    seed: int = 17


# -- the faults ------------------------------------------------------------------------------


def fault_actions(faults: Any) -> list[tuple[str, Callable[[], None]]]:
    """The faults the fault thread picks from, each a name and a call (some block a while)."""
    shards = max(1, int(faults.shard_count))
    return [
        ("shard_kill", lambda: faults.kill_shard(random.randrange(shards))),
        ("dynamodb_cut", lambda: faults.cut_dynamodb(2.0)),
        ("redis_pause", lambda: faults.pause_redis(2.0)),
        ("redis_kill", lambda: faults.kill_redis(1.0)),
        ("drop_after_commit", lambda: faults.drop_after_commit(5, writes)),
    ]


def inject_faults(
    faults: Any, plan: Plan, stop: threading.Event, say: Callable[[str], None]
) -> None:
    """Every ``fault_every_s``, the next fault in a shuffled cycle of all kinds, until ``stop``."""
    actions = fault_actions(faults)
    rng = random.Random(plan.seed)
    order: list[tuple[str, Callable[[], None]]] = []
    while not stop.wait(plan.fault_every_s):
        if not order:
            order = rng.sample(actions, len(actions))
        name, action = order.pop()
        say(f"fault: {name}")
        action()


# -- the clients -----------------------------------------------------------------------------


def register(http: httpx.Client, prefix: str) -> Account:
    """A fresh user, logged in (retried: the stack may be recovering from an earlier run)."""
    username = f"{prefix}{uuid.uuid4().hex[:12]}"
    body = {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        "first_name": "Bank",
        "last_name": "Client",
    }
    created = http.post("/api/v1/auth/register", json=body)
    if created.status_code != 201:
        raise RuntimeError(f"register: {created.status_code} {created.text}")
    login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    if login.status_code != 200:
        raise RuntimeError(f"login: {login.status_code} {login.text}")
    return Account(username, {"Authorization": f"Bearer {login.json()['access_token']}"})


def next_operation(rng: random.Random) -> tuple[str, str, dict[str, str]]:
    """A random operation: its name, path and body (amounts of cash with 2 places)."""
    pick = rng.random()
    if pick < 0.35:
        return (
            "deposit",
            "/api/v1/balance/deposit",
            {"amount": f"{rng.randint(100, 5000)}.{rng.randint(0, 99):02d}"},
        )
    if pick < 0.55:
        return (
            "withdraw",
            "/api/v1/balance/withdraw",
            {"amount": f"{rng.randint(1, 3000)}.{rng.randint(0, 99):02d}"},
        )
    quantity = f"0.00{rng.randint(1, 9)}"
    side = "market_buy" if pick < 0.8 else "market_sell"
    return side, "/api/v1/orders", {"order_type": side, "asset_id": ASSET, "quantity": quantity}


def problem_code(response: httpx.Response) -> str | None:
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        return None
    return str(code) if code is not None else None


def run_operation(
    http: httpx.Client,
    account: Account,
    op: str,
    path: str,
    body: dict[str, str],
    tally: Tally,
) -> None:
    """Send one operation with one key until its answer is definitive; book what it applied."""
    headers = {**account.headers, "Idempotency-Key": str(uuid.uuid4())}
    deadline = time.monotonic() + GIVE_UP_S
    while time.monotonic() < deadline:
        sent = time.time()
        try:
            response = http.post(path, json=body, headers=headers)
        except httpx.TransportError:
            tally.add(Attempt(op, 0, sent, time.time(), False, None, None))
            time.sleep(0.2)
            continue
        code = problem_code(response)
        tally.add(
            Attempt(
                op,
                response.status_code,
                sent,
                time.time(),
                code is not None,
                response.headers.get("retry-after"),
                code,
            )
        )
        if response.is_success:
            book(account, op, body, response.json(), tally)
            return
        if response.status_code == 409 and code in REFUSALS:
            with tally.lock:
                tally.refused[op] += 1
            return
        # 503 (unknown outcome: retry), 409 still in flight, 429: the same key again
        time.sleep(min(1.0, float(response.headers.get("retry-after") or 0.2)) / 2)
    with tally.lock:
        tally.unfinished.append(f"{op} {body} for {account.username}")


def book(
    account: Account, op: str, body: dict[str, str], answer: dict[str, Any], tally: Tally
) -> None:
    """Add an applied operation's effect to the account the client keeps."""
    if op in ("deposit", "withdraw"):
        amount = D(body["amount"]) if op == "deposit" else -D(body["amount"])
        held = D(0)
        seen = D(str(answer["balance"])) if "balance" in answer else None
    else:
        order = answer["data"]
        total = D(order["total_amount"])
        amount = -total if op == "market_buy" else total
        held = D(order["quantity"]) if op == "market_buy" else -D(order["quantity"])
        seen = None
    with account.lock:
        account.cash += amount
        account.held += held
        account.movements.append(amount)
    with tally.lock:
        tally.applied[op] += 1
        if seen is not None and seen < 0:
            tally.negatives.append(f"{account.username}: balance {seen} in an answer")


def client_loop(
    url: str, accounts: list[Account], tally: Tally, stop: threading.Event, seed: int
) -> None:
    """One client: random operations on random accounts until ``stop``."""
    rng = random.Random(seed)
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set():
            account = rng.choice(accounts)
            op, path, body = next_operation(rng)
            run_operation(http, account, op, path, body, tally)


# -- the checks ------------------------------------------------------------------------------


def read_until_ok(
    http: httpx.Client, path: str, headers: dict[str, str], params: dict[str, Any] | None = None
) -> Any:
    """A GET retried until 200 (after the faults, the stack may need a moment)."""
    for _ in range(60):
        try:
            response = http.get(path, headers=headers, params=params)
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code == 200:
            return response.json()
        time.sleep(0.5)
    raise RuntimeError(f"GET {path}: no 200 in 30 s")


def history_of(http: httpx.Client, account: Account) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = read_until_ok(http, "/api/v1/balance/transactions", account.headers, params)
        items.extend(page["transactions"])
        cursor = page["next_cursor"]
        if not cursor:
            return items


MONEY_IN = {"DEPOSIT": 1, "ORDER_SALE": 1, "WITHDRAW": -1, "ORDER_PAYMENT": -1}


def signed(transaction: dict[str, Any]) -> Decimal:
    """A transaction's cash movement, money in positive (an unknown type is an error)."""
    return MONEY_IN[transaction["transaction_type"]] * abs(D(str(transaction["amount"])))


@dataclass
class AccountCheck:
    """What the store holds against what the applied operations say, over all accounts."""

    lost: int = 0  # applied operations the history lacks
    duplicated: int = 0  # history entries beyond the applied operations
    negative: int = 0  # a negative balance or holding, at the end or after any movement
    problems: list[str] = field(default_factory=list)


def check_accounts(http: httpx.Client, accounts: list[Account]) -> AccountCheck:
    """Each account as stored equals what the applied operations say; nothing negative."""
    check = AccountCheck()
    for account in accounts:
        cash = D(read_until_ok(http, "/api/v1/balance", account.headers)["current_balance"])
        portfolio = read_until_ok(http, "/api/v1/portfolio", account.headers)
        held = {a["asset_id"]: D(a["quantity"]) for a in portfolio["assets"]}.get(ASSET, D(0))
        compare(check, account, cash, held, history_of(http, account))
    return check


def compare(
    check: AccountCheck,
    account: Account,
    cash: Decimal,
    held: Decimal,
    history: list[dict[str, Any]],
) -> None:
    """Add to ``check`` how the stored account (balance, holding, history) differs from the
    operations the clients had applied."""
    who = account.username
    stored = Counter(signed(t) for t in history)
    applied = Counter(account.movements)
    lost, extra = applied - stored, stored - applied
    check.lost += sum(lost.values())
    check.duplicated += sum(extra.values())
    if lost or extra:
        check.problems.append(f"{who}: history lacks {dict(lost)}, has extra {dict(extra)}")
    if len({t["transaction_id"] for t in history}) != len(history):
        check.duplicated += 1
        check.problems.append(f"{who}: a transaction listed twice")
    if cash != account.cash or held != account.held:
        check.problems.append(
            f"{who}: stored {cash} cash and {held} {ASSET}; the applied operations say "
            f"{account.cash} and {account.held}"
        )
    below = [t for t in history if D(str(t["balance_after"])) < 0]
    if cash < 0 or held < 0 or below:
        check.negative += 1 + len(below)
        check.problems.append(
            f"{who}: negative ({cash} cash, {held} {ASSET}, {len(below)} movements below 0)"
        )


def check_answers(tally: Tally, timeline: Any) -> list[str]:
    """Every 5xx a 503 problem+json with Retry-After within the fault window; no surprises."""
    problems: list[str] = []
    for a in tally.attempts:
        near = min(timeline.distance_s(a.sent), timeline.distance_s(a.received))
        if a.status == 0:
            problems.append(
                f"{a.op}: connection dropped at {a.received:.1f} ({near:.1f} s from a fault)"
            )
        elif a.status >= 500:
            if a.status != 503 or not a.problem_json or not a.retry_after:
                problems.append(
                    f"{a.op}: {a.status} (problem+json {a.problem_json},"
                    f" Retry-After {a.retry_after})"
                )
            if near > FAULT_WINDOW_S:
                problems.append(f"{a.op}: {a.status} {near:.1f} s after the nearest fault")
        elif 400 <= a.status < 500 and not (a.status == 409 and a.code in REFUSALS | {"conflict"}):
            problems.append(f"{a.op}: unexpected {a.status} {a.code}")
    problems.extend(f"no definitive answer in {GIVE_UP_S:.0f} s: {u}" for u in tally.unfinished)
    problems.extend(tally.negatives)
    return problems


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Report:
    """The outcome of one run: what was done, what broke, what the checks found."""

    plan: dict[str, Any]
    operations: dict[str, int]
    refused: dict[str, int]
    faults: dict[str, int]
    statuses: dict[str, int]
    answers_5xx: int
    answers_5xx_by_fault: dict[str, int]  # each 5xx by the kind of the fault nearest before it
    max_5xx_distance_s: float
    lost: int
    duplicated: int
    negative: int
    problems: list[str]
    duration_s: float

    def summary(self) -> str:
        return (
            f"{sum(self.operations.values())} operations applied {self.operations}, "
            f"{sum(self.refused.values())} refused; faults {self.faults}; "
            f"{self.answers_5xx} answers 5xx (max {self.max_5xx_distance_s:.1f} s from a fault,"
            f" by the fault before them {self.answers_5xx_by_fault}); "
            f"lost {self.lost}, duplicated {self.duplicated}, negative {self.negative}; "
            f"{len(self.problems)} problems"
        )


def run(url: str, faults: Any, plan: Plan, say: Callable[[str], None] = print) -> Report:
    """Run the workload against a stack with fault hooks; the report of the checks."""
    started = time.monotonic()
    with httpx.Client(base_url=url, timeout=30) as http:
        accounts = [register(http, "bank") for _ in range(plan.users)]
        for account in accounts:  # every account starts with cash, so trades can happen
            run_operation(
                http, account, "deposit", "/api/v1/balance/deposit", {"amount": "20000.00"}, Tally()
            )
        say(
            f"{plan.users} users, {plan.clients} clients, {plan.duration_s:.0f} s,"
            f" a fault every {plan.fault_every_s:.0f} s"
        )
        tally = Tally()
        stop = threading.Event()
        threads = [
            threading.Thread(
                target=client_loop, args=(url, accounts, tally, stop, plan.seed + i), daemon=True
            )
            for i in range(plan.clients)
        ]
        injector = threading.Thread(
            target=inject_faults, args=(faults, plan, stop, say), daemon=True
        )
        for thread in [*threads, injector]:
            thread.start()
        for _ in progress(plan.duration_s):
            say(
                f"  {sum(tally.applied.values())} applied, {len(tally.attempts)} answers,"
                f" faults {faults.timeline.counts()}"
            )
        stop.set()
        injector.join()
        for thread in threads:
            thread.join(GIVE_UP_S + 35)
        say("checking the accounts")
        accounts_check = check_accounts(http, accounts)
    answer_problems = check_answers(tally, faults.timeline)
    return report(
        plan, tally, faults.timeline, accounts_check, answer_problems, time.monotonic() - started
    )


def progress(duration_s: float, every_s: float = 5.0) -> Iterator[None]:
    """Yield every ``every_s`` until ``duration_s`` has passed."""
    end = time.monotonic() + duration_s
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(every_s, left))
        yield


def report(
    plan: Plan, tally: Tally, timeline: Any, accounts: AccountCheck, answers: list[str], took: float
) -> Report:
    fivexx = [a for a in tally.attempts if a.status >= 500]
    distances = [min(timeline.distance_s(a.sent), timeline.distance_s(a.received)) for a in fivexx]
    return Report(
        plan=asdict(plan),
        operations=dict(tally.applied),
        refused=dict(tally.refused),
        faults=timeline.counts(),
        statuses={str(k): v for k, v in sorted(Counter(a.status for a in tally.attempts).items())},
        answers_5xx=len(fivexx),
        answers_5xx_by_fault=dict(Counter(nearest_kind(timeline, a.received) for a in fivexx)),
        max_5xx_distance_s=round(max(distances, default=0.0), 2),
        lost=accounts.lost,
        duplicated=accounts.duplicated,
        negative=accounts.negative + len(tally.negatives),
        problems=accounts.problems + answers,
        duration_s=round(took, 1),
    )


def nearest_kind(timeline: Any, at: float) -> str:
    record = timeline.nearest(at)
    return "none" if record is None else str(record.kind)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.faults``: the long run on a stack of its own; exit 1 on any problem."""
    from cluster.local import LocalStack, StackOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load (300)")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fault-every", type=float, default=4.0, help="seconds between faults")
    args = parser.parse_args(argv)
    plan = Plan(args.users, args.clients, args.duration, args.fault_every)
    options = StackOptions.isolated("haproxy", BENCH_SETTINGS, fault_proxy=True)
    with LocalStack(options) as stack:
        assert stack.faults is not None
        result = run(stack.url, stack.faults, plan)
    print(result.summary())
    for problem in result.problems[:50]:
        print("  PROBLEM", problem)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    print(f"wrote {RESULTS}")
    return 1 if result.problems else 0


# the stack of the long run: limits out of the way (one address, many operations), the
# matcher and feed ticking fast, fault injection allowed
BENCH_SETTINGS: dict[str, Any] = {
    **SETTINGS,  # bench.run's: pinned replicas and shards, limits out of the way
    "allow_fault_injection": True,
    "price_tick_interval_s": 0.25,
    "price_max_age_s": 4.0,
    "login_failure_limit": 100000,
}


if __name__ == "__main__":
    sys.exit(main())
