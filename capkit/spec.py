"""Reading the contract: the bundled spec/v2.json, or any OpenAPI document in JSON or YAML."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

Document = dict[str, Any]


class SpecUnreadable(OSError):
    """The file is missing, unreadable, or not a JSON/YAML mapping."""


def bundled_path() -> Path:
    """The spec that ships with capkit: package data once installed, spec/v2.json in a checkout."""
    try:
        return Path(str(files("capkit.openapi").joinpath("v2.json")))
    except ModuleNotFoundError:
        # Imported from a checkout's source tree (python -c or -m from its root), where
        # the package data is the file it is built from.
        return Path(__file__).resolve().parent.parent / "spec" / "v2.json"


def load(path: str | Path | None = None) -> Document:
    """Read the OpenAPI document at PATH, or the bundled spec; raise SpecUnreadable."""
    source = Path(path) if path is not None else bundled_path()
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecUnreadable(f"cannot read {source}: {error}") from error
    try:
        document = json.loads(text) if source.suffix == ".json" else _load_yaml(text)
    except (ValueError, yaml.YAMLError) as error:
        raise SpecUnreadable(f"cannot parse {source}: {error}") from error
    if not isinstance(document, dict):
        raise SpecUnreadable(
            f"{source} holds a {type(document).__name__}, expected an OpenAPI document (a mapping)"
        )
    return document


def follow(document: Document, node: Any, pointer: str = "") -> tuple[str, Any]:
    """Where the chain of local $refs from NODE (found at POINTER) ends, and what is there.

    Raises LookupError for a $ref that names nothing in DOCUMENT, or a chain that comes back
    to a $ref it has followed.
    """
    followed = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in followed:
            raise LookupError(f"$ref {ref!r} leads back to itself")
        followed.add(ref)
        pointer = str(ref).removeprefix("#")
        node = document
        try:
            for part in pointer.strip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            raise LookupError(f"$ref {ref!r} names nothing in the document") from None
    return pointer, node


class _JsonLikeLoader(yaml.SafeLoader):
    """YAML as a JSON document means it: dates stay strings, mapping keys are strings."""


# Without this, `expiryDate: 2125-05-05` would load as a datetime.date and no longer
# match `type: string` in the examples it belongs to.
_JsonLikeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load_yaml(text: str) -> Any:
    # yaml.load with a SafeLoader subclass: as safe as yaml.safe_load.
    return _stringify_keys(yaml.load(text, Loader=_JsonLikeLoader))


def _stringify_keys(node: Any) -> Any:
    # Unquoted response codes (`200:`) load as integers; JSON would have them as strings.
    if isinstance(node, dict):
        return {str(key): _stringify_keys(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(item) for item in node]
    return node
