"""The contract, and how every part of capkit reads it: the bundled v2.json or any OpenAPI
document in JSON or YAML, its local $refs, its server's path, the names of fields and places.

This is capkit's bottom layer: mockserver, contracts and the capkit command import it, and it
imports none of them (tests/test_architecture.py keeps it so).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

Document = dict[str, Any]

#: The methods an OpenAPI path item holds operations for, in the order capkit lists them.
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

try:
    #: The version of capkit, the distribution this package ships in.
    CAPKIT_VERSION = version("capkit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    CAPKIT_VERSION = "0+unknown"


class SpecUnreadable(OSError):
    """The file is missing, unreadable, or not a JSON/YAML mapping."""


class Unresolvable(LookupError):
    """A $ref that leads to no value of the document: outside it, to nothing, or round a loop."""


def bundled_path() -> Path:
    """The spec that ships with capkit: spec/v2.json, beside this module."""
    return Path(str(files(__name__).joinpath("v2.json")))


def load(path: str | Path | None = None) -> Document:
    """Read the OpenAPI document at PATH, or the bundled spec; raise SpecUnreadable."""
    source = Path(path) if path is not None else bundled_path()
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SpecUnreadable(f"cannot read {source}: {error}") from error
    try:
        document = json.loads(text) if source.suffix == ".json" else load_yaml(text)
    except ValueError as error:
        raise SpecUnreadable(f"cannot parse {source}: {error}") from error
    except RecursionError:
        raise SpecUnreadable(f"cannot parse {source}: it is nested too deep to be read") from None
    if not isinstance(document, dict):
        raise SpecUnreadable(
            f"{source} holds a {type(document).__name__}, expected an OpenAPI document (a mapping)"
        )
    return document


def operations(document: Mapping[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) of each operation of DOCUMENT, in the document's order."""
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def follow(document: Any, node: Any, pointer: str = "") -> tuple[str, Any]:
    """Where the chain of local $refs from NODE (found at POINTER) ends, and what is there.

    Raises Unresolvable for a $ref outside DOCUMENT, one that names nothing in it, or a chain
    that comes back to a $ref it has followed.
    """
    followed = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#"):
            raise Unresolvable(f"$ref {ref!r} is not a place in this document")
        if ref in followed:
            raise Unresolvable(f"$ref {ref!r} leads back to itself")
        followed.add(ref)
        pointer = unquote(ref[1:])
        try:
            node = lookup(document, pointer)
        except LookupError:
            raise Unresolvable(f"$ref {ref!r} names nothing in the document") from None
    return pointer, node


def lookup(document: Any, pointer: str) -> Any:
    """The value at the JSON POINTER in DOCUMENT ("" is all of it); raise LookupError if none."""
    if pointer and not pointer.startswith("/"):
        raise LookupError(f"{pointer!r} is not a JSON pointer")
    node = document
    for token in pointer.split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, Mapping) and token in node:
            node = node[token]
        else:
            raise LookupError(f"{pointer!r} names nothing in the document")
    return node


def join(pointer: str, *segments: str | int) -> str:
    """The JSON POINTER extended by SEGMENTS: join("/paths", "/customers") is /paths/~1customers."""
    return pointer + "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in segments)


def server_path(document: Mapping[str, Any]) -> str:
    """The path of the document's first server, its variables at their defaults: /v2."""
    servers = document.get("servers") or [{"url": "/"}]
    url = str(servers[0].get("url", "/"))
    for name, variable in servers[0].get("variables", {}).items():
        url = url.replace("{" + name + "}", str(variable.get("default", "")))
    return urlsplit(url).path.rstrip("/")


def field_path(path: Iterable[str | int]) -> str:
    """The field at PATH inside a value, as a reader writes it: profiles[0].identifiers[1].value."""
    field = ""
    for step in path:
        field += f"[{step}]" if isinstance(step, int) else (f".{step}" if field else str(step))
    return field


class YamlUnreadable(ValueError):
    """Text that is not YAML; the message says where it stops being."""


#: How many values a YAML text may stand for, per byte of it, its aliases copied out.
_VALUES_PER_BYTE = 10


def load_yaml(text: str) -> Any:
    """YAML TEXT as the JSON it stands for: dates stay strings, keys are strings. Raises
    YamlUnreadable."""
    # Imported here, where a YAML file is read: importing yaml took 25 ms of every start of
    # the mock, which reads none unless given one.
    import yaml

    # An alias (*name) stands for a copy of what its anchor names: a few lines aliasing each
    # other stand for billions of values ("a billion laughs"), which copying would take all
    # the memory there is. YAML without aliases holds about a value per byte at most.
    budget = [max(len(text), 1000) * _VALUES_PER_BYTE]
    try:
        # yaml.load with a (C)SafeLoader subclass: as safe as yaml.safe_load.
        return _stringify_keys(yaml.load(text, Loader=_json_like_loader()), budget)
    except yaml.YAMLError as error:
        raise YamlUnreadable(str(error)) from None
    except RecursionError:
        raise YamlUnreadable("it is nested too deep to be read") from None


@functools.cache
def _json_like_loader() -> Any:
    """yaml's SafeLoader, but YAML as a JSON document means it: dates stay strings. On
    libyaml (PyYAML's wheels have it): a seed file of 3,000 customers took 1.05 s of CPU
    against 3.78 in PyYAML's Python, and 20 KB nested 10,000 deep is refused in 3 ms, where
    PyYAML took 1.7 s (27 s in a busy test run) to reach Python's recursion limit."""
    import yaml

    class JsonLikeLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    # Without this, `expiryDate: 2125-05-05` would load as a datetime.date and no longer
    # match `type: string` in the examples it belongs to.
    JsonLikeLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return JsonLikeLoader


def _stringify_keys(node: Any, budget: list[int]) -> Any:
    """NODE as JSON has it, each alias a copy; YamlUnreadable once that makes more values
    than BUDGET (the values left, counted down)."""
    budget[0] -= 1
    if budget[0] < 0:
        raise YamlUnreadable(
            f"its aliases (*name) stand for more than {_VALUES_PER_BYTE} values per byte of it"
        )
    # Unquoted response codes (`200:`) load as integers; JSON would have them as strings.
    if isinstance(node, dict):
        return {str(key): _stringify_keys(value, budget) for key, value in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(item, budget) for item in node]
    if isinstance(node, float) and not math.isfinite(node):
        raise YamlUnreadable(f"it holds {node} (.inf or .nan), which JSON has no number for")
    if node is not None and not isinstance(node, str | int | float):  # bool is an int
        raise YamlUnreadable(
            f"it holds a {type(node).__name__} ({str(node)[:40]}), which JSON has no value for:"
            " a tag such as !!timestamp, !!binary or !!set makes one; quote it as a string"
        )
    return node
