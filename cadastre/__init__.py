"""Cadastre rules: cadastral identification codes (`codes`), the personal identification
number of right holders (`pins`); parcels, boundaries and validations to come. The terms
are the cadastre's own, defined in `cadastre/README.md`. Imports `layers` at most."""
