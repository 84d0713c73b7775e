"""capkit: a stateful mock and contract tests for the Capillary loyalty v2 API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("capkit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
