"""Events about earlier reports: corrections, retractions and added sources.

They change what is *known* from their own ``recorded_at`` on, never before.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from shared.events.envelope import Envelope, Source, Strict, Text
from shared.vocabulary import RetractionReason

CORRECTABLE = frozenset({"data", "occurred_at"})


class ReportCorrectedData(Strict):
    target_event_id: UUID
    changes: dict[str, Any] = Field(
        description=(
            "A JSON merge patch (RFC 7396) over {occurred_at, data} of the target event, "
            'e.g. {"data": {"killed": {"best": 12}}} or {"occurred_at": "2026-02-02"}.'
        )
    )
    reason: Text

    @field_validator("changes")
    @classmethod
    def _only_data_and_time(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("must change something")
        extra = set(value) - CORRECTABLE
        if extra:
            raise ValueError(
                f"may change only 'data' and 'occurred_at', not {', '.join(sorted(extra))}"
            )
        if "data" in value and not isinstance(value["data"], dict):
            raise ValueError("'data' must be an object (a merge patch over the target's data)")
        return value


class ReportRetractedData(Strict):
    target_event_id: UUID
    reason: RetractionReason
    duplicate_of: UUID | None = None

    @model_validator(mode="after")
    def _duplicate_names_the_original(self) -> ReportRetractedData:
        if (self.reason is RetractionReason.DUPLICATE) != (self.duplicate_of is not None):
            raise ValueError("duplicate_of is required with reason 'duplicate', and only then")
        return self


class SourceAddedData(Strict):
    target_event_id: UUID
    source: Source


class ReportCorrected(Envelope):
    """An earlier report was corrected."""

    type: Literal["report.corrected"] = "report.corrected"
    data: ReportCorrectedData


class ReportRetracted(Envelope):
    """An earlier report was withdrawn."""

    type: Literal["report.retracted"] = "report.retracted"
    data: ReportRetractedData


class SourceAdded(Envelope):
    """Another source was found for an earlier report."""

    type: Literal["source.added"] = "source.added"
    data: SourceAddedData
