"""The capkit mock of the Capillary loyalty v2 API: `create_app(Settings(...))` is a WSGI app.

The names are imported on first use, so that importing a layer beneath (mockserver.domain,
mockserver.storage) does not load Flask.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockserver.app import MissingHandler, create_app
    from mockserver.settings import Settings

__all__ = ["MissingHandler", "Settings", "create_app"]
_HOMES = {
    "MissingHandler": "mockserver.app",
    "create_app": "mockserver.app",
    "Settings": "mockserver.settings",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'mockserver' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
