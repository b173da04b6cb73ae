"""The dataset catalogue: one OGC API - Records record per declared dataset.

`records.sync_datasets` upserts the declarations' metadata into `catalog.datasets`; the view
`catalog.records` joins it with the load bookkeeping (`catalog.layer_stats`), so loads keep
the records current by themselves. `records.build_record` turns a row of that view into an
OGC API - Records GeoJSON record in one language, and `resource.catalogue_resource` is the
pygeoapi collection that serves them (provider `geoportal.providers.records`).
"""
