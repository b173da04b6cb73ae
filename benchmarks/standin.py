"""The layer under test, and our app serving it even before the layer is declared.

While `agri_plots` has no declaration in `layers/declarations/`, the benchmarks use the
stand-in declaration `standin_agri_plots.yaml` and serve our app with it added to the
catalogue (`app_factory` below). Once the layer is declared, the real declaration wins and the
servers run the unmodified `geoportal.server.asgi:app_factory`.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import yaml
from starlette.applications import Starlette

from layers.catalogue import Catalogue, load_catalogue
from layers.errors import LayerNotFoundError
from layers.model import Layer

STANDIN_FILE = Path(__file__).with_name("standin_agri_plots.yaml")
OUR_APP = "geoportal.server.asgi:app_factory()"
STANDIN_APP = "benchmarks.standin:app_factory()"


def standin_layers() -> dict[str, Layer]:
    """The stand-in declarations by layer id."""
    layer = Layer.model_validate(yaml.safe_load(STANDIN_FILE.read_text("utf-8")))
    return {layer.id: layer}


def find_layer(layer_id: str) -> tuple[Layer, bool]:
    """The declaration of `layer_id` and whether it is the real one (not the stand-in).

    Raises:
        LayerNotFoundError: neither declared nor stood in for.
    """
    try:
        return load_catalogue().get(layer_id), True
    except LayerNotFoundError:
        standins = standin_layers()
        if layer_id not in standins:
            raise
        return standins[layer_id], False


def catalogue_with_standins() -> Catalogue:
    """The declared catalogue plus the stand-ins of layers it does not declare yet."""
    catalogue = load_catalogue()
    extra = tuple(
        layer for layer_id, layer in standin_layers().items() if layer_id not in catalogue.ids
    )
    return Catalogue(layers=catalogue.layers + extra, rasters=catalogue.rasters)


def missing_tables(conninfo: str, catalogue: Catalogue) -> list[str]:
    """Ids of declared layers whose table is not in the database (yet)."""
    with psycopg.connect(conninfo) as conn:
        return [
            layer.id
            for layer in catalogue
            if conn.execute(
                "SELECT to_regclass(%s)", [f'"{layer.schema_name}"."{layer.table}"']
            ).fetchone()
            == (None,)
        ]


def app_spec(layer_id: str, conninfo: str) -> str:
    """gunicorn's `module:factory()` for our app: the unmodified one when the layer is
    declared and every declared table exists, else ours with the stand-in catalogue."""
    if find_layer(layer_id)[1] and not missing_tables(conninfo, load_catalogue()):
        return OUR_APP
    return STANDIN_APP


def app_factory() -> Starlette:
    """Our app as `geoportal.server.asgi:app_factory` builds it, with a catalogue of the
    stand-ins plus the declared layers whose tables exist in the bench database (while the
    declarations run ahead of the migrations, the app would refuse to start).

    `create_app` loads the catalogue itself (it has no catalogue parameter yet), so its
    module-level `load_catalogue` is replaced in this worker process before it is called.
    """
    from geoportal.db.database import Database
    from geoportal.server import app as app_module
    from geoportal.settings import Settings

    settings = Settings()
    catalogue = catalogue_with_standins()
    missing = set(missing_tables(Database(settings).admin_conninfo(), catalogue))
    catalogue = Catalogue(
        layers=tuple(x for x in catalogue.layers if x.id not in missing), rasters=catalogue.rasters
    )
    app_module.load_catalogue = lambda directory=None: catalogue  # type: ignore[assignment]
    return app_module.create_app(settings)
