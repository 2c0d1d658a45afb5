"""When to try a failed delivery again, and when to give up and pause the subscription.

Attempt ``n`` that fails is retried after a delay drawn between half and all of
``min(max_s, base_s * 2 ** (n - 1))`` (exponential backoff with "equal jitter", so that
receivers coming back are not hit by every lane at once). A subscription is paused once it
has failed ``max_failures`` times in a row, counted across its talks, or once one delivery
has.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


def backoff_ceiling(failures: int, base_s: float, max_s: float) -> float:
    """The longest wait after the ``failures``-th consecutive failure (1, 2, ...)."""
    exponent = min(max(failures - 1, 0), 62)  # 2**62 s is past any sensible maximum
    return min(max_s, base_s * 2**exponent)


def backoff_delay(
    failures: int, base_s: float, max_s: float, rng: Callable[[], float] = random.random
) -> float:
    """The wait after the ``failures``-th consecutive failure, jittered into its upper half."""
    ceiling = backoff_ceiling(failures, base_s, max_s)
    return ceiling / 2 + rng() * ceiling / 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """What follows a failed attempt: the subscription paused, or a retry at ``retry_at``."""

    paused: bool
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_failures: int = 8
    base_s: float = 5.0
    max_s: float = 600.0
    rng: Callable[[], float] = field(default=random.random, compare=False)

    def after_failure(
        self, subscription_failures: int, delivery_failures: int, now: datetime
    ) -> Verdict:
        """The verdict once the counts of consecutive failures include this one."""
        if max(subscription_failures, delivery_failures) >= self.max_failures:
            return Verdict(paused=True)
        delay = backoff_delay(delivery_failures, self.base_s, self.max_s, self.rng)
        return Verdict(paused=False, retry_at=now + timedelta(seconds=delay))

    def schedule(self) -> list[tuple[float, float]]:
        """The (shortest, longest) wait after each failure before the one that pauses."""
        return [
            (ceiling / 2, ceiling)
            for ceiling in (
                backoff_ceiling(n, self.base_s, self.max_s) for n in range(1, self.max_failures)
            )
        ]
