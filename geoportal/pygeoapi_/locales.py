"""pygeoapi 0.24 hands the raw ``lang`` / ``Accept-Language`` string to ``best_match``,
which ignores anything but a list, so without this fix every provider that declares
``languages`` (the catalogue's records) is always given its first language."""

from __future__ import annotations

from typing import Any

from pygeoapi import l10n
from pygeoapi.util import get_choice_from_headers


def install_locale_fix() -> None:
    """Make ``pygeoapi.l10n.get_plugin_locale`` honour the requested language.

    pygeoapi calls it with ``request.raw_locale``, a string such as ``ru`` or
    ``ru-RU,ru;q=0.9,en;q=0.8``, and passes that to ``best_match``, which only
    reads lists. The wrapper turns the string into the preference-ordered list
    first. Idempotent; ``create_app`` installs it before the first request.
    """
    current = l10n.get_plugin_locale
    if getattr(current, "geoportal_fix", False):
        return

    def get_plugin_locale(config: dict, requested_locale: Any) -> Any:
        if isinstance(requested_locale, str) and requested_locale.strip():
            requested_locale = get_choice_from_headers(
                {"accept-language": requested_locale}, "accept-language", all=True
            )
        return current(config, requested_locale)

    get_plugin_locale.geoportal_fix = True  # type: ignore[attr-defined]
    l10n.get_plugin_locale = get_plugin_locale
