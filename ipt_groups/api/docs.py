"""Interactive API docs at /api/docs, with Swagger UI served from this server.

flask-smorest's own Swagger UI page loads its assets from a CDN and uses an inline
script; clinics may run without internet and our CSP forbids inline scripts, so we
serve the assets shipped in the ``swagger-ui-bundle`` package and a tiny init file.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from ipt_groups.security import public

bp = Blueprint("docs", __name__, url_prefix="/api/docs")

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="stylesheet" href="{assets}swagger-ui.css">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{spec_url}"></div>
  <script src="{assets}swagger-ui-bundle.js"></script>
  <script src="{assets}swagger-ui-standalone-preset.js"></script>
  <script src="{init}"></script>
</body>
</html>
"""

INIT_JS = """window.addEventListener("load", function () {
  var el = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: el.dataset.specUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    // The session cookie goes along by itself; paste the CSRF token from
    // GET /api/auth/csrf into "Authorize" to try writes.
    persistAuthorization: true
  });
});
"""


@bp.get("")
@public
def page() -> Response:
    html = PAGE.format(
        title=current_app.config["API_TITLE"],
        assets=url_for("docs.asset", filename=""),
        spec_url=url_for("api-docs.openapi_json"),
        init=url_for("docs.init_js"),
    )
    return Response(html, mimetype="text/html")


@bp.get("/init.js")
@public
def init_js() -> Response:
    return Response(INIT_JS, mimetype="text/javascript")


@bp.get("/assets/<path:filename>")
@public
def asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
