"""The circuit breaker: open after repeated failures, one trial after a pause, close on success."""

from __future__ import annotations

from dataclasses import dataclass

from actors.cache.breaker import CircuitBreaker


@dataclass
class Seconds:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Seconds) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_after_s=2.0, clock=clock)


def tripped(clock: Seconds) -> CircuitBreaker:
    """A breaker opened by three failures in a row."""
    subject = breaker(clock)
    for _ in range(3):
        subject.record_failure()
    return subject


def test_a_new_breaker_is_closed() -> None:
    assert not breaker(Seconds()).is_open


def test_failures_below_the_threshold_keep_it_closed() -> None:
    subject = breaker(Seconds())

    subject.record_failure()
    subject.record_failure()

    assert not subject.is_open


def test_the_threshold_of_consecutive_failures_opens_it() -> None:
    subject = breaker(Seconds())

    for _ in range(3):
        subject.record_failure()

    assert subject.is_open


def test_a_success_resets_the_count_of_consecutive_failures() -> None:
    subject = breaker(Seconds())
    subject.record_failure()
    subject.record_failure()

    subject.record_success()
    subject.record_failure()
    subject.record_failure()

    assert not subject.is_open


def test_it_stays_open_until_the_pause_has_passed() -> None:
    clock = Seconds()
    subject = tripped(clock)

    clock.now += 1.99

    assert subject.is_open


def test_after_the_pause_one_trial_goes_through_then_it_waits_again() -> None:
    clock = Seconds()
    subject = tripped(clock)
    clock.now += 2.0

    first_look = subject.is_open
    second_look = subject.is_open

    assert (first_look, second_look) == (False, True)


def test_a_failed_trial_reopens_it_for_another_full_pause() -> None:
    clock = Seconds()
    subject = tripped(clock)
    clock.now += 2.0
    assert not subject.is_open

    subject.record_failure()
    clock.now += 1.5

    assert subject.is_open


def test_a_successful_trial_closes_it() -> None:
    clock = Seconds()
    subject = tripped(clock)
    clock.now += 2.0
    assert not subject.is_open

    subject.record_success()

    assert not subject.is_open
    assert not subject.is_open
