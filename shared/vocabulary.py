"""Controlled vocabularies: every enumerated value Parley accepts, with what it means.

Each enum member carries a one-line description (``Member.description``) so that the schemas,
the docs and error messages all say the same thing.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator


class DescribedEnum(StrEnum):
    """A string enum whose members carry a one-line description."""

    description: str

    def __new__(cls, value: str, description: str = "") -> DescribedEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member


class RoundFormat(DescribedEnum):
    TRILATERAL = "trilateral", "Three parties meet at one table, one of them mediating."
    BILATERAL = "bilateral", "The two belligerents meet directly."
    PROXIMITY = "proximity", "Parties sit apart; mediators shuttle between them."
    WORKING_GROUP = "working_group", "Technical teams meet on one issue."


class RoundOutcome(DescribedEnum):
    AGREEMENT_SIGNED = "agreement_signed", "A written agreement was signed."
    JOINT_STATEMENT = "joint_statement", "The parties issued a joint statement, nothing signed."
    PARTIAL_PROGRESS = "partial_progress", "Progress on some issues, no agreement."
    NO_AGREEMENT = "no_agreement", "The round ended without agreement."
    SUSPENDED = "suspended", "The round was interrupted and may resume."
    WALKOUT = "walkout", "A party left the table."


_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_PARTY = re.compile(r"^[A-Z]{3}$")
_ROUND = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _slug(value: str) -> str:
    if len(value) > 64 or not _SLUG.match(value):
        raise ValueError(
            "must be a lower-case slug: letters a-z, digits and single hyphens, "
            "at most 64 characters (e.g. 'abu-dhabi-trilateral')"
        )
    return value


def _party(value: str) -> str:
    if not _PARTY.match(value):
        raise ValueError("must be an ISO 3166-1 alpha-3 country code in capitals (e.g. 'UKR')")
    return value


def _round_id(value: str) -> str:
    if not _ROUND.match(value):
        raise ValueError("must be 1-64 characters of letters, digits, '.', '_' or '-' (e.g. 'r2')")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
PartyCode = Annotated[str, AfterValidator(_party)]
RoundId = Annotated[str, AfterValidator(_round_id)]
