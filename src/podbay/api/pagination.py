"""Continue tokens of paginated lists (``limit`` / ``continue``), pure.

A token names the resourceVersion of the first page, the snapshot it belongs to and where the next
page starts; it is opaque to clients (base64 of JSON, like kube-apiserver's). An unreadable token is
400 BadRequest; one whose snapshot is gone is 410 Expired (``EXPIRED_MSG``), and clients then list
again from the start.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from podbay.errors import BadRequest

EXPIRED_MSG = ("The provided continue parameter is too old to display a consistent list result. You can start a "
               "new list without the continue parameter.")


@dataclass(frozen=True)
class Token:
    rv: int
    snapshot: str
    offset: int


def encode(token: Token) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": token.rv, "id": token.snapshot, "start": token.offset},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(text: str) -> Token:
    try:
        padded = text + "=" * (-len(text) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        token = Token(int(data["rv"]), str(data["id"]), int(data["start"]))
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from None
    if token.offset < 0 or token.rv < 0:
        raise BadRequest("continue key is not valid: negative position")
    return token
