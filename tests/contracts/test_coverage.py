"""contracts.coverage: the statuses and documented error codes that a run's answers reached."""

from __future__ import annotations

import json

import spec
from contracts.coverage import CoverageCounter, OperationCoverage, operations_of

DOCUMENT = spec.load()
LOOKUP = "GET /customers/lookup"
REGISTER = "POST /customers"


def envelope(*codes: int) -> str:
    return json.dumps(
        {"warnings": [], "errors": [{"status": False, "code": c, "message": ""} for c in codes]}
    )


def of(counter: CoverageCounter, label: str) -> OperationCoverage:
    return next(o for o in counter.coverage().operations if o.label == label)


def test_every_operation_of_the_spec_is_counted_with_what_it_declares() -> None:
    coverage = CoverageCounter(DOCUMENT).coverage()
    assert [o.label for o in coverage.operations] == [
        label for label, _, _ in operations_of(DOCUMENT)
    ]
    lookup = next(o for o in coverage.operations if o.operation_id == "lookupCustomer")
    assert lookup.declared_statuses == (200, 400, 401, 429, 500, 503)
    # Its errNNNN examples, without the generic 400 (err400) and the 401, which are statuses.
    assert lookup.documented_codes == (
        (400, 8011),
        (400, 8013),
        (400, 8015),
        (400, 8045),
        (400, 8065),
    )
    assert coverage.reached_operations == 0 and coverage.reached_codes == 0


def test_answers_reach_statuses_and_the_documented_codes_they_carry() -> None:
    counter = CoverageCounter(DOCUMENT)
    counter.add(LOOKUP, 200, '{"entity": 306, "warnings": []}')
    counter.add(LOOKUP, 400, envelope(8015))
    counter.add(LOOKUP, 400, envelope(8011, 400))
    counter.add(LOOKUP, 400, envelope(9999))  # a code lookup does not document
    counter.add(LOOKUP, 405, "")  # a status it does not declare
    counter.add(LOOKUP, 502, "<html>not JSON</html>")
    counter.add("GET /nowhere", 200, "{}")  # no operation of the spec: ignored
    lookup = of(counter, LOOKUP)
    assert lookup.answers == 6
    assert lookup.received_statuses == (200, 400, 405, 502)
    assert lookup.undeclared_statuses == (405, 502)
    assert lookup.reached_codes == ((400, 8011), (400, 8015))
    assert lookup.undocumented_codes == ((400, 9999),)


def test_a_code_counts_under_the_status_it_came_with() -> None:
    counter = CoverageCounter(DOCUMENT)
    counter.add(LOOKUP, 401, envelope(8015))  # 8015 is documented for a 400, not a 401
    assert of(counter, LOOKUP).reached_codes == ()


def test_the_line_counts_operations_and_codes_of_the_whole_spec() -> None:
    counter = CoverageCounter(DOCUMENT)
    counter.add(LOOKUP, 400, envelope(8015))
    counter.add(REGISTER, 400, envelope(8003, 8006))
    coverage = counter.coverage()
    operations = len(list(operations_of(DOCUMENT)))
    documented = sum(len(o.documented_codes) for o in coverage.operations)
    assert coverage.line() == (
        f"coverage: 2/{operations} operations, 3/{documented} documented error codes"
    )
    assert coverage.statuses == (200, 400, 401, 413, 415, 429, 500, 503)


def test_an_operation_answered_only_an_undeclared_404_is_not_reached() -> None:
    # The target serves no such path: the URL is not where it serves the API.
    counter = CoverageCounter(DOCUMENT)
    counter.add(LOOKUP, 404, "Not Found")
    assert counter.coverage().reached_operations == 0
    counter.add(REGISTER, 404, "Not Found")
    counter.add(REGISTER, 400, envelope(8003))
    assert counter.coverage().reached_operations == 1
