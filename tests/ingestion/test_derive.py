"""Derivations a declaration can apply to source columns."""

import pytest

from ingestion.derive import first_cyrillic, get_derivation, kyrgyz_name
from ingestion.errors import UnknownDerivationError


@pytest.mark.parametrize(
    ("value", "first", "kyrgyz"),
    [
        ("Bishkek;Frunze;Бишкек;Бишкек ош", "Бишкек", "Бишкек"),
        ("Karakol;Каракол;Каракол шаары;Пржевальск", "Каракол", "Каракол"),
        ("Naryn;Нарын;Нарын шаары", "Нарын", "Нарын"),
        ("Tokmok;Токмак;Токмок;Тоқмоқ", "Токмак", "Токмак"),
        ("Balykchy;Балыкчи;Балыкчы;Ысык-Көл", "Балыкчи", "Ысык-Көл"),
        ("Only;Latin", None, None),
        (None, None, None),
        (float("nan"), None, None),
    ],
)
def test_cyrillic_names(value: object, first: str | None, kyrgyz: str | None) -> None:
    assert first_cyrillic(value) == first
    assert kyrgyz_name(value) == kyrgyz


def test_unknown_derivation_lists_the_known_ones() -> None:
    with pytest.raises(UnknownDerivationError, match="first_cyrillic"):
        get_derivation("soundex")
