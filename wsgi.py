"""The WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

import sys

from ipt_groups import configure_logging, create_app
from ipt_groups.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # A clear one-line message for the person deploying, not a traceback.
    sys.exit(f"ipt_groups: configuration error: {exc}")
configure_logging(app.config["LOG_LEVEL"])
