"""netmon-mqtt: LAN discovery, presence and latency, published to MQTT and Home Assistant."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netmon-mqtt")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
