"""Single-use invite codes: how a member gets from a piece of paper to a login.

A code is 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L, U),
shown as ``ABCD-EFGH``: 30^8 (about 6.6e11) codes, so with 50 wrong codes per
address per 15 minutes a guess practically never lands (SECURITY.md). Only its
SHA-256 is stored; the code, its URL and QR code are shown once, when issued.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from dataclasses import dataclass
from datetime import timedelta

import segno
from sqlalchemy import select, update

from ipt_groups.domain import Conflict, Gone, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import CURRENT_STATUSES, Enrolment, Invite, User
from ipt_groups.services import audit, throttle
from ipt_groups.services.audit import Actor
from ipt_groups.services.auth import reset_login_limits, revoke_all_sessions
from ipt_groups.services.passwords import hash_password
from ipt_groups.services.users import check_participant_secret
from ipt_groups.timesource import utcnow

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8

# Guessing is slowed per client address and per code. Only wrong codes (no
# invite has them) count against an address: a clinic room behind one NAT
# address enrolling a whole group, with typos, must get through, and a right
# code costs the address nothing. 50 misses per 15 minutes is a room of 14 each
# mistyping three times with room to spare, and keeps guessing hopeless: 30^8
# codes / 50 per window is ~1.3e10 windows (~374,000 years) for the whole space
# from one address (SECURITY.md has the figures).
#
# Per code, every attempt counts (20 per 15 minutes): codes are random in every
# character, so there is no part of one to guess and lock; this only stops one
# code string being hammered from many addresses.
#
# A clinic-wide limit on all attempts would let one attacker spend it and lock
# every real member out, so instead: when guesses that miss pile up across the
# clinic (a spread-out attack), an address that has already missed in its
# current window is refused until that window ends, while an address with no
# miss (a member typing the code on paper) is still served. A botnet then gets
# one guess per address per window instead of fifty; nobody is locked out by
# someone else's guesses (beyond sharing their address).
MISSES_PER_ADDRESS = throttle.Limit("invite:miss:addr", hits=50, window=timedelta(minutes=15))
# Under the clinic-wide alarm, misses an address may have had in its window.
MISSES_UNDER_ALARM = 1
REDEEM_PER_CODE = throttle.Limit("invite:code", hits=20, window=timedelta(minutes=15))
MISSES_CLINIC_WIDE = throttle.Limit("invite:miss:all", hits=200, window=timedelta(minutes=15))


@dataclass(frozen=True)
class IssuedInvite:
    invite: Invite
    code: str  # formatted for people: ABCD-EFGH
    url: str
    qr_svg: str


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What a person typed, as stored: upper case, without spaces or dashes."""
    return "".join(ch for ch in raw.upper() if ch not in " -\t")


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def _hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def qr_svg(url: str) -> str:
    """The URL as an SVG QR code, drawn here: no network, no JavaScript library."""
    out = io.BytesIO()
    segno.make(url, error="m").save(
        out, kind="svg", scale=4, border=2, xmldecl=False, svgclass="invite-qr", title="Invite"
    )
    return out.getvalue().decode()


def invite_url(base_url: str, code: str) -> str:
    # The code travels in the fragment, which browsers never send to a server:
    # it stays out of access logs and Referer headers.
    return f"{base_url.rstrip('/')}/#/join/{format_code(code)}"


def revoke_pending(enrolment: Enrolment) -> int:
    now = utcnow()
    count = 0
    for invite in db.session.scalars(
        select(Invite).where(
            Invite.enrolment_id == enrolment.id,
            Invite.used_at.is_(None),
            Invite.revoked_at.is_(None),
        )
    ):
        invite.revoked_at = now
        count += 1
    return count


def issue(actor: Actor, enrolment: Enrolment, *, ttl: timedelta, base_url: str) -> IssuedInvite:
    """A fresh invite for a member; any earlier unused one stops working."""
    if enrolment.status not in CURRENT_STATUSES or enrolment.user is None:
        raise Conflict(f"This member is {enrolment.status}; no invite.", code="not_current")
    revoke_pending(enrolment)
    code = new_code()
    now = utcnow()
    invite = Invite(
        enrolment=enrolment,
        code_hash=_hash(code),
        expires_at=now + ttl,
        created_by_id=actor.user_id,
        created_at=now,
    )
    db.session.add(invite)
    db.session.flush()
    audit.record(actor, "invite.issue", "invite", invite.id)
    url = invite_url(base_url, code)
    return IssuedInvite(invite, format_code(code), url, qr_svg(url))


def revoke(actor: Actor, invite: Invite) -> Invite:
    if invite.used_at is not None:
        raise Conflict("This invite has been used already.", code="invite_used")
    if invite.revoked_at is None:
        invite.revoked_at = utcnow()
        audit.record(actor, "invite.revoke", "invite", invite.id)
    return invite


_GONE = {
    "used": "This invite has been used already. Log in with your username and PIN.",
    "revoked": "This invite was withdrawn. Ask your facilitator for a new one.",
    "expired": "This invite has expired. Ask your facilitator for a new one.",
}


def find_usable(raw_code: str, *, address: str | None) -> Invite:
    """The pending invite with this code, counted against the rate limits."""
    address = address or "unknown"
    code = normalise_code(raw_code)
    # Refused before the code is looked at: answering a right code from an
    # address over its limit would tell a guesser which guess was right.
    missed = throttle.counted(MISSES_PER_ADDRESS, address)
    if missed.hits >= MISSES_PER_ADDRESS.hits:
        raise throttle.too_many(missed.since + MISSES_PER_ADDRESS.window)
    throttle.hit(REDEEM_PER_CODE, code)
    if throttle.over(MISSES_CLINIC_WIDE, "all") and missed.hits >= MISSES_UNDER_ALARM:
        # Under a spread-out attack: refuse addresses that have missed already.
        raise throttle.too_many(missed.since + MISSES_PER_ADDRESS.window)
    invite = None
    if len(code) == CODE_LENGTH and set(code) <= set(ALPHABET):
        invite = db.session.scalar(select(Invite).where(Invite.code_hash == _hash(code)))
    if invite is None:
        throttle.count(MISSES_PER_ADDRESS, address)
        throttle.count(MISSES_CLINIC_WIDE, "all")
        raise NotFound("No invite has this code. Check it and try again.", code="invite_not_found")
    state = invite.state(utcnow())
    if state == "pending" and invite.enrolment.status not in CURRENT_STATUSES:
        state = "revoked"
    if state != "pending":
        raise Gone(_GONE[state], code=f"invite_{state}")
    return invite


def redeem(raw_code: str, secret: str, *, address: str | None) -> User:
    """Use an invite: the member's PIN or passphrase is set and the invite is spent."""
    invite = find_usable(raw_code, address=address)
    check_participant_secret(secret)
    user = invite.enrolment.user
    if user is None or not user.is_active:
        raise Gone(_GONE["revoked"], code="invite_revoked")
    # A re-issued invite is how a member who forgot their PIN gets back in, so it
    # lifts the lockout and the per-name limit too (before anything is written:
    # the store may commit).
    reset_login_limits(user)
    # A conditional UPDATE: of two redemptions racing, exactly one spends the invite.
    spent = db.session.execute(
        update(Invite)
        .where(Invite.id == invite.id, Invite.used_at.is_(None), Invite.revoked_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if spent != 1:
        raise Gone(_GONE["used"], code="invite_used")
    user.password_hash = hash_password(secret)
    # A re-issued invite is how a forgotten PIN is reset: sessions opened with the
    # old PIN (perhaps on a lost phone) end now.
    revoke_all_sessions(user.id)
    audit.record(Actor(user.id, address), "invite.redeem", "invite", invite.id)
    return user


def list_for(enrolment: Enrolment) -> list[Invite]:
    stmt = select(Invite).where(Invite.enrolment_id == enrolment.id).order_by(Invite.id.desc())
    return list(db.session.scalars(stmt))
