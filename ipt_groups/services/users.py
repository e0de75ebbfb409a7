"""Staff accounts: create, update, disable, enable, change password."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marshmallow import ValidationError, validate
from sqlalchemy import func, select

from ipt_groups.domain import Conflict, Invalid, NotFound
from ipt_groups.extensions import db
from ipt_groups.models import STAFF_ROLES, Role, User
from ipt_groups.services import audit, reminders
from ipt_groups.services.audit import Actor
from ipt_groups.services.auth import revoke_all_sessions, verify_own_secret
from ipt_groups.services.passwords import hash_password
from ipt_groups.timesource import utcnow

MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class UserPage:
    items: Sequence[User]
    total: int
    page: int
    per_page: int


_email_validator = validate.Email(error="Not a valid email address.")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    try:
        _email_validator(email)
    except ValidationError as exc:
        raise Invalid(fields={"email": exc.messages}) from None
    return email


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Invalid(fields={"display_name": ["Enter a name."]})
    return name


def _check_email_free(email: str, *, exclude_id: int | None = None) -> None:
    stmt = select(User.id).where(User.email == email)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict("Another account already uses this email address.", code="email_taken")


def _check_password(password: str, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            fields={field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]},
        )


MIN_PIN_DIGITS = 6
_RUNS = "01234567890123456789"


def check_participant_secret(secret: str, field: str = "pin") -> None:
    """Participants choose a PIN (6+ digits, not 111111 or 123456) or a passphrase
    (12+ characters). Guessing is slowed by the login rate limits."""
    if secret.isascii() and secret.isdigit():
        if len(secret) < MIN_PIN_DIGITS:
            problem = f"A PIN needs at least {MIN_PIN_DIGITS} digits."
        elif len(set(secret)) == 1 or secret in _RUNS or secret in _RUNS[::-1]:
            problem = "This PIN is too easy to guess. Choose another."
        else:
            return
    elif len(secret) < MIN_PASSWORD_LENGTH:
        problem = (
            f"Use a PIN of at least {MIN_PIN_DIGITS} digits "
            f"or a passphrase of at least {MIN_PASSWORD_LENGTH} characters."
        )
    else:
        return
    raise Invalid(fields={field: [problem]})


def _active_admin_count() -> int:
    return (
        db.session.scalar(
            select(func.count(User.id)).where(User.role == Role.ADMIN, User.disabled_at.is_(None))
        )
        or 0
    )


def _guard_last_admin(user: User) -> None:
    """Refuse to leave the clinic with no active admin (nobody could fix it)."""
    if user.role == Role.ADMIN and user.is_active and _active_admin_count() <= 1:
        raise Conflict("This is the last active admin account.", code="last_admin")


def list_users(*, role: str | None, include_disabled: bool, page: int, per_page: int) -> UserPage:
    stmt = select(User)
    if role:
        stmt = stmt.where(User.role == role)
    else:
        stmt = stmt.where(User.role.in_([r.value for r in STAFF_ROLES]))
    if not include_disabled:
        stmt = stmt.where(User.disabled_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = db.session.scalars(
        stmt.order_by(User.display_name, User.id).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return UserPage(items=items, total=total, page=page, per_page=per_page)


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user


def create_staff_user(
    actor: Actor,
    *,
    email: str,
    display_name: str,
    role: str,
    password: str,
    language: str = "en",
    time_zone: str = "UTC",
) -> User:
    if role not in STAFF_ROLES:
        raise Invalid(fields={"role": ["Staff accounts are admin, supervisor or facilitator."]})
    email = normalise_email(email)
    _check_email_free(email)
    _check_password(password)
    user = User(
        email=email,
        display_name=_clean_name(display_name),
        role=role,
        password_hash=hash_password(password),
        language=language,
        time_zone=time_zone,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "user.create", "user", user.id)
    return user


def update_user(actor: Actor, user: User, changes: dict[str, object]) -> User:
    """Apply an admin's changes; a password reset or role change ends the user's sessions."""
    end_sessions = False
    if "email" in changes:
        email = normalise_email(str(changes["email"]))
        _check_email_free(email, exclude_id=user.id)
        user.email = email
    if "role" in changes and changes["role"] != user.role:
        if user.role == Role.PARTICIPANT:
            raise Conflict(
                "A participant's account cannot become a staff account.",
                code="participant_role",
            )
        if changes["role"] not in STAFF_ROLES:
            raise Invalid(fields={"role": ["Staff accounts are admin, supervisor or facilitator."]})
        if user.role == Role.ADMIN:
            _guard_last_admin(user)
        user.role = str(changes["role"])
        end_sessions = True
    if "display_name" in changes:
        user.display_name = _clean_name(str(changes["display_name"]))
    for name in ("language", "time_zone"):
        if name in changes:
            setattr(user, name, changes[name])
    if "password" in changes:
        _check_password(str(changes["password"]))
        user.password_hash = hash_password(str(changes["password"]))
        end_sessions = True
    if end_sessions:
        revoke_all_sessions(user.id)
    audit.record(actor, "user.update", "user", user.id)
    return user


def disable_user(actor: Actor, user: User) -> User:
    if user.id == actor.user_id:
        raise Conflict("You cannot disable your own account.", code="self_disable")
    if user.is_active:
        _guard_last_admin(user)
        user.disabled_at = utcnow()
        revoke_all_sessions(user.id)
        reminders.cancel_for_user(user.id, "disabled")
        audit.record(actor, "user.disable", "user", user.id)
    return user


def enable_user(actor: Actor, user: User) -> User:
    if user.erased_at is not None:
        # Nothing personal is left to log in with; a new account is the way back.
        raise Conflict("This account was erased and cannot be enabled.", code="erased")
    if not user.is_active:
        user.disabled_at = None
        audit.record(actor, "user.enable", "user", user.id)
    return user


def change_own_password(
    actor: Actor, user: User, current: str, new: str, *, keep_token: str | None
) -> None:
    """Change one's own password; every other session of the user ends."""
    if not verify_own_secret(user, current):  # shares the login lockout (429)
        raise Invalid(fields={"current_password": ["This is not your current password."]})
    if user.role == Role.PARTICIPANT:
        check_participant_secret(new, "new_password")
    else:
        _check_password(new, "new_password")
    user.password_hash = hash_password(new)
    revoke_all_sessions(user.id, except_token=keep_token)
    audit.record(actor, "user.password_change", "user", user.id)
