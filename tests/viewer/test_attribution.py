"""Every declared attribution has its Kyrgyz and Russian text, with no English word left in
it but the names of sources, works and licences (`geoportal/viewer/attribution.py`)."""

from __future__ import annotations

import re

import pytest

from geoportal.viewer.attribution import PROPER_NAMES, translated_attribution
from layers.catalogue import Catalogue, load_catalogue

TOKEN = re.compile(r"[A-Za-z0-9]+")


def english_words(text: str) -> set[str]:
    """The Latin-letter words of `text` that are not proper names (codes with digits, such as
    a DOI's, are no words)."""
    words = (token for token in TOKEN.findall(text) if token.isalpha() and len(token) > 1)
    return {word for word in words if word not in PROPER_NAMES}


def declared_attributions(catalogue: Catalogue) -> list[str]:
    texts = [layer.attribution for layer in catalogue]
    texts += [raster.attribution for raster in catalogue.rasters]
    return sorted({" ".join(text.split()) for text in texts})


@pytest.mark.parametrize("text", declared_attributions(load_catalogue()))
def test_every_declared_attribution_is_translated(text: str) -> None:
    translated = translated_attribution(text)
    assert translated["en"] == text
    assert english_words(text), text  # the check below has something to find
    for lang in ("ky", "ru"):
        assert translated[lang] != text, (lang, text)
        assert not english_words(translated[lang]) & english_words(text), (lang, translated)


def test_an_unknown_attribution_stays_as_given() -> None:
    assert translated_attribution("  Data  from a partner ") == {
        "ky": "Data from a partner",
        "ru": "Data from a partner",
        "en": "Data from a partner",
    }
