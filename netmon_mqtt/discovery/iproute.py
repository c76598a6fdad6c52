"""Reading the kernel's tables through iproute2's JSON output (``ip -j``)."""

from __future__ import annotations

import asyncio
import json


async def ip_json(*args: str) -> list[dict[str, object]] | None:
    """``ip -j <args>`` parsed; None when ``ip`` is missing or fails."""
    try:
        process = await asyncio.create_subprocess_exec(
            "ip", "-j", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    out, _ = await process.communicate()
    if process.returncode != 0:
        return None
    try:
        data = json.loads(out.decode() or "[]")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, list) else None
