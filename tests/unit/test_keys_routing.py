"""Key builders (the only place keys are spelled) and the crc32 placement of users on shards."""

from __future__ import annotations

import subprocess
import sys
import zlib

from hypothesis import given
from hypothesis import strategies as st

from actors.routing import shard_index, shard_name
from actors.store import keys

sequence_numbers = st.integers(min_value=0, max_value=10**keys.SEQ_WIDTH - 1)


def test_a_users_items_share_one_partition_key() -> None:
    assert keys.user_pk("alice") == "USER#alice"


def test_sort_keys_are_zero_padded_to_a_fixed_width() -> None:
    assert keys.event_sk(42) == "EVENT#000000000042"
    assert keys.transaction_sk(7) == "TX#000000000007"


@given(sequence_numbers, sequence_numbers)
def test_event_sort_keys_sort_like_their_sequence_numbers(a: int, b: int) -> None:
    assert (keys.event_sk(a) < keys.event_sk(b)) == (a < b)
    assert (keys.transaction_sk(a) < keys.transaction_sk(b)) == (a < b)


@given(sequence_numbers)
def test_seq_of_reads_back_the_sequence_number(seq: int) -> None:
    assert keys.seq_of(keys.event_sk(seq)) == seq
    assert keys.seq_of(keys.transaction_sk(seq)) == seq


def test_prefixes_match_the_sort_keys_they_select() -> None:
    assert keys.event_sk(1).startswith(keys.EVENT_PREFIX)
    assert keys.transaction_sk(1).startswith(keys.TX_PREFIX)
    assert len({keys.PROFILE_SK, keys.BALANCE_SK, keys.SNAPSHOT_SK, keys.EMAIL_SK}) == 4


def test_an_email_key_ignores_case() -> None:
    assert keys.email_pk("Alice@Example.COM") == keys.email_pk("alice@example.com")
    assert keys.email_pk("a@example.com") == "EMAIL#a@example.com"


def test_cache_keys_and_channels_are_distinct_per_user_and_kind() -> None:
    names = {
        keys.balance_cache_key("alice"),
        keys.transactions_cache_key("alice"),
        keys.events_channel("alice"),
        keys.balance_cache_key("bob"),
    }

    assert len(names) == 4


def test_the_shard_of_a_user_is_crc32_modulo_the_shard_count() -> None:
    assert shard_index("alice", 7) == zlib.crc32(b"alice") % 7
    assert shard_index("alice", 1) == 0


def test_the_shard_of_a_user_is_the_same_in_another_process() -> None:
    code = "from actors.routing import shard_index; print(shard_index('alice_01', 1024))"

    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert int(other.stdout) == shard_index("alice_01", 1024)


@given(st.text(), st.integers(min_value=1, max_value=1024))
def test_every_username_lands_on_a_shard_in_range_every_time(username: str, count: int) -> None:
    index = shard_index(username, count)

    assert 0 <= index < count
    assert shard_index(username, count) == index


def test_shards_are_named_for_ray() -> None:
    assert [shard_name(i) for i in range(3)] == ["ledger-0", "ledger-1", "ledger-2"]
