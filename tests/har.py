"""What HAR 1.2 requires of a log (http://www.softwareishard.com/blog/har-12-spec/), as HAR
validators (har-validator, the browsers' importers) check it: every object its fields."""

from __future__ import annotations

from typing import Any

#: The fields HAR 1.2 requires, by object.
_REQUIRED = {
    "log": {"version", "creator", "entries"},
    "creator": {"name", "version"},
    "entry": {"startedDateTime", "time", "request", "response", "cache", "timings"},
    "request": {
        *("method", "url", "httpVersion", "cookies", "headers"),
        *("queryString", "headersSize", "bodySize"),
    },
    "response": {
        *("status", "statusText", "httpVersion", "cookies", "headers"),
        *("content", "redirectURL", "headersSize", "bodySize"),
    },
    "content": {"size", "mimeType"},
    "timings": {"send", "wait", "receive"},
}


def missing(har: dict[str, Any]) -> list[str]:
    """Each field HAR 1.2 requires that HAR lacks, as `entries[3].cache`."""
    log = har.get("log", {})
    found = [f"log.{field}" for field in sorted(_REQUIRED["log"] - log.keys())]
    found += [f"log.creator.{field}" for field in _lacks("creator", log.get("creator", {}))]
    for number, entry in enumerate(log.get("entries", [])):
        at = f"entries[{number}]"
        found += [f"{at}.{field}" for field in _lacks("entry", entry)]
        for part in ("request", "response", "timings"):
            found += [f"{at}.{part}.{field}" for field in _lacks(part, entry.get(part, {}))]
        content = entry.get("response", {}).get("content", {})
        found += [f"{at}.response.content.{field}" for field in _lacks("content", content)]
    return found


def _lacks(kind: str, found: dict[str, Any]) -> list[str]:
    return sorted(_REQUIRED[kind] - found.keys())
