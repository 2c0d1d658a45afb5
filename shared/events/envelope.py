"""The envelope every event shares, and the small value types events are built from."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from shared.occurrence import Occurrence, check_occurrence, occurrence_of
from shared.vocabulary import CREDIBILITY, Reliability, Slug


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an absolute http(s) URL")
    return value


def _credibility(value: int) -> int:
    if value not in CREDIBILITY:
        raise ValueError("must be 1 (confirmed) to 6 (cannot be judged), the Admiralty scale")
    return value


#: A time as precise as the report: a timestamp with offset, a day, or a month.
PointInTime = Annotated[str, AfterValidator(check_occurrence)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Strict(BaseModel):
    """Base of every event model: immutable, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class OccurredBetween(Strict):
    """An explicit window, for reports like "in the days before the talks"."""

    earliest: PointInTime
    latest: PointInTime

    @model_validator(mode="after")
    def _ordered(self) -> OccurredBetween:
        if occurrence_of(self.earliest).earliest > occurrence_of(self.latest).latest:
            raise ValueError("earliest must not be after latest")
        return self


class Source(Strict):
    """Where a report came from, graded on the Admiralty scale if the analyst graded it."""

    url: HttpUrl
    publisher: Name | None = None
    published_at: PointInTime | None = None
    reliability: Reliability | None = None
    credibility: Annotated[int, AfterValidator(_credibility)] | None = None


class Person(Strict):
    name: Name
    title: Name | None = None


class Speaker(Strict):
    name: Name
    role: Name | None = None


class Venue(Strict):
    city: Name
    country: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Envelope(Strict):
    """Fields shared by every event type."""

    event_id: UUID | None = None
    type: str
    talks_id: Slug
    occurred_at: PointInTime | OccurredBetween
    sources: list[Source] = Field(default_factory=list, max_length=50)
    recorded_at: datetime | None = None
    data: Any

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _one_clear_error(cls, value: Any) -> Any:
        """Check the two forms here, so that an error names ``occurred_at`` and nothing deeper."""
        if isinstance(value, str):
            return check_occurrence(value)
        if isinstance(value, dict) and set(value) == {"earliest", "latest"}:
            earliest, latest = (occurrence_of(value[k]) for k in ("earliest", "latest"))
            if earliest.earliest > latest.latest:
                raise ValueError("earliest must not be after latest")
            return value
        raise ValueError(
            "must be a timestamp with a UTC offset, a day (YYYY-MM-DD), a month (YYYY-MM), "
            'or {"earliest": ..., "latest": ...} with two of those'
        )

    @field_validator("recorded_at")
    @classmethod
    def _recorded_by_server(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if value is not None and info.context and info.context.get("submission"):
            raise ValueError("recorded_at is set by the server; leave it out")
        if value is not None and value.tzinfo is None:
            raise ValueError("recorded_at must carry a UTC offset")
        return value

    @property
    def occurrence(self) -> Occurrence:
        """When it happened, as the interval ``[earliest, latest]``."""
        when = self.occurred_at
        if isinstance(when, OccurredBetween):
            return occurrence_of(when.earliest).between(occurrence_of(when.latest))
        return occurrence_of(when)
