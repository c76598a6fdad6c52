"""CAP_NET_RAW held but not in force (the image's ``setcap cap_net_raw+ip``) is put in force
at start; where it is not held at all, nothing changes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from .conftest import require
from .lan import have_root

# In a child process: take CAP_NET_RAW out of the effective set (it stays permitted, as after
# exec of a file with the capability and no effective bit), or out of both, then start up.
CHILD = textwrap.dedent(
    """
    import ctypes, socket, sys
    from netmon_mqtt.privileges import _CapData, _CapHeader, check

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = _CapHeader(0x20080522, 0), (_CapData * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0
    data[0].effective &= ~(1 << 13)
    if sys.argv[1] == "dropped":
        data[0].permitted &= ~(1 << 13)
    assert libc.capset(ctypes.byref(header), data) == 0, ctypes.get_errno()
    try:
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0).close()
        print("raw before: yes")
    except PermissionError:
        print("raw before: no")
    print("check:", check())
    """
)


def _start_up(case: str) -> str:
    require(have_root(), "needs root to hold CAP_NET_RAW in the first place")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, case],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_permitted_net_raw_is_put_in_force() -> None:
    out = _start_up("permitted")
    assert "raw before: no" in out  # the socket was refused before
    assert "check: Privileges(raw=True, icmp=True)" in out


def test_without_net_raw_nothing_is_raised() -> None:
    out = _start_up("dropped")
    assert "raw before: no" in out
    assert "raw=False" in out
