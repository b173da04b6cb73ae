"""Start-up refuses a pygeoapi release the patches in geoportal/pygeoapi_ were not tested with."""

from __future__ import annotations

from importlib import metadata

import pytest

from geoportal import pygeoapi_
from geoportal.server.app import create_app
from geoportal.settings import Settings


def test_the_installed_release_is_the_tested_one() -> None:
    assert metadata.version("pygeoapi") == pygeoapi_.TESTED_VERSION == "0.24.0"
    pygeoapi_.check_version()  # does not raise


@pytest.mark.parametrize("installed", ["0.23.1", "0.24.1", "1.0.0"])
def test_another_release_is_refused_naming_both(installed: str) -> None:
    with pytest.raises(pygeoapi_.UnsupportedPygeoapiError) as err:
        pygeoapi_.check_version(installed)
    assert f"pygeoapi {installed} is installed" in str(err.value)
    assert "tested with pygeoapi 0.24.0" in str(err.value)


def test_create_app_refuses_an_untested_release(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if pygeoapi had been upgraded under us: the installed 0.24.0 is not the tested one."""
    monkeypatch.setattr(pygeoapi_, "TESTED_VERSION", "0.25.0")
    with pytest.raises(pygeoapi_.UnsupportedPygeoapiError, match="tested with pygeoapi 0.25.0"):
        create_app(settings)
