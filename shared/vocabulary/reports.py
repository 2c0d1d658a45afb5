"""The vocabulary of reporting: source grading (Admiralty system) and retractions."""

from __future__ import annotations

from shared.vocabulary.base import DescribedEnum


class Reliability(DescribedEnum):
    """How reliable the source has been (Admiralty / NATO system)."""

    A = "A", "Completely reliable."
    B = "B", "Usually reliable."
    C = "C", "Fairly reliable."
    D = "D", "Not usually reliable."
    E = "E", "Unreliable."
    F = "F", "Reliability cannot be judged."


#: How credible the information itself is (Admiralty / NATO system), 1 to 6.
CREDIBILITY: dict[int, str] = {
    1: "Confirmed by other sources.",
    2: "Probably true.",
    3: "Possibly true.",
    4: "Doubtful.",
    5: "Improbable.",
    6: "Truth cannot be judged.",
}


class RetractionReason(DescribedEnum):
    FALSE_REPORT = "false_report", "The reported event did not happen."
    DUPLICATE = "duplicate", "The same event was already recorded (see duplicate_of)."
    OUT_OF_SCOPE = "out_of_scope", "The event does not belong to these talks."
    SOURCE_WITHDRAWN = "source_withdrawn", "The only source withdrew its report."
