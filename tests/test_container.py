"""The container image and the Home Assistant add-on image, built and run for real.

Both images are built from a local stand-in for ``python:3.11-slim`` (debootstrapped, as no
image registry is reachable here; ``tests/tools/dockerd.py``) passed as the Dockerfiles' base
argument. Each runs on a namespace LAN of three hosts (10.91.0.0/24): the container has no
network of its own (``--network none``) but the namespace of a holder container whose veth
joins the LAN's bridge, and a real mosquitto listens in the LAN's service namespace,
anonymous on loopback (the tests' subscribers), with passwords on the LAN. Nothing is sent
outside the namespaces except by the image builds, which reach the package registries.

- The service image runs as documented (``--cap-drop ALL --cap-add NET_RAW``, its own
  unprivileged user, a volume on /data, the configuration mounted read-only): it publishes
  ``online``, every host home, holds only CAP_NET_RAW, stops with exit code 0 leaving
  ``offline`` retained, and its database is in the volume.
- The add-on image runs as the Supervisor runs it: /data/options.json written, the broker
  taken from a fake Supervisor's ``services/mqtt`` answer (with the token the Supervisor
  gives), and reaches that broker with those credentials and finds every host.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from .conftest import require
from .lan import NetnsLan, have_root
from .mqtt_tools import LocalMosquitto, Subscriber, connect_subscriber
from .tools.dockerd import (
    Docker,
    apt_mirror,
    attach,
    copy_paths,
    debootstrap_base,
    dockerfile_sources,
    make_folder,
)
from .waiting import wait_until

pytestmark = [pytest.mark.netns, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parent.parent
SUBNET = "10.91.0.0/24"
CONTAINER_IP = "10.91.0.200"
CONTAINER_MAC = "02:6e:6d:00:00:c8"
SUFFIX = str(os.getpid())
BASE = f"netmon-test/base:{SUFFIX}"
CAP_NET_RAW = 1 << 13
SERVICE_USER, SERVICE_PASSWORD = "netmon", "service-secret"
ADDON_USER, ADDON_PASSWORD = "addons", "supervisor-secret"
SUPERVISOR_TOKEN = "token-from-the-supervisor"


SERVICE_TAG = f"netmon-test/netmon:{SUFFIX}"
ADDON_TAG = f"netmon-test/addon:{SUFFIX}"


@dataclass
class Images:
    """The daemon, the images being built (both at once) and the tags made."""

    docker: Docker
    folder: Path
    tags: list[str]
    builds: dict[str, Future[str]] = field(default_factory=dict)

    def build(self, context: Path, tag: str, **build_args: str) -> str:
        self.tags.append(tag)
        log = self.folder / f"{tag.replace('/', '_')}.log"
        self.docker.build(context, tag, log, **build_args)
        return tag

    def service(self) -> str:
        """The project's Dockerfile on the local base, from a context of what it copies."""
        context = self.folder / "service-context"
        copy_paths(ROOT, context, ["Dockerfile", *dockerfile_sources(ROOT / "Dockerfile")])
        return self.build(context, SERVICE_TAG, BASE=BASE)

    def addon(self) -> str:
        """The add-on's Dockerfile on the local base, from the context scripts/addon-source
        makes (run in a copy of the project, not in this tree)."""
        repo = self.folder / "repo"
        source = ["scripts/addon-source", "pyproject.toml", "uv.lock", "README.md", "netmon_mqtt"]
        copy_paths(ROOT, repo, source)
        shutil.copytree(
            ROOT / "addon" / "netmon",
            repo / "addon" / "netmon",
            ignore=shutil.ignore_patterns("netmon-mqtt", "__pycache__"),
        )
        script = repo / "scripts" / "addon-source"
        subprocess.run(["bash", str(script)], check=True, timeout=60, capture_output=True)
        return self.build(repo / "addon" / "netmon", ADDON_TAG, BUILD_FROM=BASE)


@pytest.fixture(scope="module")
def images() -> Iterator[Images]:
    """Docker usable (started here if needed), the local base image, and both images
    building side by side (each test waits for its own)."""
    require(have_root(), "needs root for docker and a LAN of network namespaces")
    for tool, package in (("docker", "docker.io"), ("dockerd", "docker.io")):
        require(shutil.which(tool) is not None, f"needs {tool} (apt-get install {package})")
    require(shutil.which("debootstrap") is not None, "needs debootstrap for the base image")
    require(shutil.which("nsenter") is not None, "needs nsenter (util-linux)")
    require(shutil.which("mosquitto_passwd") is not None, "needs mosquitto_passwd (mosquitto)")
    folder = make_folder("netmon-docker-")
    docker = Docker(shutil.which("docker") or "docker", folder)
    made = Images(docker, folder, [])
    try:
        docker.usable()
        # NETMON_TEST_ROOTFS: a folder keeping the debootstrapped root between runs (local
        # development); by default it is built in the run's temporary folder and removed.
        kept = os.environ.get("NETMON_TEST_ROOTFS")
        root = Path(kept) if kept else folder / "root"
        if not (root / "usr/bin/python3.11").exists():
            debootstrap_base(root, apt_mirror(), folder / "debootstrap.log")
        made.tags.append(BASE)
        docker.import_root(root, BASE)
        if not kept:
            shutil.rmtree(root)
        with ThreadPoolExecutor(max_workers=2) as pool:
            made.builds = {"service": pool.submit(made.service), "addon": pool.submit(made.addon)}
            yield made
    finally:
        for tag in reversed(made.tags):
            docker.quiet("rmi", "-f", tag)
        docker.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def service_image(images: Images) -> str:
    """The service image (its build failure is this fixture's error)."""
    return images.builds["service"].result(timeout=900)


@pytest.fixture(scope="module")
def addon_image(images: Images) -> str:
    """The add-on image (its build failure is this fixture's error)."""
    return images.builds["addon"].result(timeout=900)


@dataclass
class ContainerLan:
    """A LAN, its broker and subscriber, and a holder container attached to it."""

    lan: NetnsLan
    broker: LocalMosquitto
    sub: Subscriber
    holder: str  # the container whose network namespace the tested one joins
    folder: Path

    def mosquitto_args(self) -> list[str]:
        return self.lan.exec_args(self.lan.service_ns)


def broker_config(broker: LocalMosquitto, address: str) -> str:
    """Anonymous on loopback (subscribers), passwords on the LAN address."""
    passwd = broker.folder / "passwd"
    for n, (user, password) in enumerate(
        ((SERVICE_USER, SERVICE_PASSWORD), (ADDON_USER, ADDON_PASSWORD))
    ):
        create = ["-c"] if n == 0 else []
        subprocess.run(
            ["mosquitto_passwd", *create, "-b", str(passwd), user, password],
            check=True,
            timeout=10,
        )
    broker.folder.chmod(0o755)  # mosquitto reads it after dropping root
    passwd.chmod(0o644)
    return (
        "per_listener_settings true\npersistence false\n"
        f"listener {broker.port} 127.0.0.1\nallow_anonymous true\n"
        f"listener {broker.port} {address}\nallow_anonymous false\npassword_file {passwd}\n"
    )


@pytest.fixture
def container_lan(images: Images, make_lan: type[NetnsLan]) -> Iterator[ContainerLan]:
    """Three hosts on 10.91.0.0/24, mosquitto in the service namespace, and a holder
    container (``--network none``, no capabilities) whose namespace has a veth on the LAN."""
    docker = images.docker
    lan = make_lan(count=3, subnet=SUBNET).build()
    folder = make_folder("netmon-ctr-")
    holder = f"netmon-test-{SUFFIX}-net"
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        broker = LocalMosquitto(prefix=lan.exec_args(lan.service_ns))
        broker._config = broker_config(broker, lan.service_ip)
        broker.start()
        stack.callback(broker.stop)
        sub = connect_subscriber(broker.port, lan.exec_args(lan.service_ns))
        stack.callback(sub.close)
        stack.callback(docker.quiet, "rm", "-f", holder)
        # The holder runs the base image's sleep; /etc/hosts names the fake Supervisor.
        docker(
            "run",
            "-d",
            "--name",
            holder,
            "--network",
            "none",
            "--cap-drop",
            "ALL",
            "--add-host",
            f"supervisor:{lan.service_ip}",
            "--entrypoint",
            "sleep",
            BASE,
            "900",
        )
        attach(lan.bridge_ns, "ctr", docker.pid(holder), CONTAINER_IP, CONTAINER_MAC)
        yield ContainerLan(lan, broker, sub, holder, folder)


def all_home(sub: Subscriber, base: str, lan: NetnsLan) -> bool:
    """True when the bridge is online and every host is home and online."""
    state = sub.latest(f"{base}/bridge/state")
    if state is None or state.payload != "online":
        return False
    for host in lan.hosts:
        message = sub.latest(f"{base}/device/{host.device_id}")
        if message is None:
            return False
        payload = message.json()
        if payload.get("presence") != "home" or payload.get("online") is not True:
            return False
    return True


def retained(ctl: ContainerLan, topic: str) -> tuple[bool, str]:
    """(retain flag, payload) of what a new subscriber gets first on ``topic``."""
    out = subprocess.run(
        [
            *ctl.mosquitto_args(),
            "mosquitto_sub",
            "-h",
            "127.0.0.1",
            "-p",
            str(ctl.broker.port),
            "-t",
            topic,
            "-C",
            "1",
            "-W",
            "5",
            "-F",
            "%r\t%p",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    ).stdout.strip()
    flag, _, payload = out.partition("\t")
    return flag == "1", payload


def stop_cleanly(docker: Docker, name: str) -> int:
    """``docker stop`` (SIGTERM, 30 s grace) and the exit code."""
    docker("stop", "-t", "30", name, timeout=60)
    return int(docker("inspect", "-f", "{{.State.ExitCode}}", name).strip())


def device_ids(database: Path) -> set[str]:
    """The device ids in an inventory, opened read-only with sqlite3."""
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return {row[0] for row in db.execute("SELECT id FROM devices")}


def status_fields(pid: int) -> dict[str, str]:
    """/proc/<pid>/status as a mapping."""
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def test_service_image_runs_unprivileged_with_net_raw_only(
    images: Images, service_image: str, container_lan: ContainerLan
) -> None:
    docker, ctl, tag = images.docker, container_lan, service_image
    assert docker("image", "inspect", "-f", "{{.Config.User}}", tag).strip() == "netmon"

    config = ctl.folder / "netmon.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "networks": [SUBNET],
                "monitor_interval": 1.0,
                "consider_home": 5.0,
                "ping_timeout": 0.5,
                "metrics_interval": 2,
                "discovery": {"arp_timeout": 0.5, "arp_retries": 1},
                "mqtt": {
                    "host": ctl.lan.service_ip,
                    "port": ctl.broker.port,
                    "username": SERVICE_USER,
                    "retained_wait": 1.0,
                    "birth_delay": 0,
                },
            }
        )
    )
    config.chmod(0o644)
    name, volume = f"netmon-test-{SUFFIX}-svc", f"netmon-test-{SUFFIX}-data"
    try:
        docker("volume", "create", volume)
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            f"container:{ctl.holder}",
            "--cap-drop",
            "ALL",
            "--cap-add",
            "NET_RAW",
            "-e",
            f"NETMON_MQTT_PASSWORD={SERVICE_PASSWORD}",
            "-v",
            f"{volume}:/data",
            "-v",
            f"{config}:/config/netmon.yaml:ro",
            tag,
        )
        home = wait_until(lambda: all_home(ctl.sub, "netmon", ctl.lan), 90, 0.5)
        logs = docker.logs(name)
        assert home, f"not every host home over MQTT; container log:\n{logs[-4000:]}"
        for host in ctl.lan.hosts:
            info = ctl.sub.latest(f"netmon/device/{host.device_id}/info")
            assert info is not None and info.json()["mac"] == host.mac, host
            assert info.json()["ip"] == host.ip, info.json()

        status = status_fields(docker.pid(name))
        assert int(status["CapEff"], 16) == CAP_NET_RAW, status["CapEff"]
        assert int(status["CapPrm"], 16) == CAP_NET_RAW, status["CapPrm"]
        assert int(status["CapBnd"], 16) == CAP_NET_RAW, status["CapBnd"]
        uids = [int(u) for u in status["Uid"].split()]
        assert all(uid != 0 for uid in uids), status["Uid"]
        assert "Traceback" not in docker.logs(name)
        # The capability is on the service's own interpreter, not on the image's python3.
        caps = docker(
            "exec", name, "sh", "-c",
            'getcap "$(readlink -f /app/.venv/bin/python)"; '
            "for shared in /usr/local/bin/python3 /usr/bin/python3; do "
            '[ -e "$shared" ] && getcap "$(readlink -f "$shared")"; done; true',
        )  # fmt: skip
        assert "netmon-python3.11 cap_net_raw=ip" in caps, caps
        assert len(caps.strip().splitlines()) == 1, caps  # nothing on the shared python3

        assert stop_cleanly(docker, name) == 0, docker.logs(name)[-4000:]
        assert retained(ctl, "netmon/bridge/state") == (True, "offline")
        mount = Path(docker("volume", "inspect", "-f", "{{.Mountpoint}}", volume).strip())
        database = mount / "netmon.db"
        assert database.is_file(), sorted(p.name for p in mount.iterdir())
        assert database.stat().st_uid == uids[0]
        assert {h.device_id for h in ctl.lan.hosts} <= device_ids(database)
    finally:
        docker.quiet("rm", "-f", name)
        docker.quiet("volume", "rm", "-f", volume)


def test_service_image_without_net_raw_starts_with_fewer_sources(
    images: Images, service_image: str, container_lan: ContainerLan
) -> None:
    """No capability at all (Podman's default set, a locked-down host): the interpreter
    still starts, the service says what is missing and how to grant it, and runs."""
    docker, ctl = images.docker, container_lan
    config = ctl.folder / "bare.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "networks": [SUBNET],
                "mqtt": {
                    "host": ctl.lan.service_ip,
                    "port": ctl.broker.port,
                    "username": SERVICE_USER,
                    "retained_wait": 1.0,
                    "birth_delay": 0,
                },
            }
        )
    )
    config.chmod(0o644)
    name = f"netmon-test-{SUFFIX}-bare"
    try:
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            f"container:{ctl.holder}",
            "--cap-drop",
            "ALL",
            "-e",
            f"NETMON_MQTT_PASSWORD={SERVICE_PASSWORD}",
            "-v",
            f"{config}:/config/netmon.yaml:ro",
            service_image,
            "netmon-mqtt",
            "run",
            "--config",
            "/config/netmon.yaml",
            "--database",
            "/tmp/netmon.db",
        )
        online = wait_until(
            lambda: (
                (m := ctl.sub.latest("netmon/bridge/state")) is not None and m.payload == "online"
            ),
            60,
            0.5,
        )
        logs = docker.logs(name)
        assert online, f"the bridge never came online; container log:\n{logs[-4000:]}"
        assert "No CAP_NET_RAW" in logs and "--cap-add NET_RAW" in logs, logs[-4000:]
        assert int(status_fields(docker.pid(name))["CapEff"], 16) == 0
        assert "Traceback" not in logs
        assert stop_cleanly(docker, name) == 0, docker.logs(name)[-4000:]
    finally:
        docker.quiet("rm", "-f", name)


FAKE_SUPERVISOR = """
import http.server, json, sys
address, token, reply, log = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as out:
            out.write(f"{self.path} {self.headers.get('Authorization')}\\n")
        if self.path != "/services/mqtt" or self.headers.get("Authorization") != f"Bearer {token}":
            self.send_response(401); self.end_headers(); return
        body = json.dumps({"result": "ok", "data": json.loads(reply)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
server = http.server.HTTPServer((address, 80), Handler)
open(log + ".ready", "w").close()
server.serve_forever()
"""


def test_addon_image_runs_with_the_supervisors_options_and_broker(
    images: Images, addon_image: str, container_lan: ContainerLan
) -> None:
    docker, ctl, tag = images.docker, container_lan, addon_image
    data = ctl.folder / "data"
    data.mkdir()
    options = {  # as the Supervisor writes them: every option with a value
        "networks": [SUBNET],
        "log_level": "info",
        "discovery_interval": 600,
        "monitor_interval": 1,
        "metrics_interval": 2,
        "consider_home": 5,
        "history_days": 7,
        "track_new_devices": True,
        "base_topic": "netmon",
    }
    (data / "options.json").write_text(json.dumps(options))
    service = {
        "host": ctl.lan.service_ip,
        "port": ctl.broker.port,
        "ssl": False,
        "protocol": "3.1.1",
        "username": ADDON_USER,
        "password": ADDON_PASSWORD,
    }
    script, asked = ctl.folder / "supervisor.py", ctl.folder / "supervisor.log"
    reply = json.dumps(service)
    script.write_text(FAKE_SUPERVISOR)
    name = f"netmon-test-{SUFFIX}-addon"
    supervisor = ctl.lan.popen(
        ctl.lan.service_ns,
        [sys.executable, str(script), ctl.lan.service_ip, SUPERVISOR_TOKEN, reply, str(asked)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = Path(f"{asked}.ready")
        assert wait_until(ready.exists, 20), "the fake Supervisor did not start"
        docker(
            "run",
            "-d",
            "--name",
            name,
            "--network",
            f"container:{ctl.holder}",
            "--cap-add",
            "NET_RAW",
            "-e",
            f"SUPERVISOR_TOKEN={SUPERVISOR_TOKEN}",
            "-v",
            f"{data}:/data",
            tag,
        )
        home = wait_until(lambda: all_home(ctl.sub, "netmon", ctl.lan), 90, 0.5)
        logs = docker.logs(name)
        topics = sorted({m.topic for m in ctl.sub.snapshot()})
        asked_text = asked.read_text() if asked.exists() else "(never asked)"
        assert home, f"not every host home; add-on log:\n{logs[-4000:]}\n{topics}\n{asked_text}"
        assert asked.read_text().splitlines() == [f"/services/mqtt Bearer {SUPERVISOR_TOKEN}"]
        assert "Traceback" not in logs
        # The service runs unprivileged, with NET_RAW from its own interpreter's capability.
        status = status_fields(docker.pid(name))
        assert all(int(uid) != 0 for uid in status["Uid"].split()), status["Uid"]
        assert int(status["CapEff"], 16) == CAP_NET_RAW, status["CapEff"]
        assert "running as root" not in logs

        assert stop_cleanly(docker, name) == 0, docker.logs(name)[-4000:]
        assert retained(ctl, "netmon/bridge/state") == (True, "offline")
        assert {h.device_id for h in ctl.lan.hosts} <= device_ids(data / "netmon.db")
    finally:
        docker.quiet("rm", "-f", name)
        supervisor.terminate()
        supervisor.wait(10)


@pytest.mark.parametrize(
    ("networks", "expected"),
    [
        # A network the Supervisor's schema lets through (any string) but netmon refuses.
        ([SUBNET, "192.168.300.0/24"], ("networks", "192.168.300.0/24")),
        # Valid options, but no broker: the Supervisor offers none and mqtt_host is empty.
        ([SUBNET], ("no MQTT broker", "Mosquitto broker add-on", "mqtt_host")),
    ],
    ids=["bad-network", "no-broker"],
)
def test_addon_refuses_to_start_saying_why(
    images: Images, addon_image: str, tmp_path: Path, networks: list[str], expected: tuple[str]
) -> None:
    """The add-on stops at once, naming the option or what is missing, and creates nothing."""
    data = tmp_path / "data"
    data.mkdir()
    options = {"networks": networks, "base_topic": "netmon"}
    (data / "options.json").write_text(json.dumps(options))
    started, volume = time.monotonic(), f"{data}:/data"
    proc = subprocess.run(
        [images.docker.client, "run", "--rm", "--network", "none", "-v", volume, addon_image],
        capture_output=True,
        text=True,
        env=images.docker.env,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout
    assert all(text in proc.stderr for text in expected), proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (data / "netmon.db").exists()
    assert time.monotonic() - started < 30
