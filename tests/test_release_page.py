"""The release page (`releases/<id>/index.html`) served by `flows serve`'s server and opened in the
system's Chromium: a territory search leads to its figures, the console's two example queries
give what DuckDB gives on the same files, no console error, and no request leaves the server."""

from __future__ import annotations

import json
import threading

import duckdb
import pytest

from .conftest import latest

BUGEY = "200040350"


class Recorder:
    """The requests the server answered: path, Range header, status and bytes sent."""

    def __init__(self):
        self.seen: list[dict] = []
        self.lock = threading.Lock()

    def handler(self):
        from pipelines.commands.serve import RangeRequestHandler

        recorder = self

        class Recording(RangeRequestHandler):
            def send_response(self, code, message=None):
                self._entry = {"path": self.path, "range": self.headers.get("Range"), "status": code, "bytes": 0}
                with recorder.lock:
                    recorder.seen.append(self._entry)
                super().send_response(code, message)

            def send_header(self, keyword, value):
                if keyword.lower() == "content-length" and self.command != "HEAD" and hasattr(self, "_entry"):
                    self._entry["bytes"] = int(value)
                super().send_header(keyword, value)

        return Recording

    def parquet_bytes(self, since: int = 0) -> dict[str, int]:
        totals: dict[str, int] = {}
        for entry in self.seen[since:]:
            if entry["path"].endswith(".parquet"):
                name = entry["path"].rsplit("/", 1)[1]
                totals[name] = totals.get(name, 0) + entry["bytes"]
        return totals


@pytest.fixture(scope="module")
def site(release):
    from pipelines.commands.serve import make_server

    recorder = Recorder()
    server = make_server(release, 0, handler_class=recorder.handler(), quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", recorder
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def page(site, release, browser):
    base, recorder = site
    context = browser.new_context()
    outside: list[str] = []

    def only_local(route):  # every request, the DuckDB worker's included, goes through here
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    page.goto(f"{base}/{latest(release).relative_to(release).as_posix()}/index.html")
    yield page
    assert outside == [], f"requests that left the local server: {outside}"
    context.close()


def release_connection(release) -> duckdb.DuckDBPyConnection:
    """DuckDB on the same files, with the views the page creates."""
    con = duckdb.connect()
    for path in latest(release).glob("*.parquet"):
        con.execute(f"CREATE VIEW {path.stem} AS SELECT * FROM read_parquet('{path}')")
    return con


def shown_rows(page, selector: str) -> list[list]:
    return page.eval_on_selector_all(
        f"{selector} tbody tr",
        "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.dataset.value === '' ? null : JSON.parse(td.dataset.value)))")


def same_rows(shown: list[list], expected: list[tuple]) -> bool:
    assert len(shown) == len(expected)
    for got, want in zip(shown, expected):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            if isinstance(w, float):
                assert g == pytest.approx(w, rel=1e-12, abs=1e-9)
            else:
                assert g == w
    return True


def test_the_page_describes_the_release_from_its_manifest(page, release):
    manifest = json.loads((latest(release) / "manifest.json").read_text())
    for name, table in manifest["tables"].items():
        article = page.locator(f"#table-{name}")
        assert article.is_visible()
        assert f"{table['rows']:,}".replace(",", " ") in article.inner_text()
        assert article.locator(f'a[href="{table["file"]}"]').count() == 1
    assert page.locator("section[aria-labelledby=sources] tbody tr").count() == len(manifest["sources"])
    assert "insee_mobpro_flux" in page.locator("section[aria-labelledby=ecartees]").inner_text()


def test_a_territory_search_leads_to_its_figures_and_partners(page, release):
    page.fill("#recherche", "bugey")
    button = page.locator(f'#resultats-recherche button[data-code="{BUGEY}"]')
    button.wait_for(timeout=60_000)
    button.click()
    page.locator('#territoire section.flux[data-kind="wage_income"]').wait_for(timeout=60_000)
    con = release_connection(release)
    years = con.execute(f"SELECT count(*) FROM territory_indicators WHERE level = 'epci' AND code = '{BUGEY}'").fetchone()[0]
    assert len(shown_rows(page, "#territoire .indicateurs")) == years
    top = con.execute(f"""SELECT code_b, workers_a_to_b FROM interdependencies_latest
        WHERE level = 'epci' AND code_a = '{BUGEY}' AND workers_a_to_b > 0 ORDER BY workers_a_to_b DESC, code_b LIMIT 5""").fetchall()
    commuters = shown_rows(page, '#territoire section.flux[data-kind="commuters"] > div.defile:nth-of-type(1)')
    assert [(r[0], r[3]) for r in commuters] == [(c, pytest.approx(w)) for c, w in top]
    assert commuters[0][4].startswith(f"flows dossier {BUGEY} {top[0][0]} --level epci --release http://127.0.0.1:")
    assert page.locator("#territoire figure.carte circle").count() >= 2


@pytest.mark.parametrize("example", [0, 1], ids=["readme_pair", "epci_flows"])
def test_the_example_queries_give_what_duckdb_gives(page, site, release, example):
    from pipelines.publish.page import EXAMPLES

    _, recorder = site
    before = len(recorder.seen)
    page.click(f'button[data-exemple="{example}"]')
    page.locator("#console-resultat table").wait_for(timeout=60_000)
    page.wait_for_function("document.querySelector('#console-etat').textContent.includes('ligne')")
    expected = release_connection(release).execute(EXAMPLES[example][1]).fetchall()
    assert expected and same_rows(shown_rows(page, "#console-resultat"), expected)
    assert page.locator("#console-csv").is_visible()
    read = recorder.parquet_bytes(before)
    sizes = {p.name: p.stat().st_size for p in latest(release).glob("*.parquet")}
    print(f"example {example}: bytes read per file {read} of {({n: sizes[n] for n in read})}")
    assert all(entry["status"] in (200, 206) for entry in recorder.seen[before:])
    assert page.problems == []


def test_the_csv_download_holds_the_result(page, release):
    from pipelines.publish.page import EXAMPLES

    page.click('button[data-exemple="1"]')
    page.wait_for_function("document.querySelector('#console-etat').textContent.includes('ligne')")
    with page.expect_download() as download:
        page.click("#console-csv")
    text = open(download.value.path(), encoding="utf-8").read().splitlines()
    expected = release_connection(release).execute(EXAMPLES[1][1]).fetchall()
    assert text[0] == "flow_kind,year,origin_code,destination_code,value,unit,method"
    assert len(text) == len(expected) + 1
    assert text[1].split(",")[:4] == [str(v) for v in expected[0][:4]]


def test_the_page_works_with_the_keyboard_on_a_phone_sized_screen(site, release, browser):
    base, _ = site
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{base}/{latest(release).relative_to(release).as_posix()}/index.html")
    # nothing wider than the screen: wide tables scroll inside their own box
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.focus("#recherche")
    page.keyboard.type("Ambérieu")
    page.keyboard.press("Enter")
    first = page.locator("#resultats-recherche button").first
    first.wait_for(timeout=60_000)
    first.focus()
    page.keyboard.press("Enter")
    page.locator('#territoire section.flux[data-kind="commuters"]').wait_for(timeout=60_000)
    assert page.evaluate("document.activeElement.id") == "territoire-titre"  # focus follows the figures
    assert "Ambérieu-en-Bugey" in page.locator("#territoire-titre").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()
