"""Everything that patches or reaches into pygeoapi, in one place.

pygeoapi is our OGC API engine, extended through its plugin interface (the providers in
``geoportal/providers/``). What goes beyond that interface lives here, because it depends on
pygeoapi's internals and must be re-checked on every pygeoapi upgrade:

* ``features_fast``: the JSON items and item requests answered in front of pygeoapi's app,
  with its parts ``items_collection`` (the collections it serves), ``items_query`` (pygeoapi's
  validators), ``items_negotiation`` (its private format negotiation) and
  ``items_responses`` (its link writing, headers and ETags);
* ``patches``: pygeoapi's bbox transform replaced by a cached equivalent;
* ``locales``: pygeoapi's provider-locale lookup fixed to honour the requested language;
* ``landing``: the viewer link added to pygeoapi's landing page;
* ``local_assets``: pygeoapi's HTML pages pointed at our copies of their browser libraries;
* ``conformance``: pygeoapi's list of Features conformance classes adjusted;
* ``processes``: the process manager over our job queue, the analyses' processors and the
  execution route in front of pygeoapi's (``docs/processes.md``).

:func:`check_version` refuses a pygeoapi this code was not tested with; :func:`install`
applies the in-process changes (both called once by ``create_app``).
"""

from __future__ import annotations

from importlib import metadata

TESTED_VERSION = "0.24.0"
"""The pygeoapi release the code of this package was written and tested against."""


class UnsupportedPygeoapiError(RuntimeError):
    """The installed pygeoapi is not the release this package was tested with."""


def check_version(installed: str | None = None) -> None:
    """Refuse to start with a pygeoapi other than :data:`TESTED_VERSION`.

    Args:
        installed: the version to check (default: the installed distribution's).

    Raises:
        UnsupportedPygeoapiError: naming both versions.
    """
    installed = installed or metadata.version("pygeoapi")
    if installed != TESTED_VERSION:
        raise UnsupportedPygeoapiError(
            f"pygeoapi {installed} is installed, but the geoportal was tested with pygeoapi "
            f"{TESTED_VERSION} only: it patches and reaches into pygeoapi's internals "
            "(geoportal/pygeoapi_/). Install pygeoapi=="
            f"{TESTED_VERSION}, or re-check geoportal/pygeoapi_/ against {installed} and "
            "raise TESTED_VERSION."
        )


def install() -> None:
    """Apply the in-process changes to pygeoapi (idempotent)."""
    from geoportal.pygeoapi_ import conformance, landing, locales, patches

    conformance.declare_conformance()
    patches.apply()
    locales.install_locale_fix()
    landing.apply()
