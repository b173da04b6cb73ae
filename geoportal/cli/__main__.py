"""`python -m geoportal.cli` is the `geoportal` command."""

from geoportal.cli.main import run

run()
