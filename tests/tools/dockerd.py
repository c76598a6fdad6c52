"""Docker for the container tests, without an image registry and without the real network.

- ``Docker.usable()`` talks to a running daemon, or starts one of its own (its socket,
  pid file, state and data in a temporary folder; no bridge, no iptables rules, no NAT), and
  ``close()`` stops only the daemon it started, by its pid.
- ``debootstrap_base()`` builds a Debian root (minbase, bookworm, from this machine's first apt
  mirror) shaped like the official ``python:3.11-slim`` (the interpreter in /usr/local/bin,
  pip usable system-wide), with this machine's CA bundle as ``SSL_CERT_FILE`` so package
  clients inside the build reach their registries: the test build's only difference.
- ``attach()`` puts a container's network namespace on a test LAN with a veth pair whose
  other end joins the LAN's bridge; nothing touches the root namespace.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

TEST_CA = "/usr/local/share/netmon-test/ca.crt"  # where the base image keeps the CA bundle
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
PACKAGES = "python3,python3-pip,ca-certificates"
RUN_DIRS = (Path("/run/docker"), Path("/run/containerd"))  # dockerd makes them wherever it runs


class DockerError(RuntimeError):
    """A docker command failed (the message has its output)."""


def apt_mirror() -> str:
    """The first http(s) URI of this machine's apt sources (one-line and deb822 files)."""
    files = ["/etc/apt/sources.list"]
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
    files += sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for name in files:
        try:
            text = Path(name).read_text()
        except OSError:
            continue
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            one_line = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(https?://\S+)", line)
            deb822 = re.match(r"URIs:\s*(https?://\S+)", line)
            found = one_line or deb822
            if found:
                return found.group(1).rstrip("/")
    return DEFAULT_MIRROR


def debootstrap_base(root: Path, mirror: str, log: Path) -> Path:
    """A bookworm root at ``root`` that stands in for ``python:3.11-slim``."""
    shutil.rmtree(root, ignore_errors=True)  # a root left half-made by an interrupted run
    proc = subprocess.run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={PACKAGES}",
            "bookworm",
            str(root),
            mirror,
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-20:])
        raise DockerError(f"debootstrap from {mirror} failed ({proc.returncode}):\n{tail}")
    for deb in (root / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    # As in the official image: python3.11 and pip in /usr/local/bin, pip may install.
    (root / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink(missing_ok=True)
    local = root / "usr/local/bin"
    for name in ("python3.11", "python3", "python"):
        (local / name).unlink(missing_ok=True)
        (local / name).symlink_to("/usr/bin/python3.11")
    (local / "pip").unlink(missing_ok=True)
    (local / "pip").symlink_to("/usr/bin/pip3")
    ca = root / TEST_CA.lstrip("/")
    ca.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(HOST_CA, ca)
    return root


class Docker:
    """A docker client bound to one daemon (an existing one, or one started here)."""

    def __init__(self, client: str, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.env = {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: no buildx
        self._daemon: subprocess.Popen[bytes] | None = None
        self._pidfile = folder / "dockerd.pid"
        self._made_run_dirs: list[Path] = []

    def __call__(self, *args: str, timeout: float = 120, stdin: bytes | None = None) -> str:
        """Run ``docker args``; the output, or ``DockerError`` with it."""
        proc = subprocess.run(
            [self.client, *args],
            input=stdin,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            output = (proc.stdout + proc.stderr).decode(errors="replace")
            raise DockerError(f"docker {' '.join(args[:3])}... failed: {output[-3000:]}")
        return proc.stdout.decode(errors="replace")

    def quiet(self, *args: str, timeout: float = 60) -> None:
        """Run ``docker args`` and ignore failure (clean-up)."""
        subprocess.run(
            [self.client, *args],
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )

    def answers(self) -> bool:
        """True when the daemon answers."""
        try:
            self("version", "--format", "{{.Server.Version}}", timeout=20)
        except (DockerError, subprocess.TimeoutExpired):
            return False
        return True

    def usable(self) -> str:
        """Use the running daemon, or start one; returns which."""
        if self.answers():
            return "the running docker daemon"
        self.start_daemon()
        return f"a docker daemon started here (pid {self._daemon_pid()})"

    def start_daemon(self) -> None:
        """dockerd with everything in ``folder`` and no host networking changes."""
        self._made_run_dirs = [d for d in RUN_DIRS if not d.exists()]
        self._made_run_dirs += [d for d in cgroup_dirs() if not d.exists()]
        socket = self.folder / "docker.sock"
        self.env["DOCKER_HOST"] = f"unix://{socket}"
        log = (self.folder / "dockerd.log").open("wb")
        self._daemon = subprocess.Popen(
            [
                "dockerd",
                "--host",
                f"unix://{socket}",
                "--pidfile",
                str(self._pidfile),
                "--exec-root",
                str(self.folder / "exec"),
                "--data-root",
                str(self.folder / "data"),
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-masq=false",
                "--ip-forward=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.answers():
            if self._daemon.poll() is not None or time.monotonic() > deadline:
                tail = (self.folder / "dockerd.log").read_text(errors="replace")[-3000:]
                self.close()
                raise DockerError(f"dockerd did not start:\n{tail}")
            time.sleep(0.5)

    def _daemon_pid(self) -> int | None:
        return self._daemon.pid if self._daemon is not None else None

    def close(self) -> None:
        """Stop the daemon started here (by its pid); leave a running one alone."""
        if self._daemon is None:
            return
        if self._daemon.poll() is None:
            self._daemon.send_signal(signal.SIGTERM)
            try:
                self._daemon.wait(60)
            except subprocess.TimeoutExpired:
                self._daemon.kill()
                self._daemon.wait(10)
        self._daemon = None
        # What the daemon leaves: its network namespace mount, empty folders in /run and
        # its (empty) cgroups.
        for mount in reversed(mounts_under(self.folder)):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
        for folder in self._made_run_dirs:
            for sub in sorted(folder.glob("**/"), key=lambda d: len(d.parts), reverse=True):
                with contextlib.suppress(OSError):
                    sub.rmdir()  # only empty ones

    # -- images and containers ----------------------------------------------------------
    def import_root(self, root: Path, tag: str) -> None:
        """``docker import`` a root file system as ``tag`` with the test CA in force."""
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        changes = [
            f"ENV SSL_CERT_FILE={TEST_CA}",
            f"ENV PIP_CERT={TEST_CA}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["python3"]',
        ]
        args = [arg for change in changes for arg in ("--change", change)]
        proc = subprocess.run(
            [self.client, "import", *args, "-", tag],
            stdin=tar.stdout,
            capture_output=True,
            env=self.env,
            timeout=300,
            check=False,
        )
        tar.stdout.close()
        tar.wait(60)
        if proc.returncode != 0 or tar.returncode != 0:
            raise DockerError(f"docker import failed: {proc.stderr.decode(errors='replace')}")

    def build(self, context: Path, tag: str, log: Path, **build_args: str) -> None:
        """``docker build`` with the host network for the package registries (only the build
        sends packets out); the output goes to ``log``."""
        args = [arg for k, v in build_args.items() for arg in ("--build-arg", f"{k}={v}")]
        with log.open("wb") as out:
            proc = subprocess.run(
                [self.client, "build", "--network", "host", "--rm", *args, "-t", tag, "."],
                cwd=context,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=self.env,
                timeout=900,
                check=False,
            )
        if proc.returncode != 0:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
            raise DockerError(f"docker build of {tag} failed ({proc.returncode}):\n{tail}")

    def logs(self, container: str) -> str:
        """What the container wrote (stdout and stderr, interleaved as docker keeps them)."""
        proc = subprocess.run(
            [self.client, "logs", container],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self.env,
            timeout=60,
            check=False,
        )
        return proc.stdout.decode(errors="replace")

    def pid(self, container: str) -> int:
        """The host pid of a running container's first process."""
        return int(self("inspect", "-f", "{{.State.Pid}}", container).strip())


def cgroup_dirs() -> list[Path]:
    """dockerd's default cgroup parent: in each v1 controller, or in the v2 hierarchy."""
    v1 = [Path(d) / "docker" for d in sorted(glob.glob("/sys/fs/cgroup/*/"))]
    return [Path("/sys/fs/cgroup/docker"), *v1]


def mounts_under(folder: Path) -> list[str]:
    """Mount points inside ``folder``, in mount order."""
    prefix = f"{folder}/"
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if point.startswith(prefix):
            points.append(point)
    return points


def attach(
    bridge_ns: str, port: str, pid: int, address: str, mac: str, *, prefix: int = 24
) -> None:
    """A veth from the LAN's bridge (``port``, in ``bridge_ns``) to ``eth0`` in the network
    namespace of process ``pid``, which gets ``address``."""
    _run(
        "ip",
        "-n",
        bridge_ns,
        "link",
        "add",
        port,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "address",
        mac,
        "netns",
        str(pid),
    )
    _run("ip", "-n", bridge_ns, "link", "set", port, "master", "br0")
    _run("ip", "-n", bridge_ns, "link", "set", port, "up")
    inside = ["nsenter", "-t", str(pid), "-n", "ip"]
    _run(*inside, "link", "set", "lo", "up")
    _run(*inside, "addr", "add", f"{address}/{prefix}", "dev", "eth0")
    _run(*inside, "link", "set", "eth0", "up")


def _run(*args: str) -> str:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    if proc.returncode != 0:
        raise DockerError(f"{' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def copy_paths(source: Path, target: Path, names: Sequence[str]) -> None:
    """Copy ``names`` (files or folders) from ``source`` into ``target``, without caches."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / name)


def dockerfile_sources(dockerfile: Path) -> list[str]:
    """The context paths a Dockerfile's COPY instructions read (no ``--from`` stages)."""
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if len(words) >= 3 and words[0].upper() == "COPY":
            args = [w for w in words[1:] if not w.startswith("--")]
            if any(w.startswith("--from") for w in words[1:]):
                continue
            sources += [a.rstrip("/") for a in args[:-1]]
    return sources


def make_folder(prefix: str) -> Path:
    """A private temporary folder (the caller removes it)."""
    return Path(tempfile.mkdtemp(prefix=prefix))
