"""Raster pipelines of the geoportal: satellite scenes to reflectance COGs and spectral
indices, two-date change (burned areas, vegetation loss), NDVI per agricultural plot, the
terrain model, and the STAC items of the image bank.

A domain package: it never imports `geoportal`, pygeoapi or Starlette. Pixels are processed
as Dask arrays over rasterio windows (`imagery.blocks`), so memory is bounded by the chunk
size; the scheduler is local threads unless a `tcp://` address of a Dask cluster is given
(`imagery.compute`). See docs/imagery.md.
"""
