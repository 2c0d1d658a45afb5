"""The mechanics of a controlled vocabulary: string enums whose values carry a description."""

from __future__ import annotations

from enum import StrEnum


class DescribedEnum(StrEnum):
    """A string enum whose members carry a one-line description (``Member.description``)."""

    description: str

    def __new__(cls, value: str, description: str = "") -> DescribedEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    @classmethod
    def glossary(cls) -> dict[str, str]:
        """Every value with its description, in declaration order."""
        return {member.value: member.description for member in cls}
