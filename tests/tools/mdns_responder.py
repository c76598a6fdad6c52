"""Advertise mDNS services from inside a host namespace until killed.

Usage: mdns_responder.py IP HOSTNAME INSTANCE MODEL TYPE [TYPE...]

``IP`` may be ``OWN@CLAIMED``: listen on ``OWN`` and announce ``CLAIMED`` (another host's
address: what a liar on the LAN sends).
"""

from __future__ import annotations

import signal
import socket
import sys
import threading

from zeroconf import IPVersion, ServiceInfo, Zeroconf


def main() -> None:
    ip, hostname, instance, model, *types = sys.argv[1:]
    ip, _, claimed = ip.partition("@")
    zc = Zeroconf(interfaces=[ip], ip_version=IPVersion.V4Only)
    infos = [
        ServiceInfo(
            kind,
            f"{instance}.{kind}",
            addresses=[socket.inet_aton(claimed or ip)],
            port=8009,
            properties={"md": model, "fn": instance},
            server=f"{hostname}.local.",
        )
        for kind in types
    ]
    for info in infos:
        zc.register_service(info)
    print("ready", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    for info in infos:
        zc.unregister_service(info)
    zc.close()


if __name__ == "__main__":
    main()
