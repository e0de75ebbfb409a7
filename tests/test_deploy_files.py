"""The platform files (app.json, Procfile, .python-version) agree with the code.

A Heroku button that forgets a variable the app needs in production deploys an
app that never starts; one that lists a variable the app does not read is a
setting that silently does nothing. Both are checked against the real parser.
"""

from __future__ import annotations

import json
import secrets
import tomllib
from pathlib import Path
from typing import Any

import pytest

from ipt_groups.config import ENV_VARS, ConfigError, load_settings
from tests.conftest import VAPID_ENV

ROOT = Path(__file__).resolve().parent.parent
# Provided by the PostgreSQL add-on, not typed in by the person deploying.
FROM_ADDONS = {"DATABASE_URL": "postgres://u:p@db.example.org:5432/ipt"}
# Set by the platform itself on every dyno.
FROM_PLATFORM = {"PORT"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return json.loads((ROOT / "app.json").read_text())


# Heroku's generator: 64 random hex characters (the production key check refuses "f" * 64).
GENERATED_SECRET = secrets.token_hex(32)


def deployed_env(manifest: dict[str, Any]) -> dict[str, str]:
    """What the platform would set: values, a generated secret, the VAPID keys typed in."""
    env = dict(FROM_ADDONS)
    for name, spec in manifest["env"].items():
        if spec.get("generator") == "secret":
            env[name] = GENERATED_SECRET
        elif name in VAPID_ENV:
            env[name] = VAPID_ENV[name]
        elif spec.get("value"):
            env[name] = spec["value"]
    return env


def test_app_json_is_a_complete_manifest(manifest: dict[str, Any]) -> None:
    assert manifest["name"] and manifest["description"]
    assert [a["plan"].split(":")[0] for a in manifest["addons"]] == ["heroku-postgresql"]
    formation = manifest["formation"]
    assert set(formation) == {"web", "clock"}
    for process in formation.values():
        assert process["quantity"] == 1 and process["size"]
    env = manifest["env"]
    assert env["SECRET_KEY"] == {**env["SECRET_KEY"], "generator": "secret"}
    assert env["APP_ENV"]["value"] == "production" and env["PROXY_HOPS"]["value"] == "1"
    for name in ("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT"):
        assert env[name]["required"] is True and "value" not in env[name], name
    assert "vapid generate" in env["VAPID_PRIVATE_KEY"]["description"]
    for name, spec in env.items():
        assert spec["description"].strip(), name


def test_app_json_lists_only_variables_the_app_reads(manifest: dict[str, Any]) -> None:
    listed = set(manifest["env"])
    assert listed <= set(ENV_VARS), sorted(listed - set(ENV_VARS))
    assert not listed & (set(FROM_ADDONS) | FROM_PLATFORM)


def test_the_deployed_environment_starts_in_production(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    settings = load_settings(deployed_env(manifest), tmp_path)
    assert settings.app_env == "production" and settings.proxy_hops == 1
    assert settings.database_url.startswith("postgresql+psycopg://")
    # Every optional value in app.json is the code's own default.
    defaults = load_settings(
        {k: v for k, v in deployed_env(manifest).items() if k not in _optional(manifest)},
        tmp_path,
    )
    assert settings == defaults


def _optional(manifest: dict[str, Any]) -> set[str]:
    return {n for n, spec in manifest["env"].items() if spec.get("required") is False}


def test_every_variable_production_requires_is_asked_for(
    manifest: dict[str, Any], tmp_path: Path
) -> None:
    env = deployed_env(manifest)
    required = set()
    for name in env:
        try:
            load_settings({k: v for k, v in env.items() if k != name}, tmp_path)
        except ConfigError as error:
            assert name in str(error)
            required.add(name)
    assert required == {
        "SECRET_KEY",
        "DATABASE_URL",
        "VAPID_PRIVATE_KEY",
        "VAPID_PUBLIC_KEY",
        "VAPID_SUBJECT",
    }
    for name in required - set(FROM_ADDONS):
        spec = manifest["env"][name]
        assert spec.get("required", True) is True and ("generator" in spec or "value" not in spec)
    # APP_ENV is what makes them required: it must be set to production.
    assert load_settings({"DATABASE_URL": env["DATABASE_URL"]}, tmp_path).app_env != "production"


def test_the_procfile_has_the_three_processes() -> None:
    lines = (ROOT / "Procfile").read_text().splitlines()
    processes = dict(line.split(": ", 1) for line in lines if line.strip())
    assert processes == {
        "web": "gunicorn wsgi:app",
        "release": "flask --app wsgi db upgrade",
        "clock": "flask --app wsgi clock",
    }


def test_the_python_version_matches_the_project() -> None:
    version = (ROOT / ".python-version").read_text().strip()
    assert version == "3.11"
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert requires.startswith(">=3.11"), requires


def test_the_render_blueprint_runs_the_procfiles_commands_with_the_required_settings() -> None:
    import yaml

    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    procfile = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    services = {s["type"]: s for s in blueprint["services"]}
    assert services["web"]["startCommand"] == procfile["web"]
    assert services["web"]["preDeployCommand"] == procfile["release"]
    assert services["worker"]["startCommand"] == procfile["clock"]
    groups = {g["name"]: g for g in blueprint["envVarGroups"]}
    for service in services.values():
        keys = {v["key"] for v in service["envVars"] if "key" in v}
        for group in (v["fromGroup"] for v in service["envVars"] if "fromGroup" in v):
            keys |= {v["key"] for v in groups[group]["envVars"]}
        # What production refuses to start without, on both processes.
        assert {
            "DATABASE_URL", "APP_ENV", "SECRET_KEY",
            "VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY", "VAPID_SUBJECT",
        } <= keys, service["name"]  # fmt: skip
        assert keys <= set(ENV_VARS), service["name"]
