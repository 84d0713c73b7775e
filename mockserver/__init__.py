"""The capkit mock of the Capillary loyalty v2 API: `create_app(Settings(...))` is a WSGI app."""

from mockserver.app import MissingHandler, create_app
from mockserver.settings import Settings

__all__ = ["MissingHandler", "Settings", "create_app"]
