"""Real MQTT parts for tests: a mosquitto broker and a mosquitto_sub subscriber."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalMosquitto:
    """mosquitto on 127.0.0.1, optionally inside a namespace (``prefix`` argv)."""

    def __init__(
        self, port: int | None = None, prefix: Sequence[str] = (), config: str | None = None
    ) -> None:
        self.port = port or free_port()
        self._prefix = list(prefix)
        self._dir = tempfile.TemporaryDirectory(prefix="netmon-mosq-")
        self._proc: subprocess.Popen[str] | None = None
        self._config = config  # the whole configuration (default: anonymous, on port)
        # On loopback; inside a namespace a test made (no route out of it) on every address,
        # so that the run's Home Assistant can reach it over the veth it attaches with.
        self._address = "" if self._prefix else "127.0.0.1"

    @property
    def folder(self) -> Path:
        """The broker's own temporary folder (configuration, password and ACL files)."""
        return Path(self._dir.name)

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        conf = Path(self._dir.name) / "mosquitto.conf"
        conf.write_text(
            self._config
            or f"listener {self.port} {self._address}\nallow_anonymous true\npersistence false\n"
            "set_tcp_nodelay true\n"  # no Nagle delay before a PUBACK: a test waits less
        )
        log = self.folder / "mosquitto.log"
        with log.open("w") as out:
            self._proc = subprocess.Popen(
                [*self._prefix, "mosquitto", "-c", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=out,
                text=True,
            )
        # Up once its log says it listens (its namespace's loopback may be out of reach from
        # here, so the log tells, not a connection); a configuration that logs elsewhere
        # gets the 0.3 s that always sufficed.
        started = time.monotonic()
        while self._proc.poll() is None and time.monotonic() - started < 10:
            waited = time.monotonic() - started
            if "listen socket" in log.read_text(errors="replace") or waited > 0.3:
                return
            time.sleep(0.01)
        if self._proc.poll() is not None:
            raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """Stop the broker (retained messages are lost: persistence is off)."""
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(10)
            self._proc = None

    def kill(self) -> None:
        """SIGKILL: as when its machine loses power (no goodbye to anyone)."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(10)
            self._proc = None


@dataclass(frozen=True)
class Received:
    """One message as mosquitto_sub printed it."""

    at: float
    retained: bool
    topic: str
    payload: str

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


READY = "_subscriber-ready"  # a topic part no test uses: the subscriber's own probe


class Subscriber:
    """mosquitto_sub on ``#`` recording every message with its retain flag."""

    def __init__(self, port: int, prefix: Sequence[str] = (), topic: str = "#") -> None:
        self.messages: list[Received] = []
        self.port = port
        self.prefix = list(prefix)
        self.topic = topic
        self.subscribed = threading.Event()  # its own probe came back
        self._lock = threading.Lock()
        args = [
            *prefix,
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-q",
            "1",
            "-t",
            topic,
            "-F",
            "%r\t%t\t%p",
        ]
        self._proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            retained, topic, payload = [*line.rstrip("\n").split("\t", 2), "", ""][:3]
            if READY in topic:
                self.subscribed.set()
                continue
            with self._lock:
                self.messages.append(Received(time.monotonic(), retained == "1", topic, payload))

    @property
    def alive(self) -> bool:
        """True while mosquitto_sub runs."""
        return self._proc.poll() is None

    def snapshot(self) -> list[Received]:
        """A copy of what arrived so far."""
        with self._lock:
            return list(self.messages)

    def latest(self, topic: str) -> Received | None:
        """The last message on ``topic``."""
        for message in reversed(self.snapshot()):
            if message.topic == topic:
                return message
        return None

    def on(self, topic: str) -> list[Received]:
        """Every message on ``topic``."""
        return [m for m in self.snapshot() if m.topic == topic]

    def wait_subscribed(self, timeout: float = 1.0) -> bool:
        """Publish a probe under the subscription (when it ends in ``#``) until it comes
        back: then the broker has the subscription. False when it cannot tell (a broker in
        this thread's event loop cannot answer while this blocks it: not tried)."""
        if not (self.topic == "#" or self.topic.endswith("/#")) or _in_event_loop():
            return False
        probe = f"{self.topic[:-1]}{READY}"
        args = [*self.prefix, "mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive:
            with contextlib.suppress(subprocess.TimeoutExpired):
                command = [*args, "-t", probe, "-n"]
                subprocess.run(command, capture_output=True, check=False, timeout=0.5)
            if self.subscribed.wait(0.05):
                return True
        return False

    async def subscribed_soon(self, timeout: float = 1.0) -> bool:
        """``wait_subscribed`` for a test in an event loop (which keeps running)."""
        if not (self.topic == "#" or self.topic.endswith("/#")):
            return False
        probe = f"{self.topic[:-1]}{READY}"
        args = [*self.prefix, "mosquitto_pub", "-h", "127.0.0.1", "-p", str(self.port)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive:
            process = await asyncio.create_subprocess_exec(
                *args, "-t", probe, "-n", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 0.5)
            if process.returncode is None:
                process.kill()
                await process.wait()
            for _ in range(10):
                if self.subscribed.is_set():
                    return True
                await asyncio.sleep(0.005)
        return False

    def close(self) -> None:
        """Stop mosquitto_sub."""
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()


async def open_subscriber(port: int, prefix: Sequence[str] = (), topic: str = "#") -> Subscriber:
    """``connect_subscriber`` for a test in an event loop: ready once the broker has the
    subscription (a broker in the loop itself goes on answering meanwhile)."""
    for _ in range(30):
        sub = Subscriber(port, prefix, topic)
        if await sub.subscribed_soon():
            return sub
        await asyncio.sleep(0.3)  # no way to tell: what always sufficed
        if sub.alive:
            return sub
        sub.close()
        await asyncio.sleep(0.3)
    raise RuntimeError(f"no broker accepted a subscriber on port {port}")


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def connect_subscriber(
    port: int, prefix: Sequence[str] = (), timeout: float = 15.0, topic: str = "#"
) -> Subscriber:
    """A subscriber, retried until the broker accepts it (it may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        sub = Subscriber(port, prefix, topic)
        if sub.wait_subscribed():
            return sub
        time.sleep(0.3)  # no way to tell: what always sufficed
        if sub.alive:
            return sub
        sub.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no broker accepted a subscriber on port {port}")
        time.sleep(0.3)


def request(
    sub: Subscriber,
    prefix: Sequence[str],
    port: int,
    command: str,
    payload: dict[str, Any],
    timeout: float = 30.0,
) -> dict[str, Any] | None:
    """Send ``netmon/bridge/request/<command>`` and wait for its response on ``sub``."""
    from .observe import Observer, Requester  # (observe reads this module's Subscriber)

    answer: dict[str, Any] | None = Requester(Observer(sub), port, prefix).request(
        command, payload, timeout
    )
    return answer


EXAMPLES = Path(__file__).parent.parent / "config" / "mosquitto"
BRIDGE_PASSWORD = "probe-secret"


def bridged_brokers(
    central: LocalMosquitto,
    names: Sequence[str],
    *,
    prefixes: Mapping[str, Sequence[str]] | None = None,
    central_address: str | None = None,
    keepalive: int | None = None,
) -> dict[str, LocalMosquitto]:
    """``central`` restarted with the shipped example's authentication and ACLs (the
    ``probe_alpha`` block repeated for each of ``names``, plus anonymous read-only access
    for the tests' subscribers), and a local broker per probe configured from the shipped
    ``probe-alpha.conf``, bridged to it. A probe's broker runs under its ``prefixes`` entry
    (a namespace); ``central_address`` is a second address the central broker listens on,
    which the bridges then use; ``keepalive`` replaces the bridges' keepalive interval. The
    caller stops the local brokers."""
    central.stop()
    folder = central.folder
    passwd = folder / "passwd"
    users = ["homeassistant", *(f"probe_{name}" for name in names)]
    for n, user in enumerate(users):
        create = ["-c"] if n == 0 else []
        command = ["mosquitto_passwd", *create, "-b", str(passwd), user, BRIDGE_PASSWORD]
        subprocess.run(command, check=True)
    example = (EXAMPLES / "central.acl").read_text()
    blocks = example.split("\n\n")
    probe = next(b for b in blocks if "user probe_alpha" in b)
    others = [b for b in blocks if "user probe_" not in b]
    acl = folder / "central.acl"
    acl.write_text(
        "\n\n".join(["topic read #", *others, *(probe.replace("alpha", n) for n in names)]) + "\n"
    )
    conf = (EXAMPLES / "central.conf").read_text()
    listeners = f"listener {central.port} 127.0.0.1\n"
    if central_address:
        listeners += f"listener {central.port} {central_address}\n"
    if central._prefix:  # in a namespace (no route out): on every address, as LocalMosquitto
        listeners = f"listener {central.port}\n"
    conf = conf.replace("listener 1883\n", listeners)
    conf = conf.replace("/mosquitto/config/passwd", str(passwd))
    conf = conf.replace("/mosquitto/config/central.acl", str(acl))
    conf = conf.replace("allow_anonymous false", "allow_anonymous true")  # the subscribers
    central._config = _without_persistence(conf)
    # mosquitto started as root reads its files as the mosquitto user.
    for path in (folder, passwd, acl):
        path.chmod(0o755 if path.is_dir() else 0o644)
    central.start()
    brokers: dict[str, LocalMosquitto] = {}
    host = central_address or "127.0.0.1"
    for name in names:
        broker = LocalMosquitto(prefix=(prefixes or {}).get(name, ()))
        text = (EXAMPLES / "probe-alpha.conf").read_text().replace("alpha", name)
        text = text.replace("listener 1883 ", f"listener {broker.port} ")
        text = text.replace("central.example.lan:1883", f"{host}:{central.port}")
        if keepalive is not None:
            text = text.replace("keepalive_interval 30", f"keepalive_interval {keepalive}")
        broker._config = _without_persistence(text.replace("change-me", BRIDGE_PASSWORD))
        broker.start()
        brokers[name] = broker
    return brokers


def _without_persistence(conf: str) -> str:
    conf = conf.replace("persistence true", "persistence false")
    return "\n".join(line for line in conf.splitlines() if "persistence_location" not in line)


def config_like(n: int) -> str:
    """A payload shaped like device ``n``'s Home Assistant discovery config (about 2 kB):
    alike from one device to the next but for ids and names, as real ones are."""
    device = f"02000000{n:04x}"
    components = {
        name: {
            "platform": "sensor",
            "unique_id": f"netmon_{device}_{name}",
            "name": name.replace("_", " ").capitalize(),
            "value_template": f"{{{{ value_json.{name} }}}}",
            "state_topic": f"netmon/device/{device}",
            "entity_category": "diagnostic",
            "enabled_by_default": False,
            "qos": 1,
        }
        for name in ("latency", "jitter", "packet_loss", "last_seen", "ip", "hostname", "vendor")
    }
    return json.dumps(
        {
            "device": {"identifiers": [f"netmon_{device}"], "name": f"Host {n}"},
            "availability": [{"topic": f"netmon/device/{device}/availability"}],
            "components": components,
        }
    )
