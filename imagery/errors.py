"""Errors of the raster pipelines; the server and the CLI turn them into messages."""


class ImageryError(Exception):
    """Base class of every imagery error."""


class SceneFormatError(ImageryError):
    """A scene's files are missing, unreadable or not laid out as a known sensor's."""


class SensorNotDetectedError(ImageryError):
    """The sensor or the date of a scene could not be told from its names; give it."""


class GridMismatchError(ImageryError):
    """Two rasters that must share a grid (bands of a scene, two dates) do not."""


class ClusterError(ImageryError):
    """The Dask scheduler at the given address could not be reached."""
