"""Typed models of a layer declaration: the one place a national layer is described.

The database table, the pygeoapi collection, the catalogue record and (later) the tiles,
the viewer's layer list and the downloads are all derived from a :class:`Layer`.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Language = Literal["ky", "ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ky", "ru", "en")

Identifier = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
"""A lower-case snake_case SQL identifier: safe to quote, stable as a URL segment."""

FieldType = Literal["text", "integer", "bigint", "double", "boolean", "date", "timestamptz"]
GeometryType = Literal[
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
]

SQL_TYPES: dict[str, str] = {
    "text": "text",
    "integer": "integer",
    "bigint": "bigint",
    "double": "double precision",
    "boolean": "boolean",
    "date": "date",
    "timestamptz": "timestamp with time zone",
}

RESTRICTED_SCHEMA = "restricted"
"""The schema of personal data: the public database role has no privilege on it at all."""

THEMES: tuple[str, ...] = (
    "base",
    "roads",
    "agriculture",
    "irrigation",
    "cadastre",
    "sports",
    "disaster",
    "city",
    "environment",
)
"""Themes a layer may belong to (an agency's write permission is granted per theme)."""

SUPPORTED_CRS: tuple[int, ...] = (4326, 3857, 7692, 7693, 7694, 7695, 7696, 32642, 32643, 32644)
"""EPSG codes every vector layer can be served in (OGC API Features Part 2)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Trilingual(_Frozen):
    """A text in Kyrgyz, Russian and English; all three are required."""

    ky: str = Field(min_length=1)
    ru: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: str) -> str:
        """The text in `language`, English when the language is not one of ours."""
        return getattr(self, language) if language in LANGUAGES else self.en


class Keywords(_Frozen):
    """Keywords per language."""

    ky: list[str] = Field(min_length=1)
    ru: list[str] = Field(min_length=1)
    en: list[str] = Field(min_length=1)


class ValueSource(_Frozen):
    """Where a field's value comes from in the source file.

    `column` names the source column; `map` translates some of its values (values not in the
    map pass through unchanged); `default` replaces a missing (null) value; `derive` names a
    derivation known to the ingestion package (`first_cyrillic`, `kyrgyz_name`), applied to
    the column before the map.
    """

    column: str
    map: dict[str, str | int | float | bool | None] | None = None
    default: str | int | float | bool | None = None
    derive: str | None = None


class LayerField(_Frozen):
    """One attribute column of a layer."""

    name: Identifier
    type: FieldType
    title: Trilingual
    required: bool = False
    unique: bool = False
    minimum: float | None = None
    maximum: float | None = None
    enum: list[str] | None = None
    labels: dict[str, Trilingual] | None = None
    """What each allowed value (`enum`) reads as in Kyrgyz, Russian and English."""
    public: bool = True
    source: str | ValueSource | None = None
    references: Identifier | None = None
    """Id of another layer whose `id` this field holds (a foreign key)."""

    @model_validator(mode="after")
    def _labels_name_allowed_values(self) -> LayerField:
        if self.enum is None:
            if self.labels is not None:
                raise ValueError(f"field {self.name}: labels without enum")
            return self
        unknown = [value for value in self.labels or {} if value not in self.enum]
        if unknown:
            raise ValueError(
                f"field {self.name}: labels of values not in enum: {', '.join(unknown)}"
            )
        return self

    @property
    def unlabelled_values(self) -> list[str]:
        """Allowed values without a ky/ru/en label (a declaration must label them all)."""
        return [value for value in self.enum or [] if value not in (self.labels or {})]

    @property
    def sql_type(self) -> str:
        """The PostgreSQL type of the column."""
        return SQL_TYPES[self.type]

    @property
    def value_source(self) -> ValueSource | None:
        """The source spec in its long form (a bare string is a column name)."""
        if isinstance(self.source, str):
            return ValueSource(column=self.source)
        return self.source

    @property
    def is_temporal(self) -> bool:
        """True for date and timestamp fields."""
        return self.type in ("date", "timestamptz")


class SourceJoin(_Frozen):
    """A second file joined to the main source on a key (left join)."""

    file: str
    on: str
    prefix: str = Field(pattern=r"^[a-z][a-z0-9]*_$")


class LayerSource(_Frozen):
    """Where a layer's demo data comes from.

    Either an open data `file` (relative to the folder the loader is given), or
    `generated: true` for the layers that have no open source: their file is written by a
    generator, which names it, with one column per declared field (same name) and,
    optionally, an integer `id` column that becomes the feature id (so other generated layers
    can reference it), `derived: true` for a layer computed in the database from other
    loaded layers (the address registry from buildings and parcels): it has no file and is
    derived again after each load of the layers it comes from, or `pipeline: <package>` for a
    layer that package's pipeline writes (the imagery products): the demo loader leaves it alone.
    """

    file: str | None = None
    layer: str | None = None
    joins: list[SourceJoin] = []
    repair_invalid: bool = False
    generated: bool = False
    derived: bool = False
    pipeline: Identifier | None = None

    @model_validator(mode="after")
    def _one_origin(self) -> LayerSource:
        origins = [self.file is not None, self.generated, self.derived, self.pipeline is not None]
        if sum(origins) != 1:
            raise ValueError(
                "a source is exactly one of a `file`, `generated: true`, `derived: true` or "
                "`pipeline: <package>`"
            )
        return self


class ZoomRange(_Frozen):
    """Web Mercator zoom levels at which the layer is drawn."""

    min: int = Field(ge=0, le=24)
    max: int = Field(ge=0, le=24)

    @model_validator(mode="after")
    def _ordered(self) -> ZoomRange:
        if self.min > self.max:
            raise ValueError(f"zoom min {self.min} is above zoom max {self.max}")
        return self


class TileBand(_Frozen):
    """Vector tile rules from zoom `min_zoom` up to the next band (or the layer's max zoom).

    Unset values take the defaults of the tile engine (`tiles/rules.py`): every public field,
    0.5 px simplification and 0.5 px minimum size below the layer's max zoom, none at it.
    """

    min_zoom: int = Field(ge=0, le=24)
    fields: list[Identifier] | None = None
    """Attributes in the tiles; None: every public field. Restricted fields are refused."""
    simplify_px: float | None = Field(default=None, ge=0, le=64)
    """Simplification tolerance in pixels of a 256-pixel tile at the tile's zoom."""
    simplify_m: float | None = Field(default=None, ge=0)
    """Simplification tolerance in metres on the ground (instead of `simplify_px`)."""
    min_size_px: float | None = Field(default=None, ge=0, le=256)
    """Lines and polygons smaller than this (pixels, both axes of their box) are dropped."""
    max_features: int | None = Field(default=None, ge=1, le=1_000_000)
    """At most this many features per tile; the highest `priority` (or largest) are kept."""
    priority: Identifier | None = None
    """Field whose largest values are kept first when `max_features` cuts (default: size)."""

    @model_validator(mode="after")
    def _one_tolerance(self) -> TileBand:
        if self.simplify_px is not None and self.simplify_m is not None:
            raise ValueError(
                f"tile band from zoom {self.min_zoom}: give simplify_px or simplify_m, not both"
            )
        return self


class TileRules(_Frozen):
    """How a layer is cut into vector tiles, per zoom band (bands in increasing zoom)."""

    bands: list[TileBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> TileRules:
        zooms = [band.min_zoom for band in self.bands]
        if zooms != sorted(set(zooms)):
            raise ValueError(f"tile bands must start at strictly increasing zooms, got {zooms}")
        return self


class RestrictedTable(_Frozen):
    """Personal data about a layer's features (names, personal identification numbers, phone
    numbers of natural persons), kept in its own table of the `restricted` schema.

    The table has its own `id`, a `feature_id` referencing the layer's feature (deleted with
    it) and the declared fields; with `one_per_feature` each feature has at most one row.
    It never becomes a collection, a tile attribute, a search field or a download, and the
    public database role has no privilege on it (CONVENTIONS "Restricted (personal) data").
    """

    table: Identifier
    title: Trilingual
    one_per_feature: bool = True
    fields: list[LayerField] = Field(min_length=1)

    @model_validator(mode="after")
    def _names(self) -> RestrictedTable:
        reserved = {"id", "feature_id", "geom"} & {f.name for f in self.fields}
        if reserved:
            raise ValueError(f"restricted table {self.table}: {sorted(reserved)} are reserved")
        return self


class Layer(_Frozen):
    """The declaration of one national vector layer."""

    id: Identifier
    theme: Identifier
    schema_name: Identifier = Field(alias="schema")
    table: Identifier
    title: Trilingual
    abstract: Trilingual
    keywords: Keywords
    geometry_type: GeometryType | None
    """None for a table without geometry (e.g. time series of a sensor layer)."""
    storage_srid: int = 4326
    custodian: Trilingual
    licence: str
    attribution: str
    update_frequency: Literal[
        "continual", "daily", "weekly", "monthly", "quarterly", "annually", "irregular", "asNeeded"
    ] = "irregular"
    lineage: str = ""
    fields: list[LayerField] = Field(min_length=1)
    title_field: str | None = None
    search_fields: list[str] = []
    time_field: str | None = None
    """The date/timestamp field that OGC API `datetime` filters on."""
    zoom: ZoomRange
    style: list[dict[str, Any]] = []
    """Default MapLibre style layers (without `source`/`source-layer`, which are derived)."""
    source: LayerSource | None = None
    tiles: TileRules | None = None
    """Per-zoom vector tile rules; None: defaults derived from `zoom` and the public fields."""
    restricted: RestrictedTable | None = None
    """Personal data about the features, in a table the public cannot read."""
    editable: bool | None = None
    """Agencies of the layer's theme may write it (OGC API Features Part 4); None: every
    thematic layer is, the base layers are not."""
    key: list[Identifier] | None = None
    """The natural key: the fields that name a feature outside the database (a cadastral
    code, an OSM id, ...); `layers load --mode upsert` matches rows on it. None: the layer
    can be replaced or appended to, not upserted."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> Layer:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"layer {self.id}: duplicate fields {duplicates}")
        reserved = {"id", "geom"} & set(names)
        if reserved:
            raise ValueError(f"layer {self.id}: {sorted(reserved)} are reserved column names")
        for name in [self.title_field, self.time_field, *self.search_fields]:
            if name is not None and name not in names:
                raise ValueError(f"layer {self.id}: {name!r} is not one of its fields {names}")
        if self.time_field and not self.field(self.time_field).is_temporal:
            raise ValueError(
                f"layer {self.id}: time_field {self.time_field!r} is not a date or timestamp"
            )
        for name in self.key or []:
            if name not in names:
                raise ValueError(f"layer {self.id}: key field {name!r} is not one of {names}")
        if self.key is not None and len(set(self.key)) != len(self.key or []):
            raise ValueError(f"layer {self.id}: key {self.key} names a field twice")
        if self.storage_srid not in SUPPORTED_CRS:
            raise ValueError(f"layer {self.id}: storage SRID {self.storage_srid} not supported")
        return self

    def policy_errors(self) -> list[str]:
        """What the national catalogue refuses in this declaration (checked when the
        declarations are loaded): a theme agencies cannot be bound to, or a restricted field
        as a column of a public table instead of in the layer's `restricted:` table."""
        errors = []
        if self.theme not in THEMES:
            errors.append(f"layer {self.id}: theme {self.theme!r} is not one of {THEMES}")
        hidden = [f.name for f in self.fields if not f.public]
        if hidden and not self.is_restricted:
            errors.append(
                f"layer {self.id}: fields {hidden} are not public; restricted fields "
                "live in the layer's `restricted:` table, never as columns of a "
                "public table"
            )
        return errors

    @property
    def is_restricted(self) -> bool:
        """True for the table of a layer's personal data (schema `restricted`)."""
        return self.schema_name == RESTRICTED_SCHEMA

    @property
    def is_editable(self) -> bool:
        """True when agencies of the theme may write the layer."""
        if self.is_restricted:
            return False
        return self.editable if self.editable is not None else self.theme != "base"

    @property
    def restricted_layer(self) -> Layer | None:
        """The restricted table as a layer without geometry (for DDL and loading), or None.

        Its id is the table name; its source is generated when the layer's is (the generator
        of the layer writes the restricted table's file too)."""
        if self.restricted is None:
            return None
        link = LayerField(
            name="feature_id",
            type="bigint",
            required=True,
            unique=self.restricted.one_per_feature,
            references=self.id,
            public=False,
            title=Trilingual(ky=f"{self.id} id", ru=f"id в {self.id}", en=f"{self.id} id"),
        )
        fields = [link, *(f.model_copy(update={"public": False}) for f in self.restricted.fields)]
        source = LayerSource(generated=True) if self.source and self.source.generated else None
        return Layer(
            id=self.restricted.table,
            theme=self.theme,
            schema=RESTRICTED_SCHEMA,
            table=self.restricted.table,
            title=self.restricted.title,
            abstract=self.abstract,
            keywords=self.keywords,
            geometry_type=None,
            custodian=self.custodian,
            licence=self.licence,
            attribution=self.attribution,
            fields=fields,
            zoom=self.zoom,
            source=source,
            editable=False,
        )

    @property
    def qualified_table(self) -> tuple[str, str]:
        """(schema, table) of the layer's table."""
        return (self.schema_name, self.table)

    @property
    def has_geometry(self) -> bool:
        """False for tables without geometry."""
        return self.geometry_type is not None

    @property
    def public_fields(self) -> list[LayerField]:
        """Fields the public may read."""
        return [f for f in self.fields if f.public]

    def field(self, name: str) -> LayerField:
        """The field called `name`; KeyError naming the valid ones otherwise."""
        for f in self.fields:
            if f.name == name:
                return f
        names = [f.name for f in self.fields]
        raise KeyError(f"layer {self.id} has no field {name!r}; fields: {names}")


class RasterLayer(_Frozen):
    """The declaration of a raster dataset (the elevation model, later imagery products)."""

    id: Identifier
    theme: Identifier
    title: Trilingual
    abstract: Trilingual
    keywords: Keywords
    custodian: Trilingual
    licence: str
    attribution: str
    update_frequency: str = "irregular"
    lineage: str = ""
    file: str | None = None
    """A file shipped with the demo data (the GEBCO DEM); None for the products the imagery
    pipelines write into the image bank."""
    units: str
    zoom: ZoomRange


def is_identifier(name: str) -> bool:
    """True when `name` is a safe snake_case identifier.

    >>> is_identifier("agri_plots"), is_identifier("Robert'); drop table")
    (True, False)
    """
    return re.fullmatch(r"[a-z][a-z0-9_]{0,62}", name) is not None
