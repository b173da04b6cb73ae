"""Synthetic satellite scenes over the demo plots, and the short demo season that
`geoportal demo load` ingests so that NDVI per plot, burned areas and landscape changes
exist out of the box. SYNTHETIC: no scene here is an observation (see scenes.py)."""
