"""Flask commands: create-admin, demo, content import/export, vapid generate, clock."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from ipt_groups.domain import DomainError
from ipt_groups.extensions import db
from ipt_groups.push import vapid
from ipt_groups.services import content, demo, users
from ipt_groups.services.audit import SYSTEM


def register(app: Flask) -> None:
    @app.cli.command("create-admin")
    @click.option("--email", prompt=True, help="The admin's email address (their login).")
    @click.option("--name", "display_name", prompt="Display name", help="Shown in the app.")
    @click.password_option(
        "--password",
        envvar="ADMIN_PASSWORD",
        help="At least 12 characters; prompted if not given (or set ADMIN_PASSWORD).",
    )
    def create_admin(email: str, display_name: str, password: str) -> None:
        """Create an admin account (first set-up, or a locked-out clinic)."""
        try:
            user = users.create_staff_user(
                SYSTEM, email=email, display_name=display_name, role="admin", password=password
            )
        except DomainError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (exc.fields or {}).items())
            raise click.ClickException(detail or exc.message) from None
        db.session.commit()
        click.echo(f"Created admin {user.email} (id {user.id}).")

    @app.cli.command("demo")
    @click.option("--if-empty", is_flag=True, help="Only seed when the database has no users.")
    def demo_command(if_empty: bool) -> None:
        """Seed demo data (idempotent). Refuses to run in production."""
        if current_app.config["APP_ENV"] == "production":
            raise click.ClickException("Demo data is never created when APP_ENV=production.")
        if if_empty and not demo.database_is_empty():
            click.echo("Database already has data; demo not seeded.")
            click.echo("(Run `flask --app wsgi demo` for a fresh demo invite code.)")
            return
        base_url = current_app.config["PUBLIC_URL"] or (
            f"http://127.0.0.1:{current_app.config['PORT']}"
        )
        result = demo.seed_demo(base_url=base_url, ttl=current_app.config["INVITE_TTL"])
        db.session.commit()
        click.echo("Demo data: " + (", ".join(result.created) or "already present."))
        click.echo(f"Demo logins (password {demo.DEMO_PASSWORD}):")
        for login in demo.DEMO_STAFF:
            click.echo(f"  {login.role.value:<12} {login.email}")
        click.echo(f"  {'participant':<12} username {demo.DEMO_PARTICIPANT}, PIN {demo.DEMO_PIN}")
        for username, language in demo.RUNNING_LOGINS.values():
            click.echo(
                f"  {'participant':<12} username {username}, PIN {demo.DEMO_PIN} ({language})"
            )
        if result.invite_code:
            click.echo(
                f"Unused invite for {demo.PENDING_MEMBER!r}: {result.invite_code} "
                f"(or open {result.invite_url})"
            )

    library = click.Group("content", help="The psychoeducation library.")
    app.cli.add_command(library)

    @library.command("import")
    @click.argument("folder", required=False, type=click.Path(file_okay=False, path_type=Path))
    def content_import(folder: Path | None) -> None:
        """Load readings from FOLDER/<language>/<key>.md (default: the shipped library).
        Safe to re-run: unchanged files change nothing; edited ones add a version."""
        result = content.import_library(SYSTEM, folder)
        db.session.commit()
        click.echo(
            f"Library: {result.items_created} new reading(s), {result.versions_added} new "
            f"version(s), {result.tags_changed} retagged, {result.unchanged} unchanged."
        )
        for problem in result.problems or []:
            click.echo(f"  skipped {problem}", err=True)
        if result.problems:
            raise click.ClickException(f"{len(result.problems)} file(s) could not be read.")

    @library.command("export")
    @click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
    def content_export(folder: Path) -> None:
        """Write the library (latest version per language) to FOLDER as Markdown."""
        click.echo(f"Wrote {content.export_library(folder)} file(s) to {folder}.")

    vapid_group = click.Group("vapid", help="Web Push (VAPID) keys.")
    app.cli.add_command(vapid_group)

    @vapid_group.command("generate")
    def vapid_generate() -> None:
        """Print a new key pair for VAPID_PRIVATE_KEY / VAPID_PUBLIC_KEY.

        Changing keys invalidates every device's subscription: browsers must
        subscribe again (the app does so on its next start)."""
        private, public = vapid.generate()
        click.echo(f"VAPID_PRIVATE_KEY={private}")
        click.echo(f"VAPID_PUBLIC_KEY={public}")

    @app.cli.command("static-build")
    def static_build() -> None:
        """Build this release's static tree (versioned, gzipped) in the instance folder.

        Optional: a web worker builds it on its first request when it is missing."""
        click.echo(app.extensions["ipt_static_tree"].path())

    @app.cli.command("clock")
    def clock_command() -> None:
        """Run the scheduler (the Procfile's clock process)."""
        # Imported here: APScheduler (with tzlocal and multiprocessing, 32 modules)
        # is the clock's alone; every web worker would otherwise carry it.
        from ipt_groups.clock import run_clock

        run_clock(current_app._get_current_object())  # type: ignore[attr-defined]
