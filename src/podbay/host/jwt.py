"""Compact JWS (RS256) signing and verification for ServiceAccount tokens, on ``cryptography``.

Mirrors what kube-apiserver's token generator emits (pkg/serviceaccount/jwt.go): header
``{"alg":"RS256","kid":<key id>}``, base64url without padding, the key id being the unpadded base64url
SHA-256 of the public key's PKIX DER (keyIDFromPublicKey). Only the signature is checked here; the
claims (expiry, audience, bound objects) are judged by podbay.core.satoken.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

ALG = "RS256"


class InvalidToken(Exception):
    """Not a JWT this key signed (malformed, other algorithm, other key, bad signature)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed base64") from exc


def key_id(public_key: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return b64url(hashlib.sha256(der).digest())


def sign(claims: dict[str, Any], private_key: Any) -> str:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    header = {"alg": ALG, "kid": key_id(private_key.public_key())}
    signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    sig = private_key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts whose header names an algorithm (the jwt authenticator's pre-check)."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (InvalidToken, ValueError):
        return False
    return isinstance(header, dict) and "alg" in header


def verify(token: str, public_key: Any) -> dict[str, Any]:
    """The claims of a token signed by public_key's private half; InvalidToken otherwise."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise InvalidToken("malformed JSON") from exc
    if not isinstance(header, dict) or header.get("alg") != ALG or not isinstance(claims, dict):
        raise InvalidToken("unexpected algorithm")
    kid = header.get("kid")
    if kid is not None and kid != key_id(public_key):
        raise InvalidToken("signed by another key")
    try:
        public_key.verify(b64url_decode(parts[2]), (parts[0] + "." + parts[1]).encode(), padding.PKCS1v15(),
                          hashes.SHA256())
    except InvalidSignature as exc:
        raise InvalidToken("invalid signature") from exc
    return claims
