"""Controlled vocabularies: every enumerated value Parley accepts, with what it means.

Kept in one place so that validation, the JSON schemas, ``GET /v1/vocabularies`` and the
docs all say the same thing.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from shared.vocabulary.base import DescribedEnum
from shared.vocabulary.conflict import CeasefireEndReason, CeasefireScope, TargetType, WeaponType
from shared.vocabulary.parties import ORGANISATIONS, PARTIES, Party
from shared.vocabulary.reports import CREDIBILITY, Reliability, RetractionReason
from shared.vocabulary.talks import (
    AGAINST_STANCES,
    FOR_STANCES,
    HEDGED_STANCES,
    AgreementStage,
    Assessment,
    Conditionality,
    DelegationLevel,
    Gap,
    Issue,
    RoundFormat,
    RoundOutcome,
    Stance,
    ThirdPartyRole,
)

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def _slug(value: str) -> str:
    if len(value) > 64 or not _SLUG.match(value):
        raise ValueError(
            "must be a lower-case slug: letters a-z, digits and single hyphens, "
            "at most 64 characters (e.g. 'abu-dhabi-trilateral')"
        )
    return value


def _local_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("must be 1-64 characters of letters, digits, '.', '_' or '-' (e.g. 'r2')")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
#: Ids the reporters choose for rounds, ceasefires and agreements within one talks.
LocalId = Annotated[str, AfterValidator(_local_id)]

#: Every enumerated vocabulary by the name the API publishes it under.
VOCABULARIES: dict[str, type[DescribedEnum]] = {
    "round_format": RoundFormat,
    "round_outcome": RoundOutcome,
    "delegation_level": DelegationLevel,
    "assessment": Assessment,
    "issue": Issue,
    "stance": Stance,
    "conditionality": Conditionality,
    "gap": Gap,
    "agreement_stage": AgreementStage,
    "third_party_role": ThirdPartyRole,
    "target_type": TargetType,
    "weapon_type": WeaponType,
    "ceasefire_scope": CeasefireScope,
    "ceasefire_end_reason": CeasefireEndReason,
    "reliability": Reliability,
    "retraction_reason": RetractionReason,
}

__all__ = [
    "AGAINST_STANCES",
    "CREDIBILITY",
    "FOR_STANCES",
    "HEDGED_STANCES",
    "ORGANISATIONS",
    "PARTIES",
    "VOCABULARIES",
    "AgreementStage",
    "Assessment",
    "CeasefireEndReason",
    "CeasefireScope",
    "Conditionality",
    "DelegationLevel",
    "DescribedEnum",
    "Gap",
    "Issue",
    "LocalId",
    "Party",
    "Reliability",
    "RetractionReason",
    "RoundFormat",
    "RoundOutcome",
    "Slug",
    "Stance",
    "TargetType",
    "ThirdPartyRole",
    "WeaponType",
]
