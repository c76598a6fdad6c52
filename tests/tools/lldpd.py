"""lldpd (Debian's) inside a namespace: announces itself with LLDP on every interface there
and, beside a switch's snmpd, serves the LLDP-MIB through the agent's AgentX socket."""

from __future__ import annotations

import subprocess
from pathlib import Path

TX_INTERVAL = 5  # seconds between announcements (lldpd's default is 30)


def start_lldpd(
    exec_prefix: list[str],
    folder: Path,
    name: str,
    *,
    agentx: Path | None = None,
    chassis: str | None = None,
) -> subprocess.Popen[str]:
    """lldpd named ``name`` (the system name it announces), its control socket and log in
    ``folder``; ``agentx`` is the snmpd master's socket, ``chassis`` the interface whose MAC
    is the chassis id (a switch's bridge).

    lldpd waits for its configuration (applied by lldpcli as the unprivileged ``_lldpd``
    user) before it announces anything, so ``folder`` and its parents must be open to that
    user: keep it out of pytest's private temporary folders."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    conf = folder / f"{name}.conf"
    conf.write_text(f"configure system hostname {name}\nconfigure lldp tx-interval {TX_INTERVAL}\n")
    command = [*exec_prefix, "lldpd", "-d", "-u", str(folder / f"{name}.ctl"), "-O", str(conf)]
    if agentx:
        command += ["-x", "-X", f"unix:{agentx}"]
    if chassis:
        command += ["-C", chassis]
    log = (folder / f"{name}.log").open("w")
    with log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True)
