"""A request's body, read once and never far past the mock's limit, whether it comes with a
Content-Length or in chunks (werkzeug's reader stops at the limit and hands on the body cut
there, which then reads as JSON that ends too soon)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Where the body is kept in the environ once read: the journal reads it first, then the app.
_READ = "capkit.body"
#: The Content-Encodings capkit serve's server decodes (aiohttp's, one to a request); a body
#: in one it decoded is marked so in the environ, under DECODED.
CODINGS = ("gzip", "deflate", "br", "zstd")
DECODED = "capkit.decoded"


class BodyTooLarge(Exception):
    """The request's body is over the limit."""


class BodyUnreadable(Exception):
    """The request's body cannot be read as it was sent: its Content-Encoding does not decode."""


def unreadable(environ: WSGIEnvironment, reason: str) -> None:
    """Say that the body of ENVIRON's request cannot be read, for REASON: read_body raises
    BodyUnreadable."""
    environ[_READ] = BodyUnreadable(reason)


def encoded(environ: WSGIEnvironment) -> str | None:
    """The Content-Encoding of ENVIRON's body as it reaches the app: None when it comes as it
    is, or decoded by the server already."""
    coding: str = environ.get("HTTP_CONTENT_ENCODING", "").strip()
    if coding.lower() in ("", "identity") or environ.get(DECODED):
        return None
    return coding


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The body of ENVIRON's request (b"" when it has none); raise BodyTooLarge past LIMIT bytes,
    and BodyUnreadable for one the server could not decode.

    Reads at most LIMIT + 1 bytes, once: later calls get what the first one read.
    """
    if _READ not in environ:
        try:
            environ[_READ] = _read(environ, limit)
        except BodyTooLarge as error:
            environ[_READ] = error
    read: bytes | BodyTooLarge | BodyUnreadable = environ[_READ]
    if isinstance(read, Exception):
        raise read
    return read


def _read(environ: WSGIEnvironment, limit: int) -> bytes:
    declared = environ.get("CONTENT_LENGTH") or ""
    length = int(declared) if declared.isdigit() else None
    if length is not None and length > limit:
        raise BodyTooLarge(f"a Content-Length of {length} bytes, over {limit}")
    if length is None and not environ.get("wsgi.input_terminated"):
        # Without a length, only a server that ends the stream itself makes reading safe.
        return b""
    wanted = limit + 1 if length is None else length
    stream = environ["wsgi.input"]
    pieces, size = [], 0
    while size < wanted and (piece := stream.read(wanted - size)):
        pieces.append(piece)
        size += len(piece)
    if size > limit:
        raise BodyTooLarge(f"a body in chunks, or compressed, of more than {limit} bytes")
    return b"".join(pieces)
