"""A deploy rehearsal: the Procfile's own commands against a fresh PostgreSQL database.

What a Heroku-style platform does, on this machine (``make deploy-check``):

1. create an empty database (``ipt_deploy_check``, dropped again at the end);
2. run the Procfile's ``release`` command (migrations) in production mode, with
   a generated SECRET_KEY and VAPID key pair;
3. start the fake push service (tests/fake_push.py) as its own process, and
   in this process the fake SMS gateway (tests/fake_sms.py, speaking Twilio's
   API and checking its credentials) and a real SMTP server (tests/fake_smtp.py);
   ``web`` and ``clock`` get ``SMS_PROVIDER=twilio``, ``TWILIO_*`` (base URL to
   the fake), ``SMTP_URL`` and ``MAIL_FROM`` as a platform's config would;
4. start the Procfile's ``web`` and ``clock`` side by side, ``web`` on its own
   ``PORT``, and talk to ``web`` only over HTTP as a browser behind the
   platform's router would (``X-Forwarded-Proto: https``, ``PROXY_HOPS=1``);
5. an admin (made with the CLI) adds a facilitator and a supervisor; the
   facilitator creates a supervised cohort whose first session starts in about
   18 hours and enrols two members: one redeems the invite and subscribes the
   fake push service's endpoint, the other gives a number and agrees to SMS but
   has no device; the day-before reminders are then due, and only the ``clock``
   sends them; the facilitator then enters a PHQ-9 with item 9 above 0, which
   opens a risk alert for the supervisor (who has no device: it goes by email);
6. wait until the fake push service has checked the VAPID signature and
   decrypted the push reminder, the fake gateway has accepted the SMS reminder
   to the member's number, and the SMTP server has the alert for the
   supervisor's address; each channel's time is printed;
7. SIGTERM to ``web`` and ``clock``: both must exit with status 0 within 30 s
   (platforms SIGKILL after 30 s).

Exit status 0 and a short report when all of it holds; 1 and the processes'
last log lines otherwise. Needs PostgreSQL on 127.0.0.1:5432 with trust auth
(or DEPLOY_DATABASE_URL pointing at a server where we may create a database).
"""

from __future__ import annotations

import http.cookies
import json
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # ipt_groups (VAPID keys) and tests.fake_push

from ipt_groups.messaging.messages import clinical_words_in  # noqa: E402
from ipt_groups.push import vapid  # noqa: E402
from tests.fake_sms import FakeSms  # noqa: E402
from tests.fake_smtp import FakeSmtp  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/ipt_deploy_check"
STOP_LIMIT = 30.0  # seconds a platform waits between SIGTERM and SIGKILL
START_LIMIT = 60.0
DELIVERY_LIMIT = 90.0  # the clock dispatches every 5 s; the first tick is at once
TWILIO_SID = "AC" + secrets.token_hex(16)
TWILIO_TOKEN = secrets.token_hex(16)
TWILIO_FROM = "+15005550006"
SMS_NUMBER = "+447400123456"
SUPERVISOR_EMAIL = "supervisor@deploy-check.example"
MAIL_FROM = "reminders@deploy-check.example"
ADMIN_PASSWORD = secrets.token_urlsafe(18)
STAFF_PASSWORD = secrets.token_urlsafe(18)
PIN = "482915"


class CheckFailedError(RuntimeError):
    pass


# -- the database --------------------------------------------------------------


def _admin_conn(url: str) -> tuple[psycopg.Connection[Any], str]:
    """A connection to the server's maintenance database, and the name of ours."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    return psycopg.connect(maintenance, autocommit=True), name


def recreate_database(url: str) -> None:
    conn, name = _admin_conn(url)
    with conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(url: str) -> None:
    conn, name = _admin_conn(url)
    with conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# -- processes -----------------------------------------------------------------


def procfile() -> dict[str, list[str]]:
    """The Procfile's commands, split as a shell would (they are plain commands)."""
    commands = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = shlex.split(command)
    return commands


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(f"  {self.name}| {line}" for line in text[-lines:])


def start(name: str, argv: list[str], env: dict[str, str], logs: Path) -> Proc:
    log = logs / f"{name}.log"
    # Each in its own session, so a Ctrl-C to `make` does not reach them before
    # we can stop them ourselves; stdout and stderr into one log, like a platform.
    popen = subprocess.Popen(  # noqa: S603  (our own Procfile's commands)
        argv,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Proc(name, popen, log)


def run_release(argv: list[str], env: dict[str, str], logs: Path) -> float:
    began = time.monotonic()
    proc = start("release", argv, env, logs)
    if proc.popen.wait(timeout=120) != 0:
        raise CheckFailedError(f"release exited with {proc.popen.returncode}\n{proc.tail()}")
    return time.monotonic() - began


def stop_together(procs: list[Proc]) -> dict[str, tuple[int | None, float]]:
    """SIGTERM to all at once, as a platform stops a release, then wait up to its
    limit: {name: (exit status or None if it had to be killed, seconds)}."""
    began = time.monotonic()
    for proc in procs:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)
    done: dict[str, tuple[int | None, float]] = {}
    while len(done) < len(procs) and time.monotonic() - began < STOP_LIMIT:
        for proc in procs:
            if proc.name not in done and proc.popen.poll() is not None:
                done[proc.name] = (proc.popen.returncode, time.monotonic() - began)
        time.sleep(0.05)
    for proc in procs:
        if proc.name not in done:
            proc.popen.kill()  # what the platform would do; a failure of the check
            proc.popen.wait()
            done[proc.name] = (None, time.monotonic() - began)
    return done


# -- HTTP, as a browser behind the platform's router ----------------------------


@dataclass
class Browser:
    """One person's cookies and CSRF token against ``base``.

    Production cookies are ``Secure``; the router terminates TLS, so the app is
    told the scheme in ``X-Forwarded-Proto`` and we keep the cookies ourselves.
    """

    base: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("X-Forwarded-Proto", "https")
        request.add_header("X-Forwarded-For", "203.0.113.7")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.cookies:
            request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if self.csrf:
            request.add_header("X-CSRF-Token", self.csrf)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        for cookie in headers.get_all("Set-Cookie") or []:
            jar: http.cookies.SimpleCookie = http.cookies.SimpleCookie(cookie)
            for key, morsel in jar.items():
                self.cookies[key] = morsel.value
        payload = json.loads(raw) if raw and "json" in headers.get("Content-Type", "") else raw
        return status, payload

    def ok(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, payload = self.call(method, path, body)
        if status != expect:
            raise CheckFailedError(f"{method} {path}: {status} (wanted {expect}): {payload!r}")
        if isinstance(payload, dict) and "csrf_token" in payload:
            self.csrf = payload["csrf_token"]
        return payload


def wait_until_ready(base: str, web: Proc) -> float:
    began = time.monotonic()
    probe = Browser(base)
    while time.monotonic() - began < START_LIMIT:
        if web.popen.poll() is not None:
            raise CheckFailedError(f"web exited with {web.popen.returncode}\n{web.tail()}")
        try:
            status, _ = probe.call("GET", "/readyz")
            if status == 200:
                return time.monotonic() - began
        except OSError:
            pass  # not listening yet
        time.sleep(0.25)
    raise CheckFailedError(f"web was not ready within {START_LIMIT:.0f} s\n{web.tail()}")


def check_static(base: str) -> str:
    """The shell page points at versioned files that gunicorn + WhiteNoise serve
    gzipped and immutable; the page itself is revalidated."""
    request = urllib.request.Request(base + "/")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        page = response.read().decode()
        if response.headers["Cache-Control"] != "no-cache":
            raise CheckFailedError(f"/ is cached: {response.headers['Cache-Control']}")
    marker = '<script type="module" src="'
    if marker not in page:
        raise CheckFailedError("/ has no module script")
    script = page.split(marker, 1)[1].split('"', 1)[0]
    request = urllib.request.Request(base + script, headers={"Accept-Encoding": "gzip"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        headers, size = response.headers, len(response.read())
    if headers["Content-Encoding"] != "gzip" or "immutable" not in headers["Cache-Control"]:
        raise CheckFailedError(f"{script}: {dict(headers)}")
    return f"{script} gzip {size} B, {headers['Cache-Control']}"


def stats(origin: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{origin}/_stats", timeout=5) as response:  # noqa: S310
        return json.loads(response.read())


# -- the rehearsal ---------------------------------------------------------------


def drive_each_channel(base: str, subscription: dict[str, Any]) -> dict[str, Any]:
    """Admin -> facilitator and supervisor -> cohort -> a member with a device and
    one with only a number; then a risk alert. Returns what to report, with the
    moment each channel's message became due (``due``: channel -> monotonic)."""
    due: dict[str, float] = {}
    admin = Browser(base)
    admin.ok(
        "POST",
        "/api/auth/login",
        {"email": "admin@deploy-check.example", "password": ADMIN_PASSWORD},
    )
    staff = {
        "email": "facilitator@deploy-check.example",
        "display_name": "Deploy Check Facilitator",
        "role": "facilitator",
        "password": STAFF_PASSWORD,
        "time_zone": "UTC",
    }
    admin.ok("POST", "/api/users", staff, expect=201)
    supervisor = admin.ok(
        "POST",
        "/api/users",
        {
            **staff,
            "email": SUPERVISOR_EMAIL,
            "display_name": "Deploy Check Supervisor",
            "role": "supervisor",
        },
        expect=201,
    )

    facilitator = Browser(base)
    facilitator.ok("POST", "/api/auth/login", {"email": staff["email"], "password": STAFF_PASSWORD})
    # Session 1 in about 18 hours: past the day-before reminder's due time and
    # before its 12-hour cut-off, so that reminder is due now, whatever the hour.
    starts = (datetime.now(UTC) + timedelta(hours=18)).replace(second=0, microsecond=0)
    cohort = facilitator.ok(
        "POST",
        "/api/cohorts",
        {
            "name": "Deploy check group",
            "programme_key": "who-8",
            "time_zone": "UTC",
            "weekday": starts.weekday(),
            "local_time": starts.strftime("%H:%M"),
            "start_date": starts.date().isoformat(),
            "location": "Room 1",
            "supervisor_ids": [supervisor["id"]],
        },
        expect=201,
    )

    def enrol(name: str, **extra: Any) -> dict[str, Any]:
        return facilitator.ok(
            "POST",
            f"/api/cohorts/{cohort['id']}/enrolments",
            {
                "display_name": name,
                "problem_areas": ["life_changes"],
                "screening": {"suicide_plan_or_attempt": False, "needs_specialist_care": False},
                "consent": {"version": "2026-01", "given": True},
                **extra,
            },
            expect=201,
        )

    def no_quiet_hours(member: dict[str, Any], subscribe: bool) -> None:
        phone = Browser(base)
        phone.ok("POST", "/api/invites/redeem", {"code": member["invite"]["code"], "pin": PIN})
        if subscribe:
            phone.ok("POST", "/api/push/subscriptions", subscription, expect=201)
        # No quiet hours: the check must not depend on the hour it runs at.
        phone.ok(
            "PUT", "/api/me/notification-preferences", {"quiet_hours": None, "checkin_due": False}
        )

    member = enrol("Deploy Check Member")
    no_quiet_hours(member, subscribe=True)
    due["push"] = time.monotonic()
    # No device, a number and consent: the same reminder goes by SMS.
    texted = enrol("Deploy Check Texter", contact_phone=SMS_NUMBER, sms_consent=True)
    no_quiet_hours(texted, subscribe=False)
    due["sms"] = time.monotonic()
    # PHQ-9 item 9 above 0, entered by the facilitator: an alert for the supervisor,
    # who has no device, so its outside leg goes to their email address.
    answers = {f"phq9_{n}": 1 for n in range(1, 10)}
    entered = facilitator.ok(
        "POST",
        f"/api/enrolments/{member['enrolment']['id']}/assessments",
        {"instrument": "phq9", "answers": answers},
        expect=201,
    )
    if not entered.get("alert"):
        raise CheckFailedError(f"PHQ-9 item 9 opened no risk alert: {entered!r}")
    due["email"] = time.monotonic()
    return {"cohort": cohort["id"], "starts": starts, "due": due}


def main() -> int:
    url = os.environ.get("DEPLOY_DATABASE_URL", DEFAULT_URL)
    commands = procfile()
    missing = {"web", "clock", "release"} - set(commands)
    if missing:
        print(f"deploy-check: the Procfile has no {', '.join(sorted(missing))}")
        return 1
    private, public = vapid.generate()
    logs = Path(tempfile.mkdtemp(prefix="ipt-deploy-check-"))
    port = free_port()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "VAPID_PRIVATE_KEY": private,
        "VAPID_PUBLIC_KEY": public,
        "VAPID_SUBJECT": "mailto:ops@deploy-check.example",
        "PROXY_HOPS": "1",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "INSTANCE_PATH": str(logs / "instance"),
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    running: list[Proc] = []
    report: list[str] = []
    # The SMS gateway and the SMTP server run in this process (threads): the
    # app reaches them over real sockets all the same, and we wait on their
    # records without polling over HTTP.
    gateway = FakeSms(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN)
    smtp = FakeSmtp()
    smtp_started = False
    began = time.monotonic()
    try:
        recreate_database(url)
        report.append(f"database      {urlsplit(url).path.lstrip('/')} created empty")
        seconds = run_release(commands["release"], env, logs)
        report.append(f"release       {shlex.join(commands['release'])}: ok in {seconds:.1f} s")
        admin = start(
            "create-admin",
            [
                "flask",
                "--app",
                "wsgi",
                "create-admin",
                "--email",
                "admin@deploy-check.example",
                "--name",
                "Admin",
            ],
            {**env, "ADMIN_PASSWORD": ADMIN_PASSWORD},
            logs,
        )
        if admin.popen.wait(timeout=60) != 0:
            raise CheckFailedError(f"create-admin failed\n{admin.tail()}")

        subs_file = logs / "subs.json"
        fake = start(
            "fake-push",
            [
                sys.executable,
                "-m",
                "tests.fake_push",
                "--public-key",
                public,
                "--out",
                str(subs_file),
            ],
            env,
            logs,
        )
        running.append(fake)
        deadline = time.monotonic() + START_LIMIT
        while not subs_file.exists():
            if fake.popen.poll() is not None or time.monotonic() > deadline:
                raise CheckFailedError(f"the fake push service did not start\n{fake.tail()}")
            time.sleep(0.1)
        service = json.loads(subs_file.read_text())
        origin, subscription = service["origin"], service["subscriptions"][0]
        env["PUSH_ALLOWED_HOSTS"] = origin
        gateway.start()
        smtp.start()
        smtp_started = True
        env.update(
            {
                "SMS_PROVIDER": "twilio",
                "TWILIO_ACCOUNT_SID": TWILIO_SID,
                "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "TWILIO_FROM": TWILIO_FROM,
                "TWILIO_BASE_URL": gateway.origin,
                # Providers call back here; required in production with SMS_PROVIDER.
                "PUBLIC_URL": "https://ipt.deploy-check.example",
                "SMTP_URL": smtp.url(),
                "MAIL_FROM": MAIL_FROM,
            }
        )
        report.append(
            f"channels      fake SMS gateway (Twilio API) on {gateway.origin}, "
            f"SMTP server on {smtp.host}:{smtp.port}"
        )

        web = start("web", commands["web"], env, logs)
        clock = start("clock", commands["clock"], env, logs)
        running += [web, clock]
        base = f"http://127.0.0.1:{port}"
        seconds = wait_until_ready(base, web)
        report.append(
            f"web           {shlex.join(commands['web'])}: "
            f"/readyz 200 after {seconds:.1f} s (PORT={port})"
        )
        report.append(f"clock         {shlex.join(commands['clock'])}: running")
        report.append(f"static        {check_static(base)}")

        setup_began = time.monotonic()
        made = drive_each_channel(base, subscription)
        report.append(
            f"set-up        admin, facilitator, supervisor, supervised cohort, two members, "
            f"PHQ-9 over HTTP in {time.monotonic() - setup_began:.1f} s"
        )
        arrived: dict[str, float] = {}
        waiting_since = time.monotonic()
        while len(arrived) < 3:
            for proc in (web, clock):
                if proc.popen.poll() is not None:
                    raise CheckFailedError(
                        f"{proc.name} exited with {proc.popen.returncode}\n{proc.tail()}"
                    )
            if "push" not in arrived and stats(origin).get("ok", 0) >= 1:
                arrived["push"] = time.monotonic()
            if "sms" not in arrived and gateway.received:
                arrived["sms"] = time.monotonic()
            if "email" not in arrived and smtp.messages:
                arrived["email"] = time.monotonic()
            if time.monotonic() - waiting_since > DELIVERY_LIMIT:
                missing = ", ".join(c for c in ("push", "sms", "email") if c not in arrived)
                raise CheckFailedError(
                    f"nothing reached {missing} in {DELIVERY_LIMIT:.0f} s "
                    f"(push {stats(origin)}, sms attempts {gateway.attempts}, "
                    f"mail {len(smtp.messages)})\n{clock.tail()}"
                )
            # Woken at once when the gateway records a message; else a short nap.
            if "sms" not in arrived:
                gateway.wait_for(1, timeout=0.25)
            elif "email" not in arrived:
                smtp.wait_for(1, timeout=0.25)
            else:
                time.sleep(0.25)

        def took(channel: str) -> str:
            return f"{arrived[channel] - made['due'][channel]:.1f} s after it was due"

        counts = stats(origin)
        report.append(
            f"push          day-before reminder for a session at {made['starts']:%H:%M} UTC "
            f"decrypted by the fake push service {took('push')} "
            f"(ok={counts.get('ok')}, rejected={counts.get('rejected')})"
        )
        if counts.get("rejected"):
            raise CheckFailedError(f"the push service rejected a send: {counts}")

        text = gateway.received[0]
        report.append(
            f"sms           the same reminder to {text.to} (no device) accepted by the fake "
            f"Twilio API {took('sms')} ({len(text.body)} characters, from {text.sender}, "
            f"{len(gateway.received)} message(s), {len(gateway.attempts)} request(s))"
        )
        if (text.provider, text.to, text.sender) != ("twilio", SMS_NUMBER, TWILIO_FROM):
            raise CheckFailedError(f"the SMS went astray: {text!r}")
        if text.status_callback != env["PUBLIC_URL"] + "/api/sms/twilio/status":
            raise CheckFailedError(f"the SMS asks for callbacks at {text.status_callback!r}")

        mail = smtp.messages[0]
        body = mail.message.get_body(("plain",))
        content = mail.message["Subject"] + " " + (body.get_content() if body else "")
        report.append(
            f"email         risk alert to {', '.join(mail.rcpt_tos)} accepted by the SMTP "
            f"server {took('email')} (from {mail.mail_from}, "
            f"subject {mail.message['Subject']!r})"
        )
        if mail.rcpt_tos != (SUPERVISOR_EMAIL,):
            raise CheckFailedError(f"the risk alert went to {mail.rcpt_tos}")
        for channel, words in (("sms", text.body), ("email", content)):
            if found := clinical_words_in(words):
                raise CheckFailedError(f"clinical words in the {channel}: {found}")

        failures = []
        for name, (code, seconds) in stop_together([web, clock]).items():
            report.append(f"SIGTERM       {name}: exit {code} after {seconds:.1f} s")
            if code != 0:
                proc = web if name == "web" else clock
                failures.append(f"{name} exited with {code}\n{proc.tail()}")
        if failures:
            raise CheckFailedError("\n".join(failures))
    except (CheckFailedError, psycopg.Error, OSError, subprocess.SubprocessError) as error:
        print("\n".join(report))
        print(f"\ndeploy-check FAILED: {error}\nlogs in {logs}")
        return 1
    finally:
        for proc in running:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
                try:
                    proc.popen.wait(timeout=STOP_LIMIT)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait()
        gateway.stop()
        if smtp_started:
            smtp.stop()
        try:
            drop_database(url)
        except psycopg.Error as error:
            print(f"(could not drop the database: {error})")
    print("deploy-check: the Procfile's processes, as a platform runs them")
    print("\n".join(report))
    print(f"deploy-check passed in {time.monotonic() - began:.1f} s")
    shutil.rmtree(logs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
