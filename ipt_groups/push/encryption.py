"""Message encryption for Web Push (RFC 8291 with RFC 8188's ``aes128gcm``).

What pywebpush's ``WebPusher(subscription).encode(data, "aes128gcm")`` does,
byte for byte in format (same header, record size, padding and key schedule),
at about two thirds of its CPU: the dispatcher encrypts every message, and
pywebpush's per-message work around the cryptography (a deep copy of the
subscription, three ``HKDF`` objects, ``Cipher`` objects, ``default_backend()``
look-ups) cost about as much as the elliptic-curve arithmetic itself. What is
left is the part that cannot go: a fresh ECDH key pair and one key agreement
per message (RFC 8291 section 3.1; a reused key would let a push service link
messages), four HMAC-SHA-256 and one AES-128-GCM.

pywebpush stays the reference: ``tests/test_push_encryption.py`` decrypts this
module's output with ``http_ece`` (pywebpush's own library) and checks the
format against ``WebPusher.encode``; the fake push service decrypts every
message the tests and the benchmark send.
"""

from __future__ import annotations

import base64
import hmac
import os
import struct

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RECORD_SIZE = 4096  # http_ece's default, so pywebpush's too
_TAG = 16
_CHUNK = RECORD_SIZE - _TAG - 1  # plaintext per record: the tag and the delimiter byte
_CURVE = ec.SECP256R1()
_ECDH = ec.ECDH()
_X962 = serialization.Encoding.X962
_UNCOMPRESSED = serialization.PublicFormat.UncompressedPoint
_KEY_INFO = b"WebPush: info\x00"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"  # HKDF-Expand's info || 0x01 (one block)
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"


def _unb64(text: str) -> bytes:
    """Base64url with or without padding (what browsers hand out), as pywebpush reads it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hmac(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def encrypt(data: bytes, p256dh: str, auth: str) -> bytes:
    """The ``aes128gcm`` body for one subscription (``keys.p256dh``, ``keys.auth``).

    Raises ValueError when the subscription's keys are unusable (as pywebpush's
    ``WebPushException`` / ``ValueError`` did).
    """
    if not data:
        raise ValueError("no data to encrypt")
    ua_public = _unb64(p256dh)
    if len(ua_public) != 65:
        raise ValueError("Invalid p256dh key specified")
    auth_secret = _unb64(auth)
    peer = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, ua_public)
    ephemeral = ec.generate_private_key(_CURVE)
    as_public = ephemeral.public_key().public_bytes(_X962, _UNCOMPRESSED)
    shared = ephemeral.exchange(_ECDH, peer)
    # RFC 8291 section 3.3: the auth secret and both public keys go into the IKM...
    ikm = _hmac(_hmac(auth_secret, shared), _KEY_INFO + ua_public + as_public + b"\x01")
    # ...and RFC 8188 section 2.2 derives the content key and nonce with a fresh salt.
    salt = os.urandom(16)
    prk = _hmac(salt, ikm)
    cipher = AESGCM(_hmac(prk, _CEK_INFO)[:16])
    nonce = _hmac(prk, _NONCE_INFO)[:12]
    header = salt + struct.pack("!LB", RECORD_SIZE, len(as_public)) + as_public
    if len(data) <= _CHUNK:  # every push message (at most 4096 bytes in all)
        return header + cipher.encrypt(nonce, data + b"\x02", None)
    # Longer content, as http_ece splits it: delimiter 0x01 on each record but
    # the last (0x02), the record's sequence number XORed into the nonce.
    (mask,) = struct.unpack("!Q", nonce[4:])
    records = []
    for counter, start in enumerate(range(0, len(data), _CHUNK)):
        last = start + _CHUNK >= len(data)
        iv = nonce[:4] + struct.pack("!Q", counter ^ mask)
        chunk = data[start : start + _CHUNK] + (b"\x02" if last else b"\x01")
        records.append(cipher.encrypt(iv, chunk, None))
    return header + b"".join(records)
