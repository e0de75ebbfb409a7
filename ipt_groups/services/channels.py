"""How each person can be reached: their channel order, numbers, addresses and consent.

A message goes over the first channel that works for its person, in the order
they (or staff for them) chose. Members default to push then SMS: many have
basic or shared phones, or an iPhone without the app on the home screen. Staff
default to push then email. SMS and email go only to people whose consent for
that channel is recorded; a member's number and address are the ones staff
recorded on their enrolment, so a member and their facilitator change the same
record.

Numbers are stored in E.164, parsed with libphonenumber against the country of
the cohort's time zone (``zone.tab``), so a facilitator in Kampala can type
``0772 123456``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources
from typing import Any

import phonenumbers
from sqlalchemy import func, select

from ipt_groups.channels_config import ChannelSettings
from ipt_groups.domain import Conflict, Invalid
from ipt_groups.extensions import db
from ipt_groups.models import (
    CURRENT_STATUSES,
    STAFF_ROLES,
    Channel,
    ClinicSetting,
    Enrolment,
    Leg,
    Notification,
    NotificationKind,
    NotificationPreference,
    SmsOptOut,
    User,
)
from ipt_groups.services import audit, membership, outbox
from ipt_groups.timesource import utcnow

CHANNELS = (Channel.PUSH, Channel.SMS, Channel.EMAIL)
MEMBER_ORDER = (Channel.PUSH, Channel.SMS)
STAFF_ORDER = (Channel.PUSH, Channel.EMAIL)
# Outside the app, for the second leg of a risk alert: whatever the person's
# order leaves out is tried after it, so an alert always has somewhere to go.
OUTSIDE_ORDER = (Channel.EMAIL, Channel.SMS)
# "Send a test" checks this device's notifications: push only.
PUSH_ONLY = frozenset({NotificationKind.TEST})
SMS_CAP_KEY = "sms_monthly_cap"


# -- numbers -----------------------------------------------------------------


@functools.cache
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO 3166 country, from the tz database's own zone.tab."""
    try:
        text = resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover (tzdata is pinned)
        return {}
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            parts = line.split("\t")
            if len(parts) >= 3:
                found[parts[2]] = parts[0]
    return found


def country_for_zone(zone: str) -> str | None:
    return _zone_countries().get(zone)


def normalise_phone(raw: str | None, zone: str, field: str = "contact_phone") -> str | None:
    """E.164 for a number typed in the cohort's country (or in + form anywhere),
    or a 422 naming ``field``."""
    if raw is None or not raw.strip():
        return None
    region = country_for_zone(zone)
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        where = f" for {region}" if region else " (use the +country form)"
        raise Invalid(fields={field: [f"Not a valid phone number{where}."]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def number_hash(number: str, secret: bytes) -> str:
    """A keyed hash, for audit lines about numbers we must not store."""
    return hashlib.blake2b(number.encode(), key=secret[:64], digest_size=16).hexdigest()


# -- who can be reached how ----------------------------------------------------


@dataclass(frozen=True)
class Reach:
    user_id: int
    is_staff: bool
    order: tuple[str, ...]
    phone: str | None
    email: str | None
    sms_consent: bool
    email_consent: bool
    sms_opted_out: bool

    def candidates(self, leg: str) -> tuple[str, ...]:
        """The channels a row of this leg may use, in order."""
        if leg == Leg.PUSH:
            return (Channel.PUSH,)
        if leg == Leg.OUTSIDE:
            mine = tuple(c for c in self.order if c != Channel.PUSH)
            return mine + tuple(c for c in OUTSIDE_ORDER if c not in mine)
        return self.order

    def absent(self, channel: str, settings: ChannelSettings) -> str | None:
        """Why ``channel`` cannot carry a message to this person now, or None."""
        if channel == Channel.SMS:
            if not settings.sms:
                return "off"
            if not self.phone:
                return "no_number"
            if not self.sms_consent:
                return "no_consent"
            if self.sms_opted_out:
                return "opted_out"
        elif channel == Channel.EMAIL:
            if not settings.email:
                return "off"
            if not self.email:
                return "no_address"
            if not self.email_consent:
                return "no_consent"
        return None


def plan(
    note: Any, reach: Reach, devices: int, settings: ChannelSettings
) -> tuple[list[str], list[str]]:
    """The channels that can carry ``note``, in order, and notes on the others."""
    candidates = (Channel.PUSH,) if note.kind in PUSH_ONLY else reach.candidates(note.leg)
    usable: list[str] = []
    skipped: list[str] = []
    for channel in candidates:
        why = ("none" if not devices else None) if channel == Channel.PUSH else None
        why = why or reach.absent(channel, settings)
        if why:
            skipped.append(f"{channel}:{why}")
        else:
            usable.append(channel)
    return usable, skipped


def default_order(role: str) -> tuple[str, ...]:
    return STAFF_ORDER if role in STAFF_ROLES else MEMBER_ORDER


def member_contacts(user_ids: Iterable[int]) -> dict[int, tuple[str | None, str | None]]:
    """Each member's (phone, email) from their live enrolment (the latest)."""
    rows = db.session.execute(
        select(Enrolment.user_id, Enrolment.contact_phone, Enrolment.contact_email)
        .where(Enrolment.user_id.in_(list(user_ids)), Enrolment.status.in_(CURRENT_STATUSES))
        .order_by(Enrolment.id)
    ).all()
    return {r.user_id: (r.contact_phone, r.contact_email) for r in rows}  # the last wins


def reach_for(user_ids: Iterable[int]) -> dict[int, Reach]:
    """How each of these people can be reached, in four statements for any number."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    users = db.session.execute(
        select(User.id, User.role, User.email, User.phone).where(User.id.in_(ids))
    ).all()
    prefs = {
        p.user_id: p
        for p in db.session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.channels,
                NotificationPreference.sms_consent_at,
                NotificationPreference.email_consent_at,
            ).where(NotificationPreference.user_id.in_(ids))
        )
    }
    members = member_contacts(u.id for u in users if u.role not in STAFF_ROLES)
    found: dict[int, Reach] = {}
    phones: dict[int, str | None] = {}
    for user in users:
        staff = user.role in STAFF_ROLES
        pref = prefs.get(user.id)
        if staff:
            # Staff are reached at their work address and on a number they gave
            # themselves: entering it is their consent.
            phone, email = user.phone, user.email
            sms_ok, email_ok = bool(phone), bool(email)
        else:
            phone, email = members.get(user.id, (None, None))
            sms_ok = pref is not None and pref.sms_consent_at is not None
            email_ok = pref is not None and pref.email_consent_at is not None
        order = (
            tuple(pref.channels) if pref is not None and pref.channels else default_order(user.role)
        )
        phones[user.id] = phone
        found[user.id] = Reach(user.id, staff, order, phone, email, sms_ok, email_ok, False)
    numbers = {p for p in phones.values() if p}
    if numbers:
        stopped = set(
            db.session.scalars(select(SmsOptOut.number).where(SmsOptOut.number.in_(numbers)))
        )
        for uid, phone in phones.items():
            if phone in stopped:
                found[uid] = replace(found[uid], sms_opted_out=True)
    return found


def validate_order(order: Sequence[str]) -> tuple[str, ...]:
    if not order or len(set(order)) != len(order) or any(c not in CHANNELS for c in order):
        raise Invalid(fields={"channels": ["Give one or more of push, sms, email, each once."]})
    return tuple(order)


# -- consent -----------------------------------------------------------------


def _preference_row(user_id: int) -> NotificationPreference:
    row = db.session.get(NotificationPreference, user_id)
    if row is None:
        row = outbox.new_preference_row(user_id)
        db.session.add(row)
    return row


def set_consent(
    user_id: int, *, sms: bool | None = None, email: bool | None = None, now: datetime | None = None
) -> NotificationPreference:
    """Record (True) or withdraw (False) consent to SMS / email; None leaves it."""
    row = _preference_row(user_id)
    at = now or utcnow()
    if sms is not None and sms != (row.sms_consent_at is not None):
        row.sms_consent_at = at if sms else None
    if email is not None and email != (row.email_consent_at is not None):
        row.email_consent_at = at if email else None
    return row


def set_order(user_id: int, order: Sequence[str] | None) -> None:
    _preference_row(user_id).channels = list(validate_order(order)) if order else None


# -- SMS cost ------------------------------------------------------------------


def month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def sms_segments_this_month(now: datetime | None = None) -> int:
    """SMS parts sent since the first of this month (UTC), every kind."""
    since = month_start(now or utcnow())
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Notification.segments), 0)).where(
                Notification.channel == Channel.SMS, Notification.sent_at >= since
            )
        )
        or 0
    )


def sms_cap() -> int | None:
    """The clinic's monthly cap on SMS parts for reminders (None: no cap)."""
    row = db.session.get(ClinicSetting, SMS_CAP_KEY)
    return int(row.value) if row is not None and row.value is not None else None


def usage(now: datetime | None = None) -> Mapping[str, Any]:
    now = now or utcnow()
    used, cap = sms_segments_this_month(now), sms_cap()
    return {
        "month": month_start(now).strftime("%Y-%m"),
        "sms_segments": used,
        "sms_cap": cap,
        "reminders_stopped": cap is not None and used >= cap,
    }


# -- my channels (settings) ------------------------------------------------------


def my_channels(user: User, settings: ChannelSettings) -> dict[str, Any]:
    """What the settings page shows: the order, where SMS and email go, consent,
    and which channels this clinic has switched on."""
    reach = reach_for([user.id])[user.id]
    return {
        "channels": list(reach.order),
        "phone": reach.phone,
        "email": reach.email,
        "sms_consent": reach.sms_consent,
        "email_consent": reach.email_consent,
        "sms_opted_out": reach.sms_opted_out,
        "available": {"push": True, "sms": settings.sms, "email": settings.email},
    }


def save_my_channels(actor: Any, user: User, data: Mapping[str, Any]) -> None:
    """Change my order, number, address or consent. A member's number and
    address are their enrolment's (the ones staff see); staff change only their
    own number here (their email is their login)."""
    if "channels" in data:
        set_order(user.id, data["channels"])
    if user.role in STAFF_ROLES:
        if "email" in data and data["email"] != user.email:
            raise Invalid(fields={"email": ["Staff email is the login: ask an admin."]})
        if "phone" in data:
            user.phone = normalise_phone(data["phone"], user.time_zone, "phone")
    else:
        member = membership.current_enrolment(user)
        if member is None and ("phone" in data or "email" in data):
            raise Conflict("You are not in a group now.", code="not_enrolled")
        if member is not None:
            if "phone" in data:
                member.contact_phone = normalise_phone(
                    data["phone"], member.cohort.time_zone, "phone"
                )
            if "email" in data:
                member.contact_email = data["email"]
            audit.record(actor, "enrolment.contact", "enrolment", member.id, subject_id=member.id)
        phone = member.contact_phone if member is not None else None
        email = member.contact_email if member is not None else None
        if data.get("sms_consent") and not phone:
            raise Invalid(fields={"sms_consent": ["Give a phone number first."]})
        if data.get("email_consent") and not email:
            raise Invalid(fields={"email_consent": ["Give an email address first."]})
        set_consent(user.id, sms=data.get("sms_consent"), email=data.get("email_consent"))
    db.session.flush()
