"""Secrets sealed to the service: a request may carry an SNMP community or key that only
this service can read, whoever else reads the broker.

The service keeps an X25519 key pair (the private key in a file beside its database,
``netmon.key`` for ``netmon.db``, which only its owner can read) and publishes the public
key in ``bridge/info`` (``public_key``, with ``sealing``: the scheme's name). A client
seals each secret to it: an ephemeral X25519 key agreement, HKDF-SHA256 over the shared
secret (both public keys in its info), then ChaCha20-Poly1305 with the ephemeral public
key as associated data. In a request, a secret (``community``, ``auth_key``, ``priv_key``)
may then be ``{"sealed": "<base64 of ephemeral public key, nonce, ciphertext>"}``; the
bridge opens it before validating the request. The Home Assistant component always seals;
``custom_components/netmon/sealing.py`` is its copy of ``seal`` (the service's tests check
that the two agree).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import NetmonError
from .validators import SECRET_KEYS

SEALING: Final = "x25519-hkdf-sha256-chacha20poly1305"
SEALED: Final = "sealed"
_INFO: Final = b"netmon-mqtt sealed secret v1"
_KEY, _NONCE = 32, 12
MAX_SEALED: Final = 4096  # characters of one sealed value
_RAW = serialization.Encoding.Raw
_PUBLIC = serialization.PublicFormat.Raw


class SealError(NetmonError):
    """A sealed value that cannot be opened (not for this service, or damaged)."""


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(_RAW, _PUBLIC)


def _cipher(shared: bytes, ephemeral: bytes, recipient: bytes) -> ChaCha20Poly1305:
    key = HKDF(hashes.SHA256(), _KEY, None, _INFO + ephemeral + recipient).derive(shared)
    return ChaCha20Poly1305(key)


def seal(public_key: str, secret: str) -> dict[str, str]:
    """``secret`` sealed to the service whose ``bridge/info`` says ``public_key``."""
    recipient = X25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    ephemeral = X25519PrivateKey.generate()
    sender = _raw(ephemeral.public_key())
    nonce = os.urandom(_NONCE)
    cipher = _cipher(ephemeral.exchange(recipient), sender, _raw(recipient))
    sealed = sender + nonce + cipher.encrypt(nonce, secret.encode(), sender)
    return {SEALED: base64.b64encode(sealed).decode()}


def key_path(database: str | Path) -> Path:
    """Where the private key of the service using ``database`` is kept."""
    return Path(database).with_suffix(".key")


def _load_or_make(path: Path) -> X25519PrivateKey:
    """The key in ``path``, or a new one written there (mode 0600); one that cannot be read
    is replaced (clients then seal to the new public key)."""
    try:
        return X25519PrivateKey.from_private_bytes(bytes.fromhex(path.read_text().strip()))
    except (OSError, ValueError):
        pass
    key = X25519PrivateKey.generate()
    raw = key.private_bytes(_RAW, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(raw.hex())
    return key


class Sealing:
    """The service's key pair: made once, kept beside the database, read at start."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._key: X25519PrivateKey | None = None

    async def start(self) -> None:
        """Read the key pair, or make and keep one (``SealError`` when it cannot be kept)."""
        try:
            self._key = await asyncio.to_thread(_load_or_make, self._path)
        except OSError as err:
            raise SealError(f"cannot keep the sealing key in {self._path}: {err}") from err

    async def stop(self) -> None:
        """Nothing to release."""

    @property
    def public_key(self) -> str | None:
        """The public key in base64, as ``bridge/info`` shows it (None before start)."""
        return base64.b64encode(_raw(self._key.public_key())).decode() if self._key else None

    def open(self, sealed: object) -> str:
        """The secret inside a sealed value; ``SealError`` when it is not one for us."""
        if self._key is None or not isinstance(sealed, str) or len(sealed) > MAX_SEALED:
            raise SealError("not a sealed value")
        try:
            raw = base64.b64decode(sealed, validate=True)
        except (binascii.Error, ValueError) as err:
            raise SealError("not base64") from err
        sender, nonce, body = raw[:_KEY], raw[_KEY : _KEY + _NONCE], raw[_KEY + _NONCE :]
        if len(sender) != _KEY or len(nonce) != _NONCE:
            raise SealError("too short")
        recipient = self._key.public_key()
        try:
            shared = self._key.exchange(X25519PublicKey.from_public_bytes(sender))
            plain = _cipher(shared, sender, _raw(recipient)).decrypt(nonce, body, sender)
            return plain.decode()
        except (InvalidTag, ValueError, UnicodeDecodeError) as err:
            raise SealError("sealed for another key, or damaged") from err

    def unseal(self, data: Any, path: str = "") -> Any:
        """``data`` with every sealed secret opened (``SealError`` naming the first that
        cannot be)."""
        if isinstance(data, list):
            return [self.unseal(item, f"{path}[{n}]") for n, item in enumerate(data)]
        if not isinstance(data, Mapping):
            return data
        opened: dict[str, Any] = {}
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if key in SECRET_KEYS and isinstance(value, Mapping) and set(value) == {SEALED}:
                try:
                    opened[key] = self.open(value[SEALED])
                except SealError as err:
                    raise SealError(f"{where}: cannot unseal: {err}") from err
            else:
                opened[key] = self.unseal(value, where)
        return opened
