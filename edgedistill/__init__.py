"""edgedistill: distil an encoder classifier into small, fast artifacts for edge devices."""

__version__ = "0.1.0"
