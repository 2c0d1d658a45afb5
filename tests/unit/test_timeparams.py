from datetime import UTC, datetime

import pytest

from services.api.timeparams import BadTime, parse_time

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def test_a_date_is_the_end_of_that_utc_day_and_absent_is_now() -> None:
    assert parse_time("as_of", "2026-02-03", NOW) == datetime(
        2026, 2, 3, 23, 59, 59, 999999, tzinfo=UTC
    )
    assert parse_time("as_of", None, NOW) == NOW
    assert parse_time("as_of", "2026-02-04T09:00:00+04:00", NOW) == datetime(
        2026, 2, 4, 5, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("2026-02-03T10:00:00", "no UTC offset"),
        ("yesterday", "is not a date"),
        ("9999-12-31", "outside the years"),
        ("0001-01-01T00:00:00+05:00", "is not a date"),
    ],
)
def test_bad_times_are_refused_with_a_reason(text: str, says: str) -> None:
    with pytest.raises(BadTime, match=says):
        parse_time("as_of", text, NOW)
