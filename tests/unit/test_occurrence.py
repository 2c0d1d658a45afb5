from datetime import UTC, datetime

import pytest

from shared.occurrence import Precision, occurrence_of

pytestmark = pytest.mark.unit


def test_timestamp_is_exact_and_normalised_to_utc() -> None:
    occ = occurrence_of("2026-02-04T09:00:00+04:00")
    assert occ.precision is Precision.INSTANT
    assert occ.earliest == occ.latest == datetime(2026, 2, 4, 5, 0, tzinfo=UTC)
    assert occ.text == "2026-02-04T09:00:00+04:00"


def test_day_is_the_whole_utc_day() -> None:
    occ = occurrence_of("2026-02-04")
    assert occ.precision is Precision.DAY
    assert occ.earliest == datetime(2026, 2, 4, tzinfo=UTC)
    assert occ.latest == datetime(2026, 2, 4, 23, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "last_day"), [("2026-01", 31), ("2026-02", 28), ("2024-02", 29), ("2026-12", 31)]
)
def test_month_is_the_whole_month(text: str, last_day: int) -> None:
    occ = occurrence_of(text)
    assert occ.precision is Precision.MONTH
    assert occ.earliest.day == 1
    assert occ.latest.day == last_day
    assert (occ.latest.hour, occ.latest.minute) == (23, 59)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-02-04T09:00:00", "no UTC offset"),
        ("2026-13", "month 13"),
        ("2026-02-30", "not a calendar day"),
        ("yesterday", "is not an ISO 8601"),
        ("2026", "is not an ISO 8601"),
    ],
)
def test_bad_occurrences_say_what_is_allowed(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        occurrence_of(text)
