"""What became of the lines of a file: accepted, duplicates, and rejections with reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True, slots=True)
class Rejection:
    """A line that was not recorded, and why (one reason per field in error)."""

    line: int
    reasons: tuple[str, ...]

    def describe(self) -> list[str]:
        """One ``line N: reason`` per reason."""
        return [f"line {self.line}: {reason}" for reason in self.reasons]


Outcome = Literal["accepted", "duplicate"] | Rejection


@dataclass
class Summary:
    """What became of the lines of a file; filled in as lines finish."""

    accepted: int = 0
    duplicates: int = 0
    rejections: list[Rejection] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)

    @property
    def done(self) -> int:
        return self.accepted + self.duplicates + self.rejected

    def add(self, outcome: Outcome) -> None:
        """Count one line's outcome."""
        if outcome == "accepted":
            self.accepted += 1
        elif outcome == "duplicate":
            self.duplicates += 1
        else:
            self.rejections.append(outcome)

    def report(self) -> str:
        """The counts, then one line per reason of each rejected line, in file order."""
        out = [f"accepted {self.accepted}, duplicates {self.duplicates}, rejected {self.rejected}"]
        for rejection in sorted(self.rejections, key=lambda r: r.line):
            out.extend(rejection.describe())
        return "\n".join(out)
