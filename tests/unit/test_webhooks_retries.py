"""The retry schedule: exponential, capped, jittered into its upper half; pausing after N."""

from datetime import UTC, datetime, timedelta

import pytest

from services.webhooks.retries import RetryPolicy, backoff_ceiling, backoff_delay

pytestmark = pytest.mark.unit

NOW = datetime(2026, 2, 4, tzinfo=UTC)


def test_the_ceiling_doubles_from_the_base_up_to_the_maximum() -> None:
    ceilings = [backoff_ceiling(n, base_s=5, max_s=600) for n in range(1, 11)]
    assert ceilings == [5, 10, 20, 40, 80, 160, 320, 600, 600, 600]
    assert backoff_ceiling(10_000, base_s=5, max_s=600) == 600  # no overflow on long outages


@pytest.mark.parametrize("failures", [1, 2, 5, 9])
def test_the_jittered_delay_lies_between_half_and_all_of_the_ceiling(failures: int) -> None:
    ceiling = backoff_ceiling(failures, 1, 60)
    assert backoff_delay(failures, 1, 60, rng=lambda: 0.0) == ceiling / 2
    assert backoff_delay(failures, 1, 60, rng=lambda: 1.0) == ceiling
    assert backoff_delay(failures, 1, 60, rng=lambda: 0.5) == 0.75 * ceiling


def test_the_default_schedule_gives_a_receiver_about_ten_minutes() -> None:
    policy = RetryPolicy()  # 8 failures, 5 s base, 10 min maximum
    schedule = policy.schedule()
    assert schedule == [(2.5, 5), (5, 10), (10, 20), (20, 40), (40, 80), (80, 160), (160, 320)]
    assert sum(low for low, _ in schedule) == 317.5
    assert sum(high for _, high in schedule) == 635


def test_a_failure_below_the_limit_is_retried_after_the_backoff() -> None:
    policy = RetryPolicy(max_failures=3, base_s=2, max_s=100, rng=lambda: 1.0)
    verdict = policy.after_failure(subscription_failures=2, delivery_failures=2, now=NOW)
    assert not verdict.paused
    assert verdict.retry_at == NOW + timedelta(seconds=4)


def test_the_backoff_follows_the_delivery_not_the_subscription() -> None:
    policy = RetryPolicy(max_failures=8, base_s=1, max_s=100, rng=lambda: 1.0)
    verdict = policy.after_failure(subscription_failures=5, delivery_failures=1, now=NOW)
    assert verdict.retry_at == NOW + timedelta(seconds=1)


@pytest.mark.parametrize(("subscription", "delivery"), [(3, 1), (3, 3), (1, 3), (7, 2)])
def test_the_nth_consecutive_failure_pauses(subscription: int, delivery: int) -> None:
    verdict = RetryPolicy(max_failures=3).after_failure(subscription, delivery, NOW)
    assert verdict.paused and verdict.retry_at is None
