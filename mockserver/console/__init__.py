"""The console at `/`: the API reference with "try it", the journal as live traffic, and the
state (its customers, seed files, the rehearsal's settings), on one page that loads nothing
from any other host.

The reference is Swagger UI, whose files come from the flask-swagger-ui package at the version
pyproject.toml pins (its version is Swagger UI's); the traffic and state panels are this
package's own script over the admin API (/__admin/...).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
from flask import Blueprint, Flask, Response, render_template, send_from_directory

from mockserver.chaos import FAULT_KINDS
from spec import CAPKIT_VERSION

if TYPE_CHECKING:
    from mockserver.mock import Mock

#: Where the console's files are served: the mock's own paths, outside the API's base path.
ASSETS = "/__console"
SWAGGER_UI = Path(str(files("flask_swagger_ui").joinpath("dist")))

#: The page may load and call this mock alone: a request to another host is refused by the
#: browser itself. Swagger UI sets styles inline and draws with data: images.
_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "frame-ancestors 'none'",
        "form-action 'none'",
        "base-uri 'none'",
    ]
)


def register(app: Flask, mock: Mock) -> None:
    """Serve the console of MOCK at / from APP."""
    console = Blueprint(
        "console",
        __name__,
        static_folder="static",
        static_url_path=f"{ASSETS}/static",
        template_folder="templates",
    )
    settings = mock.settings
    if not settings.auth_required:
        auth = "off: requests need no credentials"
    elif settings.auth or settings.token:
        auth = "pinned: only the till of --auth (or the --token) passes"
    else:
        auth = "on: any well-formed credentials pass"
    config = {
        "assets": ASSETS,
        "basePath": mock.contract.base_path,
        "version": CAPKIT_VERSION,
        "swaggerUi": (SWAGGER_UI / "VERSION").read_text().strip(),
        "auth": auth,
        "faultKinds": FAULT_KINDS,
        # Whether a change needs the --admin-token (never the token itself): the page then
        # asks for it once.
        "adminToken": settings.admin_token is not None,
    }

    @console.get("/")
    def page() -> Response:
        encoded = msgspec.json.encode(config).decode()
        html = render_template("console.html", config=encoded, **config)
        return Response(html, headers={"Content-Security-Policy": _POLICY})

    @console.get(f"{ASSETS}/swagger-ui/<path:name>")
    def swagger_ui(name: str) -> Response:
        return send_from_directory(SWAGGER_UI, name)

    app.register_blueprint(console)
