"""Accounts, roles and server-side login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ipt_groups.extensions import db
from ipt_groups.models.types import UTCDateTime
from ipt_groups.timesource import utcnow


class Role(enum.StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    FACILITATOR = "facilitator"
    PARTICIPANT = "participant"


STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.FACILITATOR})


class User(UserMixin, db.Model):
    """Anyone who logs in.

    Staff log in with an email address. Participants need no email: they get a
    username (and, from the enrolment issue on, a PIN or passphrase chosen when
    they redeem an invite), so ``email`` is optional and one of the two is required.
    """

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email IS NOT NULL OR username IS NOT NULL", name="login_name"),
        CheckConstraint(
            "role IN ('admin', 'supervisor', 'facilitator', 'participant')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20), index=True)
    # None until a password (or a participant's PIN) has been set: no login then.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Staff's own number for SMS (E.164). A member's number lives on their
    # enrolment (contact_phone), where staff record it.
    phone: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set when a member's personal data was erased (services/privacy.py): the row
    # stays as a nameless tombstone so the erasure and the audit trail can point at it.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    sessions: Mapped[list[AuthSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @validates("email", "username")
    def _normalise_login_name(self, _key: str, value: str | None) -> str | None:
        # Logins are matched case-insensitively; store them the way they are looked up.
        return value.strip().lower() if value is not None else None

    @property
    def is_active(self) -> bool:  # Flask-Login: a disabled or erased account cannot log in
        return self.disabled_at is None and self.erased_at is None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class AuthSession(db.Model):
    """One logged-in browser or device.

    The cookie carries a random token; only its SHA-256 is stored, so a leaked
    database does not hand out live sessions. Logging out revokes the row, and
    disabling a user revokes all of theirs, so a copied cookie stops working at
    once. Idle and absolute timeouts are enforced here, not by the browser.
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship(back_populates="sessions")
