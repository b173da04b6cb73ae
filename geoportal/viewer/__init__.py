"""The public map viewer, its configuration and the folium quick-look pages."""
