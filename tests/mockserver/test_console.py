"""The console at / of a running `capkit serve`, in a real browser (tests/browser.py): the API
reference with "try it", the live traffic, the state; at a laptop's and a phone's width."""

from __future__ import annotations

import gzip
import hashlib
import json
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import Browser, Page, Route, expect

import spec
from contracts import verify_har
from mockserver.chaos import FAULT_KINDS
from tests.browser import PHONE, visiting
from tests.mockserver.test_rehearsal import BECKY
from tests.mockserver.test_server import (
    LOOKUP_306,
    Reply,
    Server,
    register,
    registration,
    running,
)
from tests.mockserver.test_server import TILL as CREDENTIALS

#: The till the mock is pinned to, and what Capillary takes for its password: the md5.
TILL, PASSWORD = "till", "secret"
LIVE_SECONDS = 2


@pytest.fixture(scope="module")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running(tmp_path_factory.mktemp("console"), "--auth", f"{TILL}:{PASSWORD}") as server:
        yield server


def console(mock: Server, panel: str = "") -> str:
    return f"http://127.0.0.1:{mock.port}/{panel and '#' + panel}"


def operation_ids() -> list[str]:
    return [
        operation["operationId"]
        for item in spec.load()["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    ]


def traffic_row(page: Page, text: str) -> object:
    return page.locator("#traffic-table tbody tr", has_text=text)


def test_the_reference_lists_every_operation_and_tries_them_on_this_mock(
    browser: Browser, mock: Server
) -> None:
    with visiting(browser, console(mock), screenshot="console-api") as page:
        page.wait_for_selector(".opblock")
        shown = page.locator(".opblock .opblock-summary-operation-id").all_inner_texts()
        assert sorted(shown) == sorted(operation_ids())
        # "Try it" goes to this mock, not to the Capillary cluster the spec names.
        assert page.locator(".servers select").input_value() == f"{console(mock).rstrip('/')}/v2"

        # Credentials once, as Capillary takes them: the till, and the md5 of its password.
        page.get_by_role("button", name="Authorize").first.click()
        page.fill("#auth-basic-username", TILL)
        page.fill("#auth-basic-password", hashlib.md5(PASSWORD.encode()).hexdigest())
        basic = page.locator(".auth-container").first
        basic.get_by_role("button", name="Apply credentials").click()
        basic.get_by_role("button", name="Close").click()
        lookup = page.locator("#operations-Customers-lookupCustomer")
        lookup.locator(".opblock-summary").click()
        lookup.get_by_role("button", name="Try it out").click()
        # The named example foundByMobile fills the fields; for `source`, an enum, Swagger UI
        # offers the first value instead, so the user picks the example's.
        identifier = lookup.locator("tr[data-param-name=identifierValue] input")
        expect(identifier).to_have_value("919111111111")
        source = lookup.locator("tr[data-param-name=source] select:not(.examples-select-element)")
        source.select_option("INSTORE")
        lookup.get_by_role("button", name="Execute").click()
        answer = lookup.locator(".live-responses-table .response-col_description pre").first
        expect(answer).to_contain_text('"entity": 306')
        status = lookup.locator(".live-responses-table tr.response .response-col_status")
        expect(status).to_have_text("200")


def test_a_request_of_any_client_shows_in_the_traffic_and_opens_with_the_keyboard(
    browser: Browser, mock: Server, tmp_path: Path
) -> None:
    mock.request("DELETE", "/__admin/requests")
    with visiting(browser, console(mock, "traffic"), screenshot="console-traffic") as page:
        expect(page.locator("#traffic-table")).to_be_visible()
        assert mock.request("GET", LOOKUP_306).status == 200
        refused = LOOKUP_306.replace("INSTORE", "MYSPACE")
        assert mock.request("GET", refused).status == 400
        good, bad = traffic_row(page, "source=INSTORE"), traffic_row(page, "source=MYSPACE")
        expect(bad).to_be_visible(timeout=LIVE_SECONDS * 1000)
        assert good.locator("td").all_inner_texts()[1:5] == [
            "GET",
            LOOKUP_306,
            "200",
            "",
        ]
        assert bad.locator("td.status").inner_text() == "400"
        assert bad.locator("td.code").inner_text() == "8011"
        assert "request conforms" in good.locator("td.verdict").first.inner_text()
        assert "request breaks the spec" in bad.locator("td.verdict").first.inner_text()
        assert "response conforms" in bad.locator("td.verdict").last.inner_text()

        page.fill("#traffic-filter input[name=path]", "source=INSTORE")
        expect(bad).to_be_hidden()
        expect(good).to_be_visible()
        page.fill("#traffic-filter input[name=path]", "")
        page.fill("#traffic-filter input[name=status]", "4xx")
        expect(good).to_be_hidden()
        expect(bad).to_be_visible()
        page.fill("#traffic-filter input[name=status]", "")
        page.fill("#traffic-filter input[name=code]", "8011")
        expect(good).to_be_hidden()
        expect(bad).to_be_visible()

        bad.focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#exchange")
        expect(dialog).to_be_visible()
        expect(dialog.locator(".problems")).to_contain_text("Operation lookupCustomer")
        expect(dialog.locator(".problems")).to_contain_text("query parameter 'source'")
        expect(dialog.locator(".headers").first).to_contain_text("Basic [Filtered]")
        page.screenshot(path=tmp_path / "dialog.png")

        dialog.get_by_role("button", name="Copy curl").click()
        curl = dialog.locator("pre.curl").inner_text()
        assert curl.startswith(f"curl -X GET 'http://127.0.0.1:{mock.port}{refused}'")
        assert "-H 'Authorization: Basic [Filtered]'" in curl

        with page.expect_download() as download:
            dialog.get_by_role("button", name="Export HAR").click()
        har = json.loads(Path(download.value.path()).read_text())
        [violation] = verify_har(har, spec.load())
        assert (violation.side, violation.field) == ("request", "query parameter 'source'")

        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(bad).to_be_focused()


def test_an_exchange_whose_url_does_not_parse_shows_its_target_and_the_traffic_goes_on(
    browser: Browser, mock: Server
) -> None:
    """A journal's URL that is no URL (a request with a Host that is no host, or an HTTP/1.0 one
    without any, recorded by a mock before they were named by the address that answered) is
    listed by its target as written, and replays on this mock; later exchanges still come."""
    mock.request("DELETE", "/__admin/requests")
    origin = f"http://127.0.0.1:{mock.port}"
    garbled = {
        f"{origin}/v2/customers/306?source=ALL": "http:///v2/customers/306?source=ALL",
        f"{origin}/v2/customers/307?source=ALL": "http://a:99999/v2/customers/307?source=ALL",
    }

    def served_garbled(route: Route) -> None:
        response = route.fetch()
        listed = response.json()
        for entry in listed.get("requests", []):
            entry["url"] = garbled.get(entry["url"], entry["url"])
        if "request" in listed:
            url = listed["request"]["url"]
            listed["request"]["url"] = garbled.get(url, url)
        route.fulfill(response=response, json=listed)

    with visiting(browser, console(mock, "traffic"), screenshot="console-garbled-url") as page:
        page.route("**/__admin/requests", served_garbled)
        page.route("**/__admin/requests/*", served_garbled)
        for path in ("/v2/customers/306?source=ALL", "/v2/customers/307?source=ALL"):
            mock.request("GET", path)
        paths = page.locator("#traffic-table tbody td.path")
        expect(paths).to_have_text(["/v2/customers/307?source=ALL", "/v2/customers/306?source=ALL"])
        mock.request("GET", LOOKUP_306)
        expect(paths.first).to_have_text(LOOKUP_306)

        traffic_row(page, "/v2/customers/306").click()
        dialog = page.locator("#exchange")
        expect(dialog.locator("h2")).to_have_text("GET /v2/customers/306?source=ALL → 200")
        dialog.get_by_role("button", name="Copy curl").click()
        expect(dialog.locator("pre.curl")).to_contain_text(
            f"curl -X GET '{origin}/v2/customers/306?source=ALL'"
        )


def replayed(mock: Server, command: str) -> Reply:
    """What MOCK answers the curl COMMAND (of Copy curl: -X, a URL, -H, --data-raw), sent as
    curl sends it, with the credentials the journal masks given as a user gives them."""
    words = shlex.split(command)
    assert words[:2] == ["curl", "-X"], command
    method, url, options = words[2], urlsplit(words[3]), words[4:]
    assert url.netloc == f"127.0.0.1:{mock.port}", command
    headers, data = {}, None
    for option, value in zip(options[::2], options[1::2], strict=True):
        if option == "-H":
            name, _, text = value.partition(": ")
            headers[name] = CREDENTIALS if name == "Authorization" else text
        else:
            assert option == "--data-raw", command
            data = value.encode()
    target = f"{url.path}?{url.query}" if url.query else url.path
    return mock.request(method, target, data=data, headers=headers, authorization=None)


def test_the_curl_of_a_gzipped_request_replays_it(browser: Browser, mock: Server) -> None:
    mobile = "919000015017"
    mock.request("DELETE", "/__admin/requests")
    with visiting(browser, console(mock, "traffic"), screenshot="console-gzip-curl") as page:
        body = gzip.compress(json.dumps(registration(mobile)).encode())
        path = "/v2/customers?source=INSTORE"
        sent = mock.request("POST", path, data=body, headers={"Content-Encoding": "gzip"})
        assert sent.status == 200
        traffic_row(page, "/v2/customers?source=INSTORE").click()
        dialog = page.locator("#exchange")
        dialog.get_by_role("button", name="Copy curl").click()
        command = dialog.locator("pre.curl").inner_text()
        assert "Content-Encoding" not in command
        # Sent again, the registration is read as the first was: the mobile is now taken.
        again = replayed(mock, command)
        assert (again.status, again.body["errors"][0]["code"]) == (400, 8006)
        assert (
            f"mobile '{mobile}' is registered to customer {sent.body['createdId']}"
            in (again.body["errors"][0]["message"])
        )
    mock.request("POST", "/__admin/reset")


def test_the_curl_of_a_request_in_a_coding_the_mock_refused_is_refused_again(
    browser: Browser, mock: Server
) -> None:
    mock.request("DELETE", "/__admin/requests")
    with visiting(browser, console(mock, "traffic"), screenshot="console-refused-coding") as page:
        path = "/v2/customers?source=INSTORE"
        body = json.dumps(registration("919000015018")).encode()
        sent = mock.request("POST", path, data=body, headers={"Content-Encoding": "compress"})
        assert sent.status == 415
        traffic_row(page, path).click()
        dialog = page.locator("#exchange")
        dialog.get_by_role("button", name="Copy curl").click()
        command = dialog.locator("pre.curl").inner_text()
        assert "-H 'Content-Encoding: compress'" in command
        assert replayed(mock, command).status == 415
    mock.request("POST", "/__admin/reset")


def test_reset_removes_a_registered_customer(browser: Browser, mock: Server) -> None:
    created = register(mock, "919000015015").body["createdId"]
    with visiting(browser, console(mock, "state"), screenshot="console-state") as page:
        page.fill("#state-filter input[name=find]", "919000015015")
        row = page.locator("#customers tbody tr")
        expect(row).to_have_count(1)
        expect(row.locator("td").first).to_have_text(str(created))
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Reset to the seed").click()
        expect(page.locator("#state-status")).to_contain_text("Reset")
        expect(row).to_have_count(0)
    customers = mock.request("GET", "/__admin/state").body["customers"]
    assert created not in [customer["id"] for customer in customers]


def test_with_many_customers_find_lists_a_bounded_number_and_says_how_many_matched(
    browser: Browser, mock: Server
) -> None:
    many = 450
    customers = [
        {
            "id": 700000 + n,
            "loyaltyInfo": {"loyaltyType": "loyalty"},
            "profiles": [
                {
                    "firstName": f"many{n}",
                    "source": "INSTORE",
                    "identifiers": [{"type": "mobile", "value": f"9190000{n:05d}"}],
                }
            ],
        }
        for n in range(many)
    ]
    assert mock.request("POST", "/__admin/seed", body={"customers": customers}).status == 200
    held = len(mock.request("GET", "/__admin/state").body["customers"])
    try:
        with visiting(browser, console(mock, "state"), screenshot="console-many") as page:
            rows, status = page.locator("#customers tbody tr"), page.locator("#state-status")
            expect(status).to_have_text(
                f"{held} of {held} customers; showing the first 200: refine the search."
            )
            expect(rows).to_have_count(200)

            find = page.locator("#state-filter input[name=find]")
            find.press_sequentially("many")
            expect(status).to_have_text(
                f"{many} of {held} customers; showing the first 200: refine the search."
            )
            expect(rows).to_have_count(200)
            expect(rows.first.locator("td").nth(1)).to_have_text("many0")

            find.press_sequentially("1")  # many1, many10-19, many100-199
            expect(status).to_have_text(f"111 of {held} customers.")
            expect(rows).to_have_count(111)
    finally:
        mock.request("POST", "/__admin/reset")


def test_at_a_phone_width_every_panel_fits_and_the_keyboard_moves_between_them(
    browser: Browser, mock: Server
) -> None:
    with visiting(browser, console(mock), screenshot="console-phone", viewport=PHONE) as page:
        page.wait_for_selector(".opblock")
        page.get_by_role("tab", name="API").focus()
        for panel, following in (("api", "traffic"), ("traffic", "state"), ("state", "api")):
            expect(page.locator(f"#{panel}-panel")).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], panel
            page.keyboard.press("ArrowRight")
            expect(page.locator(f"#{following}-panel")).to_be_visible()
            expect(page.get_by_role("tab", selected=True)).to_be_focused()


def test_the_first_tab_of_the_keyboard_reaches_the_tabs_on_any_panel_opened_by_its_link(
    browser: Browser, tmp_path: Path
) -> None:
    with running(tmp_path, "--admin-token", "s3cret") as guarded:
        for panel, opened in (("", "API"), ("state", "State"), ("traffic", "Traffic")):
            with visiting(browser, console(guarded, panel), screenshot="console-tab") as page:
                tab = page.get_by_role("tab", name=opened)
                expect(tab).to_have_attribute("aria-selected", "true")
                if not panel:
                    page.wait_for_selector(".opblock")
                page.keyboard.press("Tab")
                expect(tab).to_be_focused()
                page.keyboard.press("Tab")
                expect(page.get_by_label("Admin token")).to_be_focused()
                # Another panel's link followed from this page opens that panel.
                other, named = ("traffic", "Traffic") if panel == "state" else ("state", "State")
                page.goto(console(guarded, other))
                expect(page.get_by_role("tab", name=named)).to_have_attribute(
                    "aria-selected", "true"
                )


def test_the_rehearsal_switches_to_slow_and_failing_and_back_to_the_flags(
    browser: Browser, mock: Server
) -> None:
    wait = 0.3
    mock.request("DELETE", "/__admin/requests")
    try:
        with visiting(
            browser, console(mock, "state"), screenshot="console-rehearsal", refused=(400,)
        ) as page:
            form = page.locator("#rehearsal")
            expect(form.locator("#rehearsal-changed")).to_have_text(
                "In force: the flags' settings."
            )
            expect(form.locator("input[name=faults]")).to_have_value("0")

            # A value the mock cannot take is refused, naming the field, and changes nothing.
            form.locator("input[name=rateLimit]").fill("lots")
            form.get_by_role("button", name="Apply").click()
            expect(form.locator("#rehearsal-status")).to_contain_text("Not changed: rateLimit")
            expect(form.locator("input[name=rateLimit]")).to_have_attribute("aria-invalid", "true")
            assert mock.request("GET", "/__admin/chaos").body["changedAtRuntime"] == []

            form.locator("input[name=rateLimit]").fill("")
            form.locator("input[name=latency]").fill(f"{wait * 1000:g}ms")
            form.locator("input[name=faults]").fill("1")
            for kind in FAULT_KINDS:
                form.get_by_label(kind, exact=True).set_checked(kind == "503")
            form.get_by_role("button", name="Apply").click()
            expect(form.locator("#rehearsal-changed")).to_have_text(
                "Changed here: latency, faults, faultKinds."
            )
            slow_and_failing = mock.request("GET", "/__admin/chaos").body
            assert (slow_and_failing["latency"], slow_and_failing["faults"]) == (["300ms"], 1.0)
            assert slow_and_failing["faultKinds"] == ["503"]

            started = time.monotonic()
            failed = mock.request("GET", LOOKUP_306)
            assert failed.status == 503 and time.monotonic() - started >= wait
            page.get_by_role("tab", name="Traffic").click()
            row = traffic_row(page, "source=INSTORE")
            expect(row.locator("td.status")).to_have_text("503 fault=503")
            row.click()
            expect(page.locator("#exchange .problems")).to_contain_text("Rehearsed fault 503")
            page.keyboard.press("Escape")

            page.get_by_role("tab", name="State").click()
            form.get_by_role("button", name="Back to the flags").click()
            expect(form.locator("#rehearsal-changed")).to_have_text(
                "In force: the flags' settings."
            )
            expect(form.locator("input[name=latency]")).to_have_value("")
            assert mock.request("GET", LOOKUP_306).status == 200
    finally:
        mock.request("DELETE", "/__admin/chaos")


def test_settings_changed_elsewhere_show_on_reload_and_apply_changes_only_what_was_edited(
    browser: Browser, mock: Server
) -> None:
    try:
        with visiting(browser, console(mock, "state"), screenshot="console-elsewhere") as page:
            form, status = page.locator("#rehearsal"), page.locator("#rehearsal-status")
            expect(form.locator("#rehearsal-changed")).to_have_text(
                "In force: the flags' settings."
            )
            # Changed elsewhere (curl, another console): Reload shows it.
            assert mock.request("PUT", "/__admin/chaos", body={"chaosSeed": 7}).status == 200
            page.get_by_role("button", name="Reload").click()
            expect(form.locator("input[name=chaosSeed]")).to_have_value("7")
            expect(form.locator("#rehearsal-changed")).to_have_text("Changed here: chaosSeed.")

            # Changed elsewhere again, unseen: applying another setting keeps that change.
            changed = {"chaosSeed": 7, "rateLimit": "100/m"}
            assert mock.request("PUT", "/__admin/chaos", body=changed).status == 200
            form.locator("input[name=latency]").fill("10ms")
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text(
                "In force in every worker from now: latency."
                " Changed elsewhere meanwhile, kept: rateLimit."
            )
            expect(form.locator("input[name=rateLimit]")).to_have_value("100/m")
            settings = mock.request("GET", "/__admin/chaos").body
            assert (settings["latency"], settings["rateLimit"], settings["chaosSeed"]) == (
                ["10ms"],
                "100/m",
                7,
            )

            # A setting edited here that was changed elsewhere meanwhile is not overwritten.
            changed = {"chaosSeed": 7, "rateLimit": "100/m", "latency": "10ms", "faults": 0.2}
            assert mock.request("PUT", "/__admin/chaos", body=changed).status == 200
            form.locator("input[name=faults]").fill("0.5")
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text(
                "Not changed: faults changed elsewhere since shown;"
                " the form shows the settings in force now."
            )
            expect(form.locator("input[name=faults]")).to_have_value("0.2")
            assert mock.request("GET", "/__admin/chaos").body["faults"] == 0.2
    finally:
        mock.request("DELETE", "/__admin/chaos")


def test_apply_refuses_no_fault_kind_at_all(browser: Browser, mock: Server) -> None:
    """The mock takes no kinds (null) for all six: none ticked is refused in the form."""
    try:
        with visiting(browser, console(mock, "state"), screenshot="console-no-kind") as page:
            form = page.locator("#rehearsal")
            expect(form.locator("#rehearsal-changed")).to_have_text(
                "In force: the flags' settings."
            )
            form.locator("input[name=faults]").fill("1")
            for kind in FAULT_KINDS:
                form.get_by_label(kind, exact=True).uncheck()
            form.get_by_role("button", name="Apply").click()
            expect(form.locator("#rehearsal-status")).to_have_text(
                "Not changed: faultKinds: tick one kind at least (Faults at 0 turns faults off)."
            )
            expect(form.get_by_label(FAULT_KINDS[0], exact=True)).to_be_focused()
            settings = mock.request("GET", "/__admin/chaos").body
            assert (settings["faults"], settings["changedAtRuntime"]) == (0, [])
    finally:
        mock.request("DELETE", "/__admin/chaos")


def test_whole_numbers_beyond_2_to_the_53_show_and_go_back_exact(
    browser: Browser, mock: Server, tmp_path: Path
) -> None:
    """A chaos seed or a customer id of more digits than a JavaScript Number holds exactly
    (9007199254740993 is ...992 as one) is shown, opened and sent back as its digits."""
    big = 2**53 + 1

    def customer(number: int, name: str) -> dict[str, object]:
        mobile = [{"type": "mobile", "value": f"91900{number % 10**7:07d}"}]
        return BECKY | {
            "id": number,
            "profiles": [{"firstName": name, "source": "INSTORE", "identifiers": mobile}],
        }

    assert mock.request("PUT", "/__admin/chaos", body={"chaosSeed": big}).status == 200
    seeded = {"customers": [customer(big - 1, "Bigeven")]}
    assert mock.request("POST", "/__admin/seed", body=seeded).status == 200
    upload = tmp_path / "bigodd.json"
    upload.write_text(json.dumps({"customers": [customer(big, "Bigodd")]}))
    try:
        with visiting(browser, console(mock, "state"), screenshot="console-big") as page:
            form, status = page.locator("#rehearsal"), page.locator("#rehearsal-status")
            seed = form.locator("input[name=chaosSeed]")
            expect(seed).to_have_value(str(big))
            page.get_by_label("Upload seed…").set_input_files(upload)
            expect(page.locator("#seed-status")).to_contain_text(
                f"bigodd.json: added 1 customer(s), {big}, until"
            )

            page.fill("#state-filter input[name=find]", "bigodd")
            rows = page.locator("#customers tbody tr")
            expect(rows.locator("td").first).to_have_text(str(big))
            page.fill("#state-filter input[name=find]", "big")
            expect(rows).to_have_count(2)
            assert sorted(rows.locator("td:first-child").all_inner_texts()) == [
                str(big - 1),
                str(big),
            ]
            rows.filter(has_text="Bigodd").click()
            dialog = page.locator("#customer")
            expect(dialog.locator("h2")).to_have_text(f"Customer {big}")
            expect(dialog.locator(".json")).to_contain_text(f'"id": {big},')
            page.keyboard.press("Escape")

            # Another setting applied leaves the seed as it was.
            form.locator("input[name=latency]").fill("10ms")
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text("In force in every worker from now: latency.")
            assert mock.request("GET", "/__admin/chaos").body["chaosSeed"] == big

            # A seed of 24 digits is kept too, as JSON's whole number.
            huge = 10**23
            changed = {"chaosSeed": huge, "latency": "10ms"}
            assert mock.request("PUT", "/__admin/chaos", body=changed).status == 200
            page.get_by_role("button", name="Reload").click()
            expect(seed).to_have_value(str(huge))
            form.locator("input[name=latency]").fill("20ms")
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text("In force in every worker from now: latency.")
            settings = mock.request("GET", "/__admin/chaos").body
            assert (settings["chaosSeed"], settings["latency"]) == (huge, ["20ms"])
            seed.fill(str(big + 2))
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text("In force in every worker from now: chaosSeed.")
            assert mock.request("GET", "/__admin/chaos").body["chaosSeed"] == big + 2

            # The traffic shows the mock's answer as it was sent.
            assert mock.request("GET", f"/v2/customers/{big}?source=INSTORE").status == 200
            page.get_by_role("tab", name="Traffic").click()
            traffic_row(page, f"/v2/customers/{big}").click()
            response = page.locator("#exchange .sides section").last
            expect(response.locator("pre")).to_contain_text(f'"id": {big},')
    finally:
        mock.request("DELETE", "/__admin/chaos")
        mock.request("POST", "/__admin/reset")


def test_the_seed_downloads_and_an_uploaded_one_adds_its_customers(
    browser: Browser, mock: Server, tmp_path: Path
) -> None:
    mock.request("POST", "/__admin/reset")
    good, bad = tmp_path / "becky.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"customers": [BECKY]}))
    also_good = tmp_path / "ann.yaml"  # YAML, as --seed reads a file named so
    mobile = [{"type": "mobile", "value": "919900000017"}]
    ann = BECKY | {
        "id": 900017,
        "profiles": [{"firstName": "Ann", "source": "INSTORE", "identifiers": mobile}],
    }
    also_good.write_text(yaml.safe_dump({"customers": [ann]}))
    misspelt = {**BECKY, "id": 900016, "loyaltyInfo": {"loyaltyTyp": "loyalty"}}
    bad.write_text(json.dumps({"customers": [misspelt]}))
    try:
        with visiting(
            browser, console(mock, "state"), screenshot="console-seed", refused=(400,)
        ) as page:
            with page.expect_download() as download:
                page.get_by_role("link", name="Download seed").click()
            saved = json.loads(Path(download.value.path()).read_text())
            assert saved == mock.request("GET", "/__admin/seed").body
            assert 306 in [customer["id"] for customer in saved["customers"]]

            upload = page.get_by_label("Upload seed…")
            upload.set_input_files(bad)
            status = page.locator("#seed-status")
            expect(status).to_contain_text("bad.json is refused, nothing was added")
            expect(status).to_contain_text("loyaltyTyp")

            upload.set_input_files(good)
            expect(status).to_contain_text("becky.json: added 1 customer(s), 900001")
            upload.set_input_files(also_good)
            expect(status).to_contain_text("ann.yaml: added 1 customer(s), 900017")
            page.fill("#state-filter input[name=find]", "919900000001")
            expect(page.locator("#customers tbody tr")).to_have_count(1)
        held = [
            customer["id"] for customer in mock.request("GET", "/__admin/state").body["customers"]
        ]
        assert 900001 in held and 900017 in held and 900016 not in held
    finally:
        mock.request("POST", "/__admin/reset")


def test_with_the_mock_stopped_changes_say_so_and_the_reference_loads_once_it_is_back(
    browser: Browser, tmp_path: Path
) -> None:
    upload = tmp_path / "becky.json"
    upload.write_text(json.dumps({"customers": [BECKY]}))

    def put_refused(route: Route) -> None:
        if route.request.method == "PUT":
            route.abort("connectionrefused")
        else:
            route.continue_()

    with running(tmp_path) as stopped:
        with visiting(
            browser, console(stopped, "state"), screenshot="console-stopped", unreachable=True
        ) as page:
            form, status = page.locator("#rehearsal"), page.locator("#rehearsal-status")
            expect(form.locator("input[name=faults]")).to_have_value("0")
            # The mock stops between Apply's read of the settings and its change.
            page.route("**/__admin/chaos", put_refused)
            form.locator("input[name=latency]").fill("10ms")
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text("Not changed: Failed to fetch")
            page.unroute("**/__admin/chaos")

            stopped.kill()
            form.get_by_role("button", name="Apply").click()
            expect(status).to_have_text("Not changed: Failed to fetch")
            page.get_by_label("Upload seed…").set_input_files(upload)
            expect(page.locator("#seed-status")).to_have_text(
                "Not added: becky.json: Failed to fetch"
            )
            api = page.get_by_role("tab", name="API")
            api.click()
            expect(page.locator("#api-status")).to_have_text(
                "The API reference cannot be loaded: Failed to fetch."
                " Select the API tab to try again."
            )

            with running(tmp_path, port=stopped.port):
                page.get_by_role("tab", name="Traffic").click()
                api.click()
                expect(page.locator(".opblock").first).to_be_visible()
                expect(page.locator("#api-status")).to_be_hidden()


def test_with_an_admin_token_a_reset_waits_for_the_token_entered_once(
    browser: Browser, tmp_path: Path
) -> None:
    with running(tmp_path, "--admin-token", "s3cret") as guarded:
        created = register(guarded, "919000015016").body["createdId"]
        with visiting(
            browser, console(guarded, "state"), screenshot="console-admin-token", refused=(401,)
        ) as page:
            reset = page.get_by_role("button", name="Reset to the seed")
            page.on("dialog", lambda dialog: dialog.accept())
            reset.click()
            expect(page.locator("#state-status")).to_contain_text("Not reset: POST /__admin/reset")
            token = page.get_by_label("Admin token")
            expect(token).to_be_focused()
            expect(token).to_have_attribute("aria-invalid", "true")
            assert created in [
                c["id"] for c in guarded.request("GET", "/__admin/state").body["customers"]
            ]

            token.fill("s3cret")
            reset.click()
            expect(page.locator("#state-status")).to_contain_text("Reset")
            page.reload()  # the tab keeps the token
            expect(page.get_by_label("Admin token")).to_have_value("s3cret")
        customers = guarded.request("GET", "/__admin/state").body["customers"]
        assert created not in [customer["id"] for customer in customers]


def test_with_an_admin_token_a_refused_clear_is_said_until_the_user_acts(
    browser: Browser, tmp_path: Path
) -> None:
    with running(tmp_path, "--admin-token", "s3cret") as guarded:
        with visiting(
            browser, console(guarded, "traffic"), screenshot="console-clear", refused=(401,)
        ) as page:
            status = page.locator("#traffic-status")
            expect(status).to_have_text("No request under /v2 yet.")
            page.get_by_role("button", name="Clear").click()
            expect(status).to_contain_text("Not cleared: DELETE /__admin/requests")
            # The traffic goes on, and the refusal is still said.
            assert guarded.request("GET", LOOKUP_306).status == 200
            expect(traffic_row(page, "source=INSTORE")).to_be_visible()
            expect(status).to_contain_text("Not cleared: DELETE /__admin/requests")

            page.fill("#traffic-filter input[name=path]", "lookup")
            expect(status).to_have_text("")


def test_without_an_admin_token_the_console_asks_for_none(browser: Browser, mock: Server) -> None:
    with visiting(browser, console(mock, "state"), screenshot="console-no-token") as page:
        expect(page.locator("#customers tbody tr").first).to_be_visible()
        expect(page.get_by_label("Admin token")).to_have_count(0)
