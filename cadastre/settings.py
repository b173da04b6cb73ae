"""The cadastre's settings (composed into `geoportal.settings.Settings` as `cadastre`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class CadastreSettings(BaseModel):
    """Topology tolerance and the plan signing key (`GEOPORTAL_CADASTRE__...`)."""

    model_config = {"frozen": True}

    tolerance_m: float = Field(
        default=0.05,
        ge=0,
        le=10,
        description="Topology tolerance in metres (Kyrg-06): an overlap of two active parcels "
        "or a part of a parcel outside its block counts only where it is wider than this.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="PEM file of the Ed25519 private key that signs cadastral plans; unset: "
        "DATA_DIR/cadastre/plan-signing-key.pem, generated on first use (never commit it).",
    )
    font: Path = Field(
        default=Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        description="TrueType font of the plan PDF (Cyrillic needs one: fonts-dejavu-core).",
    )
