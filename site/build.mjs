// Writes dist/: the shared `site/` folder published beside the releases (the page's script and
// style, and DuckDB-WASM bundled from its npm package with its worker and wasm).
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync } from "node:fs";

const wasm = "node_modules/@duckdb/duckdb-wasm/dist/";
rmSync("dist", { recursive: true, force: true });
mkdirSync("dist/duckdb", { recursive: true });
await build({
  entryPoints: ["src/duckdb.js"], bundle: true, format: "esm", minify: true, target: "es2020",
  outfile: "dist/duckdb/duckdb-flows.js", legalComments: "linked", logLevel: "warning",
});
for (const file of ["duckdb-browser-eh.worker.js", "duckdb-eh.wasm"]) copyFileSync(wasm + file, `dist/duckdb/${file}`);
for (const file of ["page.js", "page.css"]) copyFileSync(`src/${file}`, `dist/${file}`);
