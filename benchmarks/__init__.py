"""Side-by-side benchmarks of the geoportal against stock pygeoapi, tipg and the SQL floor."""
