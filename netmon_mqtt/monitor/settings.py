"""How devices are probed: the defaults and each device's overrides (same setting names as
the configuration file)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..config import Config, RuntimeOptions


@dataclass(frozen=True)
class ProbeSettings:
    """How one device is probed (the defaults, or a device's overrides)."""

    monitor_interval: float
    ping_timeout: float
    consider_home: float
    wake_probe: bool = True
    max_consider_home: float = 0.0  # 0: no learned rhythm beyond consider_home
    consider_home_set: bool = False  # set for this device: its rhythm does not apply


@dataclass(frozen=True)
class MonitorSettings:
    """The monitor's defaults, the metrics window and the per-device overrides."""

    monitor_interval: float
    ping_timeout: float
    consider_home: float
    metrics_interval: float
    wake_probe: bool = True
    max_consider_home: float = 0.0
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Config) -> MonitorSettings:
        """The settings of the configuration file."""
        return cls._from(config, config.devices)

    def with_options(self, options: RuntimeOptions) -> MonitorSettings:
        """The defaults changed by run-time options; overrides stay."""
        return self._from(options, self.overrides)

    @classmethod
    def _from(
        cls, values: RuntimeOptions, overrides: Mapping[str, Mapping[str, Any]]
    ) -> MonitorSettings:
        """From the options in force (the file's, or a request's)."""
        return cls(
            values.monitor_interval,
            values.ping_timeout,
            values.consider_home,
            values.metrics_interval,
            wake_probe=values.wake_probe,
            max_consider_home=values.max_consider_home,
            overrides=overrides,
        )

    def for_device(self, device_id: str) -> ProbeSettings:
        """The settings of one device: its overrides over the defaults."""
        own = self.overrides.get(device_id, {})
        return ProbeSettings(
            monitor_interval=float(own.get("monitor_interval", self.monitor_interval)),
            ping_timeout=float(own.get("ping_timeout", self.ping_timeout)),
            consider_home=float(own.get("consider_home", self.consider_home)),
            wake_probe=bool(own.get("wake_probe", self.wake_probe)),
            max_consider_home=self.max_consider_home,
            consider_home_set="consider_home" in own,
        )
