"""The transport's aes128gcm encryption (``transport.encrypt``: pywebpush's
``WebPusher.encode``) as a browser reads it.

``http_ece`` (the library pywebpush encrypts with, and the one the fake push
service decrypts with) reads it back with the browser's private key, the RFC
8188 header has the expected layout, every message has its own salt and key,
and malformed subscription keys come back as ValueError (one rejected message)
wherever pywebpush refused them, whatever it raised.
"""

from __future__ import annotations

import base64
import os
import struct

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pywebpush import WebPusher, WebPushException

from ipt_groups.messaging.messages import MAX_PAYLOAD_BYTES
from ipt_groups.push.transport import encrypt


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """A subscription's private side, as a browser keeps it."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.p256dh = _b64(self.public)
        self.auth_b64 = _b64(self.auth)

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )

    def pywebpush(self, data: bytes) -> bytes:
        keys = {"p256dh": self.p256dh, "auth": self.auth_b64}
        return WebPusher({"endpoint": "https://x", "keys": keys}).encode(data, "aes128gcm")["body"]


@pytest.fixture(scope="module")
def browser() -> Browser:
    return Browser()


@pytest.mark.parametrize(
    "size",
    [1, 120, MAX_PAYLOAD_BYTES, 4078, 4079, 4080, 3 * 4079, 3 * 4079 + 1, 10_000],
)
def test_http_ece_decrypts_what_we_encrypt(browser: Browser, size: int) -> None:
    data = os.urandom(size)
    body = encrypt(data, browser.p256dh, browser.auth_b64)
    assert browser.decrypt(body) == data


@pytest.mark.parametrize("size", [1, 200, MAX_PAYLOAD_BYTES, 4079, 4080, 10_000])
def test_same_layout_and_length_as_pywebpush(browser: Browser, size: int) -> None:
    data = os.urandom(size)
    ours = encrypt(data, browser.p256dh, browser.auth_b64)
    theirs = browser.pywebpush(data)
    assert len(ours) == len(theirs)
    # RFC 8188 header: salt (16) | record size (4) | key id length (1) | key id.
    assert ours[16:21] == theirs[16:21] == struct.pack("!LB", 4096, 65)
    key_id = ours[21:86]
    assert key_id[0] == 4  # an uncompressed P-256 point: our ephemeral public key
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_id)
    assert browser.decrypt(theirs) == data  # the reference reads back too


def test_a_push_message_fits_in_4096_bytes(browser: Browser) -> None:
    body = encrypt(b"x" * MAX_PAYLOAD_BYTES, browser.p256dh, browser.auth_b64)
    assert len(body) == 4096  # 86 header + 3993 + 1 delimiter + 16 tag


def test_every_message_has_its_own_salt_and_key(browser: Browser) -> None:
    bodies = [encrypt(b"same words", browser.p256dh, browser.auth_b64) for _ in range(5)]
    assert len({b[:16] for b in bodies}) == 5  # salt
    assert len({b[21:86] for b in bodies}) == 5  # ephemeral ECDH public key
    assert {browser.decrypt(b) for b in bodies} == {b"same words"}


def test_padded_keys_are_read_like_unpadded_ones(browser: Browser) -> None:
    padded = base64.urlsafe_b64encode(browser.public).decode()
    auth = base64.urlsafe_b64encode(browser.auth).decode()
    assert "=" in padded + auth
    assert browser.decrypt(encrypt(b"hello", padded, auth)) == b"hello"


def _refused_by_pywebpush(p256dh: str, auth: str) -> bool:
    subscription = {"endpoint": "https://x", "keys": {"p256dh": p256dh, "auth": auth}}
    try:
        WebPusher(subscription).encode(b"hello", "aes128gcm")
    except (WebPushException, ValueError):
        return True
    return False


def test_malformed_keys_are_refused_where_pywebpush_refused_them(browser: Browser) -> None:
    off_curve = _b64(b"\x04" + b"\x01" * 64)
    compressed = _b64(
        browser.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
        )
    )
    cases = [
        ("A" * 87, browser.auth_b64),  # 65 bytes, but no point
        (off_curve, browser.auth_b64),
        (compressed, browser.auth_b64),  # 33 bytes
        (browser.p256dh[:-4], browser.auth_b64),  # truncated
        (browser.p256dh + "A", browser.auth_b64),  # not base64 (length 4n+1)
        (browser.p256dh, "A"),  # auth not base64
    ]
    for p256dh, auth in cases:
        assert _refused_by_pywebpush(p256dh, auth), (p256dh, auth)
        with pytest.raises(ValueError):
            encrypt(b"hello", p256dh, auth)


def test_nothing_to_encrypt_or_an_empty_key_is_refused(browser: Browser) -> None:
    with pytest.raises(ValueError):
        encrypt(b"", browser.p256dh, browser.auth_b64)
    # pywebpush raised IndexError here (a crash of the whole batch, not a
    # rejected message); the subscription API never stores an empty key.
    with pytest.raises(ValueError):
        encrypt(b"hello", "", browser.auth_b64)
