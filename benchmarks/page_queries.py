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
from pipelines.publish.page import EXAMPLES  # noqa: E402
from tests.conftest import chromium_path  # noqa: E402
from tests.test_release_page import Recorder  # noqa: E402


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
        for number, (title, _) in enumerate(EXAMPLES):
            context = browser.new_context()
            page = context.new_page()
            page.goto(f"{base}/{release.relative_to(out).as_posix()}/index.html")
            before = len(recorder.seen)
            started = time.perf_counter()
            page.click(f'button[data-exemple="{number}"]')
            page.wait_for_function("document.querySelector('#console-etat').textContent.includes('ligne')"
                                   " || document.querySelector('#console-etat').textContent.includes('Erreur')",
                                   timeout=600_000)
            seconds = time.perf_counter() - started
            status = page.locator("#console-etat").inner_text()
            parquet = [e for e in recorder.seen[before:] if e["path"].endswith(".parquet")]
            read = recorder.parquet_bytes(before)
            print(f"\n{title}\n  {status}; {seconds:.1f} s in all (DuckDB-WASM's start included), "
                  f"{len(parquet)} requests for Parquet")
            for name, count in sorted(read.items()):
                print(f"  {name}: {count / 1e6:.2f} MB read of {sizes[name] / 1e6:.2f} MB "
                      f"({100 * count / sizes[name]:.1f} %)")
            context.close()
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
