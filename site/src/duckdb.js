// DuckDB-WASM for the release page, bundled with Apache Arrow into one ES module. Only the "eh"
// build ships (WebAssembly exceptions: every current browser); its worker and wasm lie next to
// this file, so the page loads nothing from a third party. Pinned to @duckdb/duckdb-wasm 1.28.0
// (DuckDB 0.9.1), the last release whose wasm links the Parquet reader in: from 1.29 on, Parquet
// is an extension fetched at run time from extensions.duckdb.org, a third party the page must not
// call, and no registry package ships its wasm.
import * as duckdb from "@duckdb/duckdb-wasm";

export async function openDuckDB() {
  const here = new URL(".", import.meta.url);
  const worker = new Worker(new URL("duckdb-browser-eh.worker.js", here));
  const db = new duckdb.AsyncDuckDB(new duckdb.VoidLogger(), worker);
  await db.instantiate(new URL("duckdb-eh.wasm", here).href);
  return db;
}

// Each table of the release read over HTTP with range requests: only the footer and the row
// groups and columns a query needs are fetched.
export async function registerParquet(db, name, url) {
  await db.registerFileURL(name, url, duckdb.DuckDBDataProtocol.HTTP, false);
}
