"""The one exception hierarchy of netmon-mqtt.

Library errors (voluptuous, sqlite, pysnmp, aiomqtt) are translated into these at the
boundary of the module that uses the library, so callers only ever catch ``NetmonError``.
"""

from __future__ import annotations


class NetmonError(Exception):
    """Base class of every error netmon-mqtt raises on purpose."""


class ConfigError(NetmonError):
    """The configuration is invalid; ``path`` names the offending key."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message


class DatabaseError(NetmonError):
    """The SQLite inventory cannot be opened, migrated or written."""


class DiscoveryError(NetmonError):
    """A discovery source failed (missing privileges, unknown interface, ...)."""


class BrokerError(NetmonError):
    """The MQTT broker cannot be reached or the embedded broker cannot start."""


class SnmpError(NetmonError):
    """An SNMP agent could not be read: pysnmp failed on the exchange (garbage, a transport
    that cannot be opened, ...)."""


class SnmpAgentError(SnmpError):
    """The agent answered with an error, or not at all (pysnmp's error indication or error
    status); what a walk read before it still counts."""


class BrokerConnectionError(BrokerError):
    """A connection to the MQTT broker could not be made or dropped (aiomqtt's
    ``MqttError``, translated by ``publish/connection.py``): the caller reconnects."""
