"""The real geography every theme stands on: the open base layers' files shipped in `data/`
(Natural Earth, GeoNames, geoBoundaries, GEBCO, OpenStreetMap; provenance and licences in
`data/README.md`) and the stream network derived from the elevation model (`hydrology`)."""

from importlib import resources
from pathlib import Path


def demo_data_dir() -> Path:
    """The folder of the open data files shipped with the project (`demo/base/data`)."""
    return Path(str(resources.files("demo.base") / "data"))
