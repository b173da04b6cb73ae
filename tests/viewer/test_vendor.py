"""Where the browser libraries are found: the setting, the source tree, the directory pip
installed from, or `<prefix>/share/kg-geoportal/browser-libs/node_modules` of an installed
package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from geoportal.viewer import vendor
from geoportal.viewer.vendor import find_vendor_dir, vendor_dir_candidates, vendor_dir_of
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]


def test_a_checkout_finds_its_own_browser_libs() -> None:
    assert vendor_dir_candidates()[0] == ROOT / "browser-libs" / "node_modules"
    found = find_vendor_dir()
    assert found == ROOT / "browser-libs" / "node_modules"
    assert (found / "maplibre-gl" / "dist" / "maplibre-gl.js").is_file()
    assert (ROOT / "browser-libs" / "package.json").is_file()


def test_the_setting_wins(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, viewer_vendor_dir=tmp_path / "libs")
    assert vendor_dir_of(settings) == tmp_path / "libs"
    assert vendor_dir_of(make_settings(tmp_path)) == find_vendor_dir()


def test_the_last_place_is_the_installation_prefix() -> None:
    share = Path(sys.prefix) / "share" / "kg-geoportal" / "browser-libs" / "node_modules"
    assert vendor_dir_candidates()[-1] == share


def test_an_installed_package_finds_the_libraries_under_its_prefix(tmp_path: Path) -> None:
    """A fresh environment whose `site-packages` holds the package outside any source tree,
    with no record of where it was installed from: the libraries under its prefix are used."""
    env = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    site = tmp_path / "site"
    (site / "geoportal" / "viewer").mkdir(parents=True)
    for package in (site / "geoportal", site / "geoportal" / "viewer"):
        (package / "__init__.py").write_text("")
    shutil.copy(vendor.__file__, site / "geoportal" / "viewer" / "vendor.py")
    libs = env / "share" / "kg-geoportal" / "browser-libs" / "node_modules"

    def found() -> Path:
        probe = "from geoportal.viewer.vendor import find_vendor_dir; print(find_vendor_dir())"
        result = subprocess.run(
            [str(env / "bin" / "python"), "-c", probe],
            capture_output=True,
            text=True,
            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
            cwd=tmp_path,
            timeout=60,
            check=True,
        )
        return Path(result.stdout.strip())

    # Nowhere yet: the first place is named (the viewer's 503 page says where to install).
    assert found() == site / "browser-libs" / "node_modules"
    (libs / "maplibre-gl").mkdir(parents=True)
    assert found() == libs
