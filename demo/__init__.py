"""Demo data of the national geoportal: real open data of Kyrgyzstan for the base layers and
realistic, deterministic generated data for the layers that have no open source.

One subpackage per theme (`base`, `roads`, `agriculture`, `irrigation`, `city`, `cadastre`,
`sports`, `disaster`); `generate` runs the theme generators, `loader` loads their files (and
the open ones in `base/data/`) through the same ingestion path as any file. The demo imports
`layers`, `cadastre` and `ingestion`, never the server (`geoportal`): the CLI imports it only
inside the `geoportal demo ...` commands, so other commands never load pandas or rasterio.
"""
