"""An isolated test LAN built from Linux network namespaces.

Layout: a bridge ``br0`` inside its own namespace ``<tag>-br``; one namespace per host
(``<tag>-h<N>``) and one for the service, broker and subscribers (``<tag>-svc``), each joined
to the bridge by a veth pair. Hosts get deterministic MACs taken from real vendor OUIs.
Nothing here can reach the machine's real network: the namespaces have no route out, and a
blackhole route for the test prefix in the root namespace makes a tool started in the wrong
namespace fail locally. Everything created is removed by name in ``destroy``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

# Real IEEE assignments (MA-L) and the vendor name the IEEE registry gives for each.
VENDORS: tuple[tuple[str, str], ...] = (
    ("b8:27:eb", "Raspberry Pi Foundation"),
    ("3c:22:fb", "Apple, Inc."),
    ("00:17:88", "Philips Lighting BV"),
    ("f0:9f:c2", "Ubiquiti Networks Inc."),
    ("00:1a:11", "Google, Inc."),
    ("18:b4:30", "Nest Labs Inc."),
    ("50:c7:bf", "TP-LINK TECHNOLOGIES CO.,LTD."),
    ("00:0c:29", "VMware, Inc."),
)
SERVICE_MAC = "02:6e:6d:00:00:01"
NS_PREFIX = "nmt"


def have_root() -> bool:
    """True when namespaces can be built here."""
    return os.geteuid() == 0 and shutil.which("ip") is not None


def run(*args: str, check: bool = True, stdin: str | None = None) -> str:
    """Run a command, returning stdout; raise with stderr on failure."""
    proc = subprocess.run(args, input=stdin, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


@dataclass(frozen=True)
class Host:
    """One host namespace."""

    index: int
    namespace: str
    ip: str
    mac: str
    vendor: str
    bridge_port: str

    @property
    def device_id(self) -> str:
        """The id netmon gives this host."""
        return self.mac.replace(":", "")


@dataclass
class NetnsLan:
    """A bridge, ``count`` hosts and a service namespace on ``subnet``.

    ``roles`` optionally names the hosts, one name per host in order (``host(role)`` finds
    one); hosts beyond the named ones stay unnamed.
    """

    count: int
    tag: str = field(default_factory=lambda: f"{NS_PREFIX}{os.getpid() % 100000}")
    subnet: str = "10.77.0.0/24"
    roles: tuple[str, ...] = ()
    hosts: list[Host] = field(default_factory=list)
    _namespaces: list[str] = field(default_factory=list)
    _blackholes: list[str] = field(default_factory=list)
    _sysctl_saved: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.roles) > self.count:
            raise ValueError(f"{len(self.roles)} roles for {self.count} hosts: {self.roles}")
        if len(set(self.roles)) != len(self.roles):
            raise ValueError(f"roles must be distinct: {self.roles}")

    def host(self, role: str) -> Host:
        """The host named ``role`` in ``roles`` (its current state, e.g. after ``set_mac``)."""
        if role not in self.roles:
            known = ", ".join(self.roles) or "none"
            raise KeyError(f"no host has the role {role!r}; known roles: {known}")
        if not self.hosts:
            raise RuntimeError(f"the LAN {self.tag} is not built: no host {role!r} yet")
        return self.hosts[self.roles.index(role)]

    @property
    def bridge_ns(self) -> str:
        """Namespace holding the bridge."""
        return f"{self.tag}-br"

    @property
    def service_ns(self) -> str:
        """Namespace of the service, broker and subscribers."""
        return f"{self.tag}-svc"

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The LAN's network."""
        return ipaddress.IPv4Network(self.subnet)

    @property
    def service_ip(self) -> str:
        """The service's address (the first of the subnet)."""
        return str(self.network.network_address + 1)

    def build(self) -> NetnsLan:
        """Create everything; on failure remove what was made."""
        if self.count > self.network.num_addresses - 3:  # network, service, broadcast
            raise ValueError(f"{self.subnet} is too small for {self.count} hosts")
        try:
            self._build()
        except BaseException:
            self.destroy()
            raise
        return self

    def _build(self) -> None:
        cleanup_stale(self.tag)
        self._protect_root()
        if self.count > 200:
            self._raise_neighbour_limits()
        hosts = [self._host(i) for i in range(1, self.count + 1)]
        names = [self.bridge_ns, self.service_ns, *(h.namespace for h in hosts)]
        batch = [f"netns add {name}" for name in names]
        self._namespaces = names
        batch += [
            f"link add eth0 netns {self.service_ns} address {SERVICE_MAC} "
            f"type veth peer name svc netns {self.bridge_ns}"
        ]
        batch += [
            f"link add eth0 netns {h.namespace} address {h.mac} "
            f"type veth peer name {h.bridge_port} netns {self.bridge_ns}"
            for h in hosts
        ]
        run("ip", "-batch", "-", stdin="\n".join(batch) + "\n")
        # A switch has no address of its own: keep the bridge namespace off IPv6.
        run(
            "ip",
            "netns",
            "exec",
            self.bridge_ns,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        )
        ports = ["svc", *(h.bridge_port for h in hosts)]
        bridge = [
            "link set lo up",
            "link add br0 type bridge",
            "link set br0 type bridge forward_delay 0 stp_state 0 ageing_time 30000",
            "link set br0 up",
        ]
        bridge += [f"link set {p} master br0" for p in ports] + [f"link set {p} up" for p in ports]
        run("ip", "-n", self.bridge_ns, "-batch", "-", stdin="\n".join(bridge) + "\n")
        prefix = self.network.prefixlen
        jobs = [(self.service_ns, self.service_ip)] + [(h.namespace, h.ip) for h in hosts]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda job: _configure(job[0], job[1], prefix), jobs))
        self.hosts = hosts

    def _host(self, index: int) -> Host:
        oui, vendor = VENDORS[(index - 1) % len(VENDORS)]
        # The subnet's second octet tells LANs apart (several run at once, and one Home
        # Assistant sees them in turn: a MAC seen before would get its old entity ids back).
        lan = self.network.network_address.packed[1]
        mac = f"{oui}:{lan:02x}:{(index >> 8) & 0xFF:02x}:{index & 0xFF:02x}"
        ip = str(self.network.network_address + 1 + index)
        return Host(index, f"{self.tag}-h{index}", ip, mac, vendor, f"h{index}")

    def _protect_root(self, network: ipaddress.IPv4Network | None = None) -> None:
        net = network or self.network
        route = f"blackhole {net.supernet(new_prefix=min(16, net.prefixlen))}"
        if route not in run("ip", "route", "show", "type", "blackhole", check=False):
            # Another LAN of this run (on another worker) may add the same route meanwhile:
            # then it is there, and that LAN removes it.
            command = ["ip", "route", "add", *route.split()]
            added = subprocess.run(command, check=False, capture_output=True)
            if added.returncode == 0:
                self._blackholes.append(route)
            elif "File exists" not in added.stderr.decode(errors="replace"):
                raise RuntimeError(f"ip route add {route} failed: {added.stderr!r}")

    def _raise_neighbour_limits(self) -> None:
        """Room for a big LAN: neighbour tables, and the per-CPU backlog into which a bridge
        floods each broadcast once per port (1000 by default: a broadcast to 1000 hosts would
        overflow it, a drop no real switch makes)."""
        for path, value in (
            ("/proc/sys/net/ipv4/neigh/default/gc_thresh1", "4096"),
            ("/proc/sys/net/ipv4/neigh/default/gc_thresh2", "16384"),
            ("/proc/sys/net/ipv4/neigh/default/gc_thresh3", "32768"),
            ("/proc/sys/net/core/netdev_max_backlog", str(max(1000, 16 * self.count))),
        ):
            with open(path) as handle:
                self._sysctl_saved[path] = handle.read().strip()
            with open(path, "w") as handle:
                handle.write(value)

    def destroy(self) -> None:
        """Remove every namespace, route and setting this LAN created."""
        if self._namespaces:
            run(
                "ip",
                "-force",
                "-batch",
                "-",
                check=False,
                stdin="".join(f"netns del {n}\n" for n in self._namespaces),
            )
            self._namespaces = []
        for route in self._blackholes:
            run("ip", "route", "del", *route.split(), check=False)
        self._blackholes.clear()
        for path, value in self._sysctl_saved.items():
            with open(path, "w") as handle:
                handle.write(value)
        self._sysctl_saved.clear()

    def add_switch(self, name: str, hosts: Sequence[Host], *, trunk: str = "trunk") -> str:
        """A second switch: a bridge in namespace ``<tag>-<name>`` that takes over ``hosts``'
        ports and hangs from the main bridge by a link whose ends are both named ``trunk``.
        Returns the namespace (removed with the LAN)."""
        namespace = f"{self.tag}-{name}"
        run("ip", "netns", "add", namespace)
        self._namespaces.append(namespace)
        run(*self.exec_args(namespace, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1"))
        moved = [h.bridge_port for h in hosts]
        main = [f"link set {port} netns {namespace}" for port in moved]
        main.append(f"link add {trunk} type veth peer name {trunk} netns {namespace}")
        main += [f"link set {trunk} master br0", f"link set {trunk} up"]
        run("ip", "-n", self.bridge_ns, "-batch", "-", stdin="\n".join(main) + "\n")
        ports = [*moved, trunk]
        bridge = [
            "link set lo up",
            "link add br0 type bridge",
            "link set br0 type bridge forward_delay 0 stp_state 0 ageing_time 30000",
            "link set br0 up",
        ]
        bridge += [f"link set {p} master br0" for p in ports] + [f"link set {p} up" for p in ports]
        run("ip", "-n", namespace, "-batch", "-", stdin="\n".join(bridge) + "\n")
        return namespace

    # -- helpers for tests -------------------------------------------------------------
    def exec_args(self, namespace: str, *command: str) -> list[str]:
        """argv running ``command`` inside ``namespace``."""
        return ["ip", "netns", "exec", namespace, *command]

    def popen(
        self, namespace: str, command: Sequence[str], **kwargs: object
    ) -> subprocess.Popen[str]:
        """Start a process inside a namespace."""
        return subprocess.Popen(self.exec_args(namespace, *command), text=True, **kwargs)  # type: ignore[call-overload]

    def take_down(self, host: Host) -> None:
        """Cut the host off the bridge: it neither sends nor receives."""
        run("ip", "-n", self.bridge_ns, "link", "set", host.bridge_port, "down")

    def bring_up(self, host: Host) -> None:
        """Reconnect the host."""
        run("ip", "-n", self.bridge_ns, "link", "set", host.bridge_port, "up")

    def netns_exec(self, host: Host, *command: str, check: bool = True) -> str:
        """Run a command inside a host's namespace."""
        return run("ip", "netns", "exec", host.namespace, *command, check=check)

    def sysctl(self, host: Host, key: str, value: str) -> None:
        """Set a sysctl inside a host's namespace."""
        self.netns_exec(host, "sysctl", "-q", "-w", f"{key}={value}")

    def set_mac(self, host: Host, mac: str) -> Host:
        """Give a host another MAC (e.g. a randomized one); returns the updated host."""
        run("ip", "-n", host.namespace, "link", "set", "eth0", "address", mac)
        updated = Host(host.index, host.namespace, host.ip, mac, host.vendor, host.bridge_port)
        self.hosts[self.hosts.index(host)] = updated
        return updated

    def remove_ipv4(self, host: Host) -> None:
        """Leave a host without an IPv4 address (a client before DHCP)."""
        run("ip", "-n", host.namespace, "addr", "flush", "dev", "eth0", "scope", "global")

    def add_ipv6(self, host: Host, address: str) -> None:
        """Add an IPv6 address (no duplicate address detection, usable at once)."""
        run("ip", "-n", host.namespace, "addr", "add", address, "dev", "eth0", "nodad")

    def add_routed_subnet(self, subnet: str, count: int) -> list[str]:
        """A router namespace on the LAN forwarding to ``count`` hosts on ``subnet``.

        The service namespace gets a route to ``subnet`` through the router. Returns the
        routed hosts' addresses.
        """
        net = ipaddress.IPv4Network(subnet)
        self._protect_root(net)
        router = f"{self.tag}-rt"
        lan_ip = str(self.network.broadcast_address - 1)
        names = [router] + [f"{self.tag}-r{i}" for i in range(1, count + 1)]
        batch = [f"netns add {n}" for n in names]
        self._namespaces += names
        batch.append(f"link add eth0 netns {router} type veth peer name rt netns {self.bridge_ns}")
        batch += [
            f"link add eth0 netns {self.tag}-r{i} type veth peer name p{i} netns {router}"
            for i in range(1, count + 1)
        ]
        run("ip", "-batch", "-", stdin="\n".join(batch) + "\n")
        run(
            "ip",
            "-n",
            self.bridge_ns,
            "-batch",
            "-",
            stdin="link set rt master br0\nlink set rt up\n",
        )
        gateway = str(net.network_address + 1)
        script = [
            "link set lo up",
            "link set eth0 up",
            f"addr add {lan_ip}/{self.network.prefixlen} dev eth0",
            "link add br1 type bridge",
            "link set br1 up",
            f"addr add {gateway}/{net.prefixlen} dev br1",
        ]
        script += [f"link set p{i} master br1\nlink set p{i} up" for i in range(1, count + 1)]
        run("ip", "-n", router, "-batch", "-", stdin="\n".join(script) + "\n")
        run("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        addresses = []
        for i in range(1, count + 1):
            ip = str(net.network_address + 9 + i)
            addresses.append(ip)
            run(
                "ip",
                "-n",
                f"{self.tag}-r{i}",
                "-batch",
                "-",
                stdin=f"link set lo up\nlink set eth0 up\naddr add {ip}/{net.prefixlen} dev eth0\n"
                f"route add default via {gateway}\n",
            )
        run("ip", "-n", self.service_ns, "route", "add", subnet, "via", lan_ip)
        return addresses

    def wait_ipv6_ready(self, timeout: float = 10.0) -> None:
        """Wait until duplicate address detection finished in every namespace."""
        deadline = time.monotonic() + timeout
        namespaces = [self.service_ns, *(h.namespace for h in self.hosts)]
        while namespaces and time.monotonic() < deadline:
            namespaces = [
                ns
                for ns in namespaces
                if run("ip", "-n", ns, "-6", "addr", "show", "tentative", check=False).strip()
            ]
            time.sleep(0.2)

    def set_loss(self, host: Host, share: float) -> None:
        """Drop ``share`` (0..1) of the packets the host sends (cls_bpf on its egress)."""
        ns = host.namespace
        run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", "eth0", "clsact", check=False)
        if share <= 0:
            return
        run("ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "clsact")
        run(
            "ip",
            "netns",
            "exec",
            ns,
            "tc",
            "filter",
            "add",
            "dev",
            "eth0",
            "egress",
            "bpf",
            "da",
            "bytecode",
            loss_bytecode(share),
        )


def loss_bytecode(share: float) -> str:
    """Classic BPF for cls_bpf direct-action: drop when a random u32 is below the share."""
    threshold = min(int(share * 2**32), 2**32 - 1)
    random_word = 0x1000 * (2**20 - 1) + 56  # SKF_AD_OFF + SKF_AD_RANDOM as an unsigned k
    program = [
        (0x20, 0, 0, random_word & 0xFFFFFFFF),  # A = random u32
        (0x35, 1, 0, threshold),  # if A >= threshold goto pass
        (0x06, 0, 0, 2),  # TC_ACT_SHOT
        (0x06, 0, 0, 0),  # TC_ACT_OK
    ]
    return f"{len(program)}," + ",".join(f"{c} {t} {f} {k}" for c, t, f, k in program)


def _configure(namespace: str, ip: str, prefix: int) -> None:
    script = f"link set lo up\nlink set eth0 up\naddr add {ip}/{prefix} dev eth0\n"
    run("ip", "-n", namespace, "-batch", "-", stdin=script)


def cleanup_stale(tag: str) -> None:
    """Remove namespaces left by an earlier run with the same tag."""
    names = [
        line.split()[0]
        for line in run("ip", "netns", "list", check=False).splitlines()
        if line.startswith(f"{tag}-")
    ]
    if names:
        run(
            "ip",
            "-force",
            "-batch",
            "-",
            check=False,
            stdin="".join(f"netns del {n}\n" for n in names),
        )
