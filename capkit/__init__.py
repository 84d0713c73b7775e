"""capkit: a stateful mock and contract tests for the Capillary loyalty v2 API."""

from spec import CAPKIT_VERSION as __version__

__all__ = ["__version__"]
