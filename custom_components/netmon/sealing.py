"""Secrets sealed to the service before they go over MQTT (a copy of ``seal`` in the
service's ``netmon_mqtt/sealing.py``: its tests check that the service opens what this
seals). Only the service, whose public key ``bridge/info`` gives, can read them."""

from __future__ import annotations

import base64
import os
from typing import Any, Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

SEALING: Final = "x25519-hkdf-sha256-chacha20poly1305"
SECRET_KEYS: Final = frozenset({"community", "auth_key", "priv_key"})
_INFO: Final = b"netmon-mqtt sealed secret v1"
_RAW = serialization.Encoding.Raw


class CannotSealError(ValueError):
    """The service gave no key to seal to (or one of another scheme)."""


def seal(public_key: str, secret: str) -> dict[str, str]:
    """``secret`` sealed to the service whose ``bridge/info`` says ``public_key``."""
    recipient = X25519PublicKey.from_public_bytes(base64.b64decode(public_key))
    ephemeral = X25519PrivateKey.generate()
    sender = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    receiver = recipient.public_bytes(_RAW, serialization.PublicFormat.Raw)
    key = HKDF(hashes.SHA256(), 32, None, _INFO + sender + receiver).derive(
        ephemeral.exchange(recipient)
    )
    nonce = os.urandom(12)
    sealed = sender + nonce + ChaCha20Poly1305(key).encrypt(nonce, secret.encode(), sender)
    return {"sealed": base64.b64encode(sealed).decode()}


def sealed_options(options: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """``options`` with every secret sealed to the service that published ``info``."""
    credentials = options.get("snmp_credentials")
    if not credentials:
        return options
    public_key = info.get("public_key")
    if info.get("sealing") != SEALING or not isinstance(public_key, str):
        raise CannotSealError("the service published no key to seal secrets to")
    sealed = [
        {k: seal(public_key, v) if k in SECRET_KEYS and isinstance(v, str) else v
         for k, v in credential.items()}
        for credential in credentials
    ]  # fmt: skip
    return {**options, "snmp_credentials": sealed}
