"""Running the real service inside the namespace LAN."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .lan import NetnsLan
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber


class RunningService:
    """The netmon-mqtt process inside the service namespace."""

    def __init__(self, lan: NetnsLan, config: Path, log: Path) -> None:
        self._lan = lan
        self._config = config
        self._log = log
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        with self._log.open("a") as log:
            self.proc = self._lan.popen(
                self._lan.service_ns,
                [sys.executable, "-m", "netmon_mqtt", "run", "--config", str(self._config)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(20)
        finally:
            self.proc = None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def log(self) -> str:
        return self._log.read_text()


def write_config(
    path: Path,
    networks: list[str],
    database: Path,
    *,
    broker_port: int,
    embedded: bool,
    mqtt_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> None:
    """A service configuration with test cadences; ``overrides`` replace top-level keys,
    ``mqtt_options`` add to the ``mqtt`` section."""
    mqtt: dict[str, Any] = {"retained_wait": 1.0, "birth_delay": 0, **(mqtt_options or {})}
    config: dict[str, Any] = {
        "networks": networks,
        "database": str(database),
        "monitor_interval": 1.0,
        "consider_home": 5.0,
        "ping_timeout": 0.5,
        "metrics_interval": 2,
        "discovery": {"arp_timeout": 0.5, "arp_retries": 1},
        "mqtt": mqtt,
    }
    if embedded:
        config["embedded_broker"] = {"host": "127.0.0.1", "port": broker_port}
    else:
        mqtt.update(host="127.0.0.1", port=broker_port)
    config.update(overrides)
    path.write_text(yaml.safe_dump(config))


def no_traceback(log: str) -> tuple[bool, str]:
    """(True, "") when the log has no traceback; else (False, the part around the first)."""
    at = log.find("Traceback")
    return at < 0, log[max(0, at - 400) : at + 3000] if at >= 0 else ""


@dataclass
class ServiceWithBroker:
    """The real service and a real mosquitto in the LAN's service namespace, and a
    subscriber to everything."""

    mosquitto: LocalMosquitto
    service: RunningService
    sub: Subscriber

    def close(self) -> None:
        """Stop all three (each even when another fails)."""
        try:
            self.service.kill()
        finally:
            try:
                self.sub.close()
            finally:
                self.mosquitto.stop()


def start_with_broker(lan: NetnsLan, folder: Path, port: int, **config: Any) -> ServiceWithBroker:
    """mosquitto on ``port``, then the service with ``config`` over the test cadences (see
    ``write_config``), then a subscriber; stops what started when a later part fails."""
    mosquitto = LocalMosquitto(port, lan.exec_args(lan.service_ns))
    mosquitto.start()
    try:
        path = folder / "netmon.yaml"
        write_config(
            path, [lan.subnet], folder / "netmon.db", broker_port=port, embedded=False, **config
        )
        service = RunningService(lan, path, folder / "service.log")
        service.start()
        try:
            sub = connect_subscriber(port, lan.exec_args(lan.service_ns))
        except BaseException:
            service.kill()
            raise
    except BaseException:
        mosquitto.stop()
        raise
    return ServiceWithBroker(mosquitto, service, sub)


def stop_all(
    responders: Iterable[subprocess.Popen[str]],
    service: RunningService | None,
    sub: Subscriber | None,
    broker: LocalMosquitto | None = None,
) -> None:
    """A LAN test's teardown: its responders, the service, its subscriber and broker."""
    for responder in responders:
        responder.kill()
        responder.wait(10)
    if service:
        service.kill()
    if sub:
        sub.close()
    if broker:
        broker.stop()
