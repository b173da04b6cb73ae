"""Plan tokens: Ed25519 over the facts; the key generated once, private to its owner."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cadastre.errors import InvalidPlanTokenError
from cadastre.national import kyrg06_srid
from cadastre.signing import load_or_create_key, sign_facts, verify_token

FACTS = {"c": "1-02-08-0015-0098", "a": 512.3, "s": 7694}


def test_the_key_is_generated_once_and_kept_private(tmp_path: Path) -> None:
    path = tmp_path / "cadastre" / "plan-signing-key.pem"
    key = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = sign_facts(key, FACTS)
    assert verify_token(load_or_create_key(path), token) == FACTS  # the same key again


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t.replace(".", ".A", 1),  # signature changed
        lambda t: "eyJjIjoiMS0wMi0wOC0wMDE1LTAwOTkifQ" + t[t.index(".") :],  # other facts
        lambda t: t + ".x",  # malformed
        lambda t: "",
        lambda t: "é." + t,
    ],
)
def test_a_damaged_token_is_refused(tmp_path: Path, damage: object) -> None:
    key = load_or_create_key(tmp_path / "key.pem")
    with pytest.raises(InvalidPlanTokenError):
        verify_token(key, damage(sign_facts(key, FACTS)))  # type: ignore[operator]


def test_a_token_of_another_key_is_refused(tmp_path: Path) -> None:
    token = sign_facts(load_or_create_key(tmp_path / "other.pem"), FACTS)
    with pytest.raises(InvalidPlanTokenError, match="signature does not match"):
        verify_token(load_or_create_key(tmp_path / "ours.pem"), token)


@pytest.mark.parametrize(
    ("lon", "srid"), [(69.5, 7692), (72.8, 7693), (74.6, 7694), (78.4, 7695), (80.2, 7696)]
)
def test_kyrg06_zone_of_a_longitude(lon: float, srid: int) -> None:
    assert kyrg06_srid(lon) == srid
