"""VAPID keys (RFC 8292): who we are to the push services.

One key pair per deployment. In production the keys come from the environment
(``VAPID_PRIVATE_KEY``, ``VAPID_PUBLIC_KEY``, ``VAPID_SUBJECT``); for local use a
pair is generated once into the instance folder, so every process on the
machine (web hands the public key to browsers, clock signs with the private
one) agrees. Keys are base64url without padding: the private key is the raw
32-byte scalar, the public key the 65-byte uncompressed point, the formats the
``web-push`` tools print.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid

# A signed header is valid for up to 24 hours; we sign for 12 and re-sign an
# hour before it runs out, so a push service never sees one about to expire.
TOKEN_SECONDS = 12 * 3600
RESIGN_BEFORE_SECONDS = 3600
LOCAL_SUBJECT = "mailto:admin@example.org"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_of(private_key: str) -> str:
    """The public key (uncompressed point) that belongs to a raw private key."""
    raw = _unb64(private_key.strip())
    if len(raw) != 32:
        raise ValueError("the private key must be 32 bytes, base64url encoded")
    key = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    return _b64(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def generate() -> tuple[str, str]:
    """A new (private, public) pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = _b64(key.private_numbers().private_value.to_bytes(32, "big"))
    return private, public_key_of(private)


def check_subject(subject: str) -> str:
    if not subject.startswith(("mailto:", "https://")):
        # Apple's push service refuses any other form.
        raise ValueError("VAPID_SUBJECT must start with mailto: or https://")
    return subject


@dataclass(frozen=True)
class VapidKeys:
    private_key: str
    public_key: str
    subject: str

    def __post_init__(self) -> None:
        try:
            derived = public_key_of(self.private_key)
        except ValueError as exc:
            raise ValueError(f"VAPID_PRIVATE_KEY is not usable: {exc}") from None
        if derived != self.public_key.strip().rstrip("="):
            raise ValueError("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
        check_subject(self.subject)


def local_keys(instance_path: Path, subject: str | None) -> VapidKeys:
    """The instance folder's key pair, made on first use (not for production)."""
    path = instance_path / "vapid.json"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        private, public = generate()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # web and clock started together: the other one wrote it
        else:
            with os.fdopen(fd, "w") as fh:
                json.dump({"private_key": private, "public_key": public}, fh)
    try:
        stored = json.loads(path.read_text())
        private, public = stored["private_key"], stored["public_key"]
    except (ValueError, KeyError):
        raise ValueError(f"{path} is unreadable; delete it to make a new key pair") from None
    return VapidKeys(private, public, subject or LOCAL_SUBJECT)


@dataclass
class HeaderCache:
    """Signed ``Authorization`` headers, one per push service origin.

    Signed as ``pywebpush.webpush`` signs them (py_vapid's ``Vapid.from_string``
    and ``sign``, claims ``aud``, ``exp`` 12 hours on, ``sub``), but not per
    message: the claims differ only by audience, so one header per origin
    serves every message until it nears expiry. Uses the real wall clock on
    purpose (not ``ipt_groups.timesource``): the push service checks ``exp``
    against its own clock.
    """

    keys: VapidKeys
    _signer: Vapid = field(init=False)
    _cache: dict[str, tuple[str, float]] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self._signer = Vapid.from_string(self.keys.private_key)

    def header(self, origin: str) -> str:
        now = time.time()
        with self._lock:
            cached = self._cache.get(origin)
            if cached and cached[1] - RESIGN_BEFORE_SECONDS > now:
                return cached[0]
            expires = int(now) + TOKEN_SECONDS
            # A fresh claims dict per signature: py_vapid writes into the one it gets.
            claims = {"aud": origin, "exp": expires, "sub": self.keys.subject}
            value = self._signer.sign(claims)["Authorization"]
            self._cache[origin] = (value, expires)
            return value
