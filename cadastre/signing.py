"""Signed verification tokens of cadastral plans: an Ed25519 signature over the plan's facts.

A token is `<facts>.<signature>`, both base64url without padding: the facts are compact JSON
(sorted keys), the signature Ed25519 over exactly those bytes. Anyone holding the public key
can check a token offline; the verification route also says whether the facts are current.
The private key is a PEM file (a setting), generated on first use, never committed.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cadastre.errors import InvalidPlanTokenError

MAX_TOKEN_CHARS = 2000


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The signing key in `path` (PEM, PKCS#8); a new one is written (mode 0600) if absent."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds no Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    tmp.replace(path)
    return key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_facts(key: Ed25519PrivateKey, facts: dict[str, Any]) -> str:
    """The token of these facts (JSON values only).

    >>> key = Ed25519PrivateKey.generate()
    >>> verify_token(key, sign_facts(key, {"c": "1-02-08-0015-0098"}))
    {'c': '1-02-08-0015-0098'}
    """
    body = json.dumps(facts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    data = body.encode("utf-8")
    return f"{_b64(data)}.{_b64(key.sign(data))}"


def verify_token(key: Ed25519PrivateKey, token: str) -> dict[str, Any]:
    """The facts of a token signed by `key`.

    Raises:
        InvalidPlanTokenError: malformed, or the signature does not match the facts (a
            tampered or forged token).
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise InvalidPlanTokenError("not a plan verification token")
    body, signature = token.split(".")
    try:
        data, sig = _unb64(body), _unb64(signature)
    except ValueError as exc:
        raise InvalidPlanTokenError("not a plan verification token (bad encoding)") from exc
    try:
        key.public_key().verify(sig, data)
    except InvalidSignature as exc:
        raise InvalidPlanTokenError(
            "the signature does not match: the plan was altered or not issued by this register"
        ) from exc
    facts = json.loads(data)
    if not isinstance(facts, dict):
        raise InvalidPlanTokenError("not a plan verification token")
    return facts
