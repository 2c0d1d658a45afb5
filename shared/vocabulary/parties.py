"""Who takes part: states by ISO 3166-1 alpha-3 code, and a few organisations."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from shared.vocabulary.countries import COUNTRIES

ORGANISATIONS: dict[str, str] = {
    "EU": "European Union",
    "NATO": "North Atlantic Treaty Organization",
    "UN": "United Nations",
    "OSCE": "Organization for Security and Co-operation in Europe",
}

#: Every party code Parley accepts, with its name.
PARTIES: dict[str, str] = {**COUNTRIES, **ORGANISATIONS}


def check_party(value: str) -> str:
    """Accept a known party code; refuse anything else, listing what is allowed."""
    if value not in PARTIES:
        hint = f" (did you mean {value.upper()!r}?)" if value.upper() in PARTIES else ""
        raise ValueError(
            f"unknown party {value!r}{hint}: use an ISO 3166-1 alpha-3 code of a state "
            f"(e.g. UKR, RUS, USA, ARE) or one of {', '.join(ORGANISATIONS)}"
        )
    return value


Party = Annotated[str, AfterValidator(check_party)]
