"""`geoportal preview`: a quick-look HTML map of a layer or of one feature (folium)."""

from __future__ import annotations

from pathlib import Path

import psycopg
import typer
from rich.console import Console

from geoportal.db.database import Database
from geoportal.db.errors import DatabaseError
from geoportal.settings import Settings
from geoportal.viewer import preview
from geoportal.viewer.vendor import vendor_dir_of
from layers.catalogue import load_catalogue

console = Console(stderr=True)


def preview_command(
    layer_id: str = typer.Argument(..., help="Id of the layer, e.g. settlements."),
    out: Path = typer.Argument(..., help="The HTML file to write, e.g. settlements.html."),
    feature_id: str | None = typer.Option(None, "--id", help="Draw only this feature id."),
    limit: int = typer.Option(
        preview.DEFAULT_LIMIT,
        min=1,
        max=preview.MAX_LIMIT,
        help="At most this many features (the first by id).",
    ),
    language: str = typer.Option("en", "--lang", help="Language of the labels: ky, ru or en."),
) -> None:
    """Write a self-contained HTML map of LAYER (or of one feature with --id): Leaflet and the
    other libraries are inlined from browser-libs/node_modules, so the file opens anywhere, with no
    network. The database must be running (`geoportal db up`) and loaded.

    Example: `geoportal preview cadastre_parcels parcel.html --id 42`
    """
    if language not in ("ky", "ru", "en"):
        raise typer.BadParameter("must be ky, ru or en", param_hint="--lang")
    settings = Settings()
    catalogue = load_catalogue()
    layer = catalogue.get(layer_id)
    try:
        with psycopg.connect(Database(settings).public_conninfo, connect_timeout=10) as conn:
            data = preview.read_preview_data(
                conn, layer, feature_id, limit, preview.context_layers(catalogue)
            )
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"cannot read {layer_id}: the database is not reachable "
            f"(start it with `geoportal db up`): {exc}"
        ) from exc
    except preview.PreviewError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    try:
        html = preview.render_standalone(
            preview.build_map(layer, data, language), vendor_dir_of(settings)
        )
    except preview.PreviewError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    out.write_text(html, "utf-8")
    console.print(
        f"wrote {out} ({len(data.features['features'])} features, {len(html) // 1024} KiB)"
    )
