"""`geoportal layers ...`: the national layer catalogue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from geoportal.cli.osm_cmd import import_osm
from geoportal.db.database import Database
from geoportal.job_kinds import CLI_OWNER, job_kinds, run_layer_load
from geoportal.settings import Settings
from jobs import JobFailedError, queue
from layers.catalogue import load_catalogue

console = Console()
app = typer.Typer(
    help="The national layers declared in layers/declarations/.", no_args_is_help=True
)


@app.command("list")
def list_layers(
    language: str = typer.Option("en", "--lang", help="Language of the titles: ky, ru or en."),
) -> None:
    """List the declared layers with their theme, geometry and loaded feature count."""
    catalogue = load_catalogue()
    counts: dict[str, int] = {}
    try:
        with psycopg.connect(Database(Settings()).public_conninfo, connect_timeout=3) as conn:
            counts = dict(
                conn.execute("SELECT layer_id, feature_count FROM catalog.layer_stats").fetchall()
            )
    except psycopg.Error:
        console.print("[yellow]database not reachable: feature counts not shown[/]")
    table = Table("id", "theme", "title", "geometry", "features")
    for layer in catalogue:
        table.add_row(
            layer.id,
            layer.theme,
            layer.title.get(language),
            layer.geometry_type,
            str(counts.get(layer.id, "-")),
        )
    console.print(table)


@app.command()
def load(
    layer_id: str = typer.Argument(..., help="Id of the layer, e.g. cadastre_parcels."),
    path: Path = typer.Argument(
        ...,
        help="GeoPackage, zipped Shapefile, GeoJSON, KML, CSV (WKT or lon/lat columns) or "
        "FlatGeobuf file.",
    ),
    mode: str = typer.Option(
        "replace",
        "--mode",
        help="replace (the layer's rows, or those in your oblasts), append, or upsert (by "
        "the layer's natural key).",
    ),
    mapping: Path | None = typer.Option(
        None,
        "--mapping",
        help="YAML: field name -> source column, or {column, map, default, derive}.",
    ),
    source_layer: str | None = typer.Option(
        None, "--source-layer", help="The table of a GeoPackage or multi-layer file."
    ),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Text encoding of the attributes, e.g. CP1251."
    ),
    crs: str | None = typer.Option(
        None, "--crs", help="CRS of a file that declares none, e.g. EPSG:7694."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; change nothing."),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="Leave the rows with blocking problems out and load the rest."
    ),
    report_path: Path | None = typer.Option(
        None, "--report", help="Also write the validation report here (.json or .html)."
    ),
    background: bool = typer.Option(
        False,
        "--background",
        help="Queue the load as a job for `geoportal worker` (print its id and return; "
        "follow it with `geoportal jobs show ID --wait`). The file must be readable by the "
        "worker's machine.",
    ),
) -> None:
    """Load a file into one layer: every row validated (a full report of every problem),
    reprojected, then merged in one transaction. A refused or failed load changes nothing."""
    import yaml

    layer = load_catalogue().get(layer_id)
    inputs: dict[str, Any] = {
        "layer": layer.id,
        "path": str(path.resolve()),
        "mode": mode,
        "sourceLayer": source_layer,
        "encoding": encoding,
        "crs": crs,
        "dryRun": dry_run,
        "skipInvalid": skip_invalid,
    }
    if mapping is not None:
        inputs["mapping"] = yaml.safe_load(mapping.read_text("utf-8")) or {}
    inputs = {k: v for k, v in inputs.items() if v is not None}
    if background:
        _queue_load(layer.id, path, inputs)
        return
    try:
        results = run_layer_load(Settings(), inputs, owner=CLI_OWNER)
    except JobFailedError as exc:
        _print_report((exc.results or {}).get("report"), report_path, exc.results)
        raise  # one clear line on stderr, exit status 1 (geoportal.cli.main)
    _print_report(results["report"], report_path, results)
    verb = "would load" if results["dryRun"] else "loaded"
    console.print(
        f"{verb} {layer_id} ({mode}): {results['inserted']} inserted, {results['updated']} "
        f"updated, {results['deleted']} deleted, {results['skipped']} rows left out"
    )


def _print_report(
    report: dict[str, Any] | None, path: Path | None, results: dict[str, Any] | None
) -> None:
    """Every problem of the report on the console, and the report in a file when asked."""
    if not report:
        return
    for problem in report["problems"]:
        colour = "red" if problem["blocking"] else "yellow"
        where = f" {problem['field']}" if "field" in problem else ""
        rows = f" rows {problem['rows']}" if problem.get("rows") else ""
        closest = f" closest: {problem['closest']}" if problem.get("closest") else ""
        console.print(
            f"[{colour}]{problem['code']}[/]{where} ({problem['count']}): "
            f"{problem['message']}{rows}{closest}"
        )
    if path is not None:
        if path.suffix == ".html":
            path.write_text(str((results or {}).get("reportHtml", "")), "utf-8")
        else:
            path.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")


def _queue_load(layer_id: str, path: Path, inputs: dict[str, Any]) -> None:
    """Submit a `layers.load` job (owned by the operator account `cli`: admins see it)."""
    settings = Settings()
    if not path.is_file():
        console.print(f"[bold red]error:[/] no file {path}")
        raise typer.Exit(1)
    kind = job_kinds(settings)["layers.load"]
    with psycopg.connect(Database(settings).owner_conninfo, connect_timeout=10) as conn:
        job = queue.submit(conn, kind, inputs, owner=CLI_OWNER, title=f"load {layer_id}")
    console.print(f"queued job {job.id}: `geoportal jobs show {job.id} --wait` follows it")


app.command("import-osm")(import_osm)
