"""Which SNMP credentials are tried on a device, in which order, and which one its agent
answered last (the value itself, ``SnmpCredential``, is in ``credentials``: the
configuration validates it without the event bus or pysnmp)."""

from __future__ import annotations

from ..events import DeviceRemoved, EventBus, OptionsChanged
from ..models import Device
from .credentials import AUTH_PROTOCOLS, PRIV_PROTOCOLS, SnmpCredential

__all__ = ["AUTH_PROTOCOLS", "PRIV_PROTOCOLS", "Keyring", "SnmpCredential", "ordered_credentials"]


def ordered_credentials(
    credentials: tuple[SnmpCredential, ...], device: Device
) -> list[SnmpCredential]:
    """Applicable credentials, per-device ones first, then per-network, then global."""

    def rank(c: SnmpCredential) -> int:
        return 0 if c.devices else 1 if c.networks else 2

    return sorted((c for c in credentials if c.applies_to(device)), key=rank)


class Keyring:
    """The credentials tried on a device's agent, and the one that answered it last (the
    one its tables are then read with).

    The credentials saved by an ``options`` request (``snmp_credentials``) come before the
    configuration file's.
    """

    def __init__(self, configured: tuple[SnmpCredential, ...], bus: EventBus | None = None) -> None:
        self._configured = configured
        self._credentials = configured
        self._working: dict[str, SnmpCredential] = {}  # device id -> what answered last
        if bus is not None:
            bus.subscribe(OptionsChanged, self._on_options)
            bus.subscribe(DeviceRemoved, self._forget)

    def _on_options(self, event: OptionsChanged) -> None:
        saved = tuple(SnmpCredential.from_data(c) for c in event.options.snmp_credentials)
        self._credentials = saved + self._configured

    def _forget(self, event: DeviceRemoved) -> None:
        self._working.pop(event.device.id, None)

    def candidates(self, device: Device) -> list[SnmpCredential]:
        """The credentials to try on ``device``, in order."""
        return ordered_credentials(self._credentials, device)

    def answered(self, device: Device, credential: SnmpCredential) -> None:
        """Remember that ``credential`` read ``device``'s agent."""
        self._working[device.id] = credential

    def working(self, device: Device) -> SnmpCredential | None:
        """The credential that answered ``device``'s identification last, or None."""
        return self._working.get(device.id)
