"""Answer SSDP searches and serve a UPnP description from inside a host namespace.

Usage: ssdp_responder.py IP FRIENDLY_NAME MANUFACTURER MODEL DEVICE_TYPE [broken] [lie=IP]
With ``broken`` the replies and the description are malformed; ``lie=IP`` adds a well-formed
reply whose LOCATION is another host's description (``IP``'s).
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

HTTP_PORT = 49152


def description(name: str, manufacturer: str, model: str, kind: str) -> bytes:
    return f"""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>{kind}</deviceType>
    <friendlyName>{name}</friendlyName>
    <manufacturer>{manufacturer}</manufacturer>
    <modelName>{model}</modelName>
    <UDN>uuid:netmon-test-{model}</UDN>
  </device>
</root>""".encode()


def main() -> None:
    ip, name, manufacturer, model, kind, *flags = sys.argv[1:]
    broken = "broken" in flags
    lies = [f.removeprefix("lie=") for f in flags if f.startswith("lie=")]
    body = (
        b"<root><device><friendlyName>unclosed"
        if broken
        else description(name, manufacturer, model, kind)
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = HTTPServer((ip, HTTP_PORT), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 1900))
    membership = struct.pack("4s4s", socket.inet_aton("239.255.255.250"), socket.inet_aton(ip))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
    print("ready", flush=True)
    while True:
        data, peer = sock.recvfrom(4096)
        if not data.startswith(b"M-SEARCH"):
            continue
        if broken:
            for junk in (
                b"\x00\xff garbage",
                b"HTTP/1.1 200 OK\r\nLOCATION\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nLOCATION: http://203.0.113.9/evil.xml\r\n\r\n",
                f"HTTP/1.1 200 OK\r\nLOCATION: http://{ip}:{HTTP_PORT}/d.xml\r\n\r\n".encode(),
                *(
                    f"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n"
                    f"LOCATION: http://{other}:{HTTP_PORT}/description.xml\r\n\r\n".encode()
                    for other in lies
                ),
            ):
                sock.sendto(junk, peer)
            continue
        reply = (
            f"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=1800\r\nST: {kind}\r\n"
            f"USN: uuid:netmon-test-{model}::{kind}\r\nSERVER: Linux UPnP/1.0 test/1\r\n"
            f"LOCATION: http://{ip}:{HTTP_PORT}/description.xml\r\nEXT:\r\n\r\n"
        )
        sock.sendto(reply.encode(), peer)


if __name__ == "__main__":
    main()
