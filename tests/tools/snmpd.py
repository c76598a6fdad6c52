"""A real net-snmp agent for a host namespace, configured for v2c or v3."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

SYSTEM = {
    "sysName": "office-printer",
    "sysLocation": "Office, 2nd floor",
    "sysContact": "it@example.com",
    "sysDescr": "HP LaserJet Pro M404dn test agent",
    "sysObjectID": "1.3.6.1.4.1.11.2.3.9.1",
}
V3_USER = ("netmonv3", "authpass123", "privpass123")  # SHA / AES
_FOLDERS: list[Path] = []


def remove_folders() -> None:
    """Delete the agents' configuration folders (after the agents stopped)."""
    while _FOLDERS:
        shutil.rmtree(_FOLDERS.pop(), ignore_errors=True)


def start_snmpd(
    exec_prefix: list[str],
    ip: str,
    *,
    community: str | None = None,
    v3: bool = False,
    name: str = "office-printer",
    extra: tuple[str, ...] = (),
    agentx: bool = False,
    port: int = 161,
) -> tuple[subprocess.Popen[str], Path]:
    """Start snmpd on ``ip``:``port`` inside a namespace (none: ``exec_prefix`` empty, on
    loopback); returns the process and its folder.
    With ``agentx``, subagents (lldpd) attach at ``<folder>/agentx.sock``."""
    folder = Path(tempfile.mkdtemp(prefix="netmon-snmpd-"))
    _FOLDERS.append(folder)
    master = (
        ["master agentx", f"agentXSocket unix:{folder / 'agentx.sock'}"]
        if agentx
        else ["master no"]
    )
    lines = [
        f"sysName {name}",
        f"sysLocation {SYSTEM['sysLocation']}",
        f"sysContact {SYSTEM['sysContact']}",
        f"sysDescr {SYSTEM['sysDescr']}",
        f"sysObjectID {SYSTEM['sysObjectID']}",
        *master,
    ]
    if community:
        lines.append(f"rocommunity {community} default")
    if v3:
        user, auth, priv = V3_USER
        lines += [f"createUser {user} SHA {auth} AES {priv}", f"rouser {user} priv"]
    lines += extra
    conf = folder / "snmpd.conf"
    conf.write_text("\n".join(lines) + "\n")
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder), "MIBS": ""}
    proc = subprocess.Popen(
        [
            *exec_prefix,
            "snmpd",
            "-f",
            "-Lf",
            str(folder / "snmpd.log"),
            "-C",
            "-c",
            str(conf),
            "-p",
            str(folder / "snmpd.pid"),
            f"udp:{ip}:{port}",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(0.5)
    if proc.poll() is not None:
        raise RuntimeError(f"snmpd did not start: {(folder / 'snmpd.log').read_text()}")
    return proc, folder
