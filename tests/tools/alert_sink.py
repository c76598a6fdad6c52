"""An SMTP sink and a webhook HTTP server in one process (run inside a LAN host's
namespace): every message received is appended as one JSON line to ``OUT``:
``{"kind": "smtp", "to": [...], "subject": ..., "body": ...}`` or
``{"kind": "http", "path": ..., "body": ...}``. Prints "ready" once both listen.

Usage: alert_sink.py ADDRESS SMTP_PORT HTTP_PORT OUT
"""

from __future__ import annotations

import asyncio
import email
import json
import sys
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

MAX_BODY = 1 << 20


class _Mailbox:
    def __init__(self, out: Path) -> None:
        self.out = out

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(raw, policy=default)
        part = message.get_body(("plain", "html"))
        body = part.get_content() if part is not None else ""
        _append(self.out, {"kind": "smtp", "to": list(envelope.rcpt_tos),
                           "subject": str(message.get("Subject", "")), "body": body})  # fmt: skip
        return "250 OK"


def _append(out: Path, record: dict[str, Any]) -> None:
    with out.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, out: Path) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else ""
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = min(int(value.strip() or 0), MAX_BODY)
        body = await reader.readexactly(length) if length else b""
        _append(out, {"kind": "http", "path": path, "body": body.decode("utf-8", "replace")})
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        pass
    finally:
        writer.close()


async def main(address: str, smtp_port: int, http_port: int, out: Path) -> None:
    loop = asyncio.get_running_loop()
    mailbox = _Mailbox(out)
    smtp = await loop.create_server(lambda: SMTP(mailbox), address, smtp_port)
    http = await asyncio.start_server(lambda r, w: _http(r, w, out), address, http_port)
    print("ready", flush=True)
    async with smtp, http:
        await asyncio.gather(smtp.serve_forever(), http.serve_forever())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])))
