"""What the release page's example queries read: bytes fetched per Parquet file, each query run
alone in a fresh browser (nothing cached), the release served by `flows serve`'s server.

    .venv/bin/python benchmarks/page_queries.py OUTPUT_DIR

OUTPUT_DIR is a published directory (FLOWS_OUTPUT, holding latest.json and site/), e.g. the
national benchmark's. Prints, per example, the seconds to the result, the requests and the bytes
read against the sizes of the files it touched. Needs the system's Chromium (as the tests).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from pipelines.commands.serve import make_server  # noqa: E402
from pipelines.publish.page import EXAMPLES, PAIR  # noqa: E402
from tests.conftest import chromium_path  # noqa: E402
from tests.test_release_page import Recorder  # noqa: E402


def busiest_pair(release: Path) -> tuple[str, str]:
    import duckdb

    return duckdb.sql(f"""SELECT code_a, code_b FROM '{release / "interdependencies_latest.parquet"}'
        WHERE level = 'epci' ORDER BY workers_a_to_b DESC NULLS LAST LIMIT 1""").fetchone()


def run(page, sql: str) -> str:
    page.fill("#requete", sql)
    page.evaluate("document.querySelector('#console-etat').textContent = ''")
    page.click("#executer")
    page.wait_for_function("/ligne|Erreur/.test(document.querySelector('#console-etat').textContent)", timeout=600_000)
    return page.locator("#console-etat").inner_text()


def main() -> None:
    from playwright.sync_api import sync_playwright

    out = Path(sys.argv[1]).resolve()
    release = out / json.loads((out / "latest.json").read_text())["path"]
    recorder = Recorder()
    server = make_server(out, 0, handler_class=recorder.handler(), quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    sizes = {p.name: p.stat().st_size for p in release.glob("*.parquet")}
    print(f"release {release.name}: {sum(sizes.values()) / 1e6:.1f} MB of Parquet in {len(sizes)} files")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        pair = busiest_pair(release)
        print(f"the examples' pair: {pair} (the EPCI pair with the most commuters, for the README's)")
        for title, sql in EXAMPLES:
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/{release.relative_to(out).as_posix()}/index.html")
            before = len(recorder.seen)
            started = time.perf_counter()
            run(page, "SELECT 1")  # DuckDB-WASM starts and opens every table (it reads their footers)
            opened, opening = len(recorder.seen), time.perf_counter() - started
            started = time.perf_counter()
            status = run(page, sql.replace(PAIR[0], pair[0]).replace(PAIR[1], pair[1]))
            seconds = time.perf_counter() - started
            footers = sum(recorder.parquet_bytes(before).values()) - sum(recorder.parquet_bytes(opened).values())
            print(f"\n{title}\n  opening: {opening:.1f} s, {footers / 1e6:.2f} MB "
                  f"of Parquet footers\n  query: {status}; {seconds:.2f} s, "
                  f"{sum(e['path'].endswith('.parquet') for e in recorder.seen[opened:])} requests")
            for name, count in sorted(recorder.parquet_bytes(opened).items()):
                print(f"  {name}: {count / 1e6:.2f} MB read of {sizes[name] / 1e6:.2f} MB "
                      f"({100 * count / sizes[name]:.1f} %)")
            context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
