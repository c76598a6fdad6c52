"""The ``alerts:`` section: where notifications go (targets: notification URLs, through the
apprise library: e-mail, ntfy, Gotify, Telegram, webhooks...) and what sends one (rules).

```yaml
alerts:
  targets:
    - name: phone
      url: ntfys://ntfy.sh/my-netmon-topic
    - name: mail
      url_env: NETMON_ALERT_MAIL      # the URL holds a password: read it from the environment
  rules:
    - event: unknown_device_joined
    - event: device_away
      devices: ["aa:bb:cc:dd:ee:ff"]
      targets: [phone]
  digest_window: 30                    # alerts of a rule within this many seconds: one message
  max_per_hour: 20                     # messages per rule and hour, beyond: counted, not sent
```

A target's URL is a secret (it often holds a password or a token): never logged, never
published. Every value is checked when the file is read, with its key path.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Final

import voluptuous as vol

from ..macs import normalise_mac
from ..settings import setting
from ..validators import Number, typed

ALERT_EVENTS: Final = (
    "unknown_device_joined",
    "device_away",
    "device_back",
    "ip_changed",
    "new_device_flood",
    "unhealthy",
)
DEVICE_EVENTS: Final = frozenset({"device_away", "device_back", "ip_changed"})
MAX_TARGETS = 16
MAX_RULES = 32
MAX_RULE_DEVICES = 256
MAX_URL = 2048
_NAME = vol.All(typed(str, "a name"), vol.Length(min=1, max=64))


@dataclass(frozen=True)
class AlertTarget:
    """Where messages go: a notification URL (a secret: left out of every repr)."""

    name: str
    url: str = field(repr=False)


@dataclass(frozen=True)
class AlertRule:
    """What sends a message: an event, for these devices (ids; none: any) to these targets
    (names; none: every target)."""

    event: str
    devices: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


def _url(value: Any) -> str:
    """A notification URL of a scheme apprise knows (the URL itself is never shown)."""
    # Every message says "got" itself: the URL (a secret) is never shown.
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URL:
        got = f"{len(value)} characters" if isinstance(value, str) else type(value).__name__
        raise vol.Invalid(f"expected a notification URL of 1 to {MAX_URL} characters, got {got}")
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if not _known_scheme(value):
        shown = f"a '{scheme}://' URL it does not accept" if scheme else "no scheme"
        raise vol.Invalid(
            f"expected a notification URL apprise accepts (its documentation gives the form "
            f"of each service's), got {shown}"
        )
    return value


def _known_scheme(url: str) -> bool:
    import apprise

    logging.getLogger("apprise").setLevel(logging.CRITICAL)  # it would log the URL
    return bool(apprise.Apprise().add(url))


def _from_env(value: Any) -> str:
    name = typed(str, "an environment variable's name")(value)
    found = os.environ.get(name)
    if not found:
        raise vol.Invalid(f"the environment variable {name} is not set")
    return _url(found)


def _target(data: dict[str, Any]) -> AlertTarget:
    if ("url" in data) == ("url_env" in data):
        raise vol.Invalid("give exactly one of url and url_env")
    return AlertTarget(data["name"], data.get("url") or data["url_env"])


def _device(value: Any) -> str:
    """A device by MAC address or id, as its id."""
    text = str(typed(str, "a MAC address or device id")(value))
    try:
        return normalise_mac(text).replace(":", "")
    except ValueError:
        return text


TARGETS: Final = vol.All(
    typed(list, "a list of targets"),
    vol.Length(max=MAX_TARGETS),
    [
        vol.All(
            vol.Schema(
                {
                    vol.Required("name"): _NAME,
                    vol.Optional("url"): _url,
                    vol.Optional("url_env"): _from_env,
                }
            ),
            _target,
        )
    ],
)
RULES: Final = vol.All(
    typed(list, "a list of rules"),
    vol.Length(max=MAX_RULES),
    [
        vol.All(
            vol.Schema(
                {
                    vol.Required("event"): vol.In(ALERT_EVENTS),
                    vol.Optional("devices", default=[]): vol.All(
                        [_device], vol.Length(max=MAX_RULE_DEVICES)
                    ),
                    vol.Optional("targets", default=[]): vol.All([_NAME], vol.Length(max=16)),
                }
            ),
            lambda r: AlertRule(r["event"], tuple(r["devices"]), tuple(r["targets"])),
        )
    ],
)


@dataclass(frozen=True)
class AlertsConfig:
    """Targets, rules, and how messages are grouped and limited."""

    targets: tuple[AlertTarget, ...] = setting(TARGETS, factory=tuple, secret=True)
    rules: tuple[AlertRule, ...] = setting(RULES, factory=tuple)
    digest_window: float = setting(Number(0, 600), 30.0)
    max_per_hour: int = setting(Number(1, 1000, integer=True), 20)

    def check(self) -> str | None:
        """What is wrong across keys (a rule naming a target that does not exist)."""
        names = {t.name for t in self.targets}
        for rule in self.rules:
            unknown = sorted(set(rule.targets) - names)
            if unknown:
                return f"no target named {', '.join(unknown)}"
        if self.rules and not self.targets:
            return "rules without any target"
        return None
