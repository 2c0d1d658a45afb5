from pathlib import Path

import pytest

from shared.vocabulary import VOCABULARIES

pytestmark = pytest.mark.unit

DOC = (Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md").read_text()


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_value_is_documented(name: str) -> None:
    rows = {m.value: f"| `{m.value}` | {m.description} |" for m in VOCABULARIES[name]}
    missing = [value for value, row in rows.items() if row not in DOC]
    assert missing == [], f"docs/vocabulary.md lacks {name}: {missing}"


@pytest.mark.parametrize("name", sorted(VOCABULARIES))
def test_every_value_has_a_description(name: str) -> None:
    assert all(m.description for m in VOCABULARIES[name])
