// The release page: a territory's figures and an SQL console, both answered in the browser by
// DuckDB-WASM reading the release's Parquet files over HTTP range requests. Nothing is loaded
// before the reader searches or queries, and nothing from another host than the page's.
const config = JSON.parse(document.getElementById("release-config").textContent);
const siteBase = new URL(".", document.getElementById("page-script").src);
const numberFormat = new Intl.NumberFormat("fr-FR", { maximumFractionDigits: 2 });
let connection = null;

function $(selector) {
  return document.querySelector(selector);
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// --- DuckDB --------------------------------------------------------------------------------

function database() {
  connection ??= (async () => {
    const { openDuckDB, registerParquet } = await import(new URL("duckdb/duckdb-flows.js", siteBase).href);
    const db = await openDuckDB();
    const con = await db.connect();
    // the extensions DuckDB would fetch on demand come from its CDN: never from this page
    await con.query("SET autoinstall_known_extensions = false; SET autoload_known_extensions = false");
    for (const table of config.tables) {
      await registerParquet(db, table.file, new URL(table.file, location.href).href);
      await con.query(`CREATE VIEW ${table.name} AS SELECT * FROM read_parquet('${table.file}')`);
    }
    return con;
  })();
  return connection;
}

function plain(value) {
  if (typeof value === "bigint") return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === "object" && "toJSON" in value) return value.toJSON();
  return value;
}

// Rows of a query as plain objects, with bound parameters when given.
async function rows(sql, ...parameters) {
  const con = await database();
  let table;
  if (parameters.length) {
    const statement = await con.prepare(sql);
    try {
      table = await statement.query(...parameters);
    } finally {
      await statement.close();
    }
  } else {
    table = await con.query(sql);
  }
  const names = table.schema.fields.map((field) => field.name);
  const result = table.toArray().map((row) => Object.fromEntries(names.map((n) => [n, plain(row[n])])));
  result.columns = names;
  return result;
}

function shown(value, column) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number" || column === "year" || column.endsWith("_year")) return String(value);
  return numberFormat.format(value);
}

function quoted(name) {
  return `"${name.replaceAll('"', '""')}"`;
}

// --- results as a table and as CSV -----------------------------------------------------------

function resultTable(result, caption, limit = 500) {
  const table = element("table", { class: "resultat" });
  if (caption) table.append(element("caption", {}, caption));
  const head = element("tr");
  for (const name of result.columns) head.append(element("th", { scope: "col" }, name));
  table.append(element("thead", {}, head));
  const body = element("tbody");
  for (const row of result.slice(0, limit)) {
    const tr = element("tr");
    for (const name of result.columns) {
      const value = row[name];
      const attributes = { "data-value": value === null ? "" : JSON.stringify(value) };
      if (typeof value === "number") attributes.class = "nombre";
      tr.append(element("td", attributes, shown(value, name)));
    }
    body.append(tr);
  }
  table.append(body);
  return element("div", { class: "defile" }, table);
}

function csv(result) {
  const cell = (value) => {
    if (value === null || value === undefined) return "";
    const text = typeof value === "object" ? JSON.stringify(value) : String(value);
    return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return [result.columns.join(","), ...result.map((row) => result.columns.map((n) => cell(row[n])).join(","))].join("\n") + "\n";
}

// --- the SQL console -------------------------------------------------------------------------

async function runConsole() {
  const sql = $("#requete").value;
  const status = $("#console-etat");
  const output = $("#console-resultat");
  output.replaceChildren();
  status.textContent = "Requête en cours…";
  $("#console-csv").hidden = true;
  const started = performance.now();
  try {
    const result = await rows(sql);
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    status.textContent = `${result.length} ligne${result.length > 1 ? "s" : ""} en ${seconds} s` +
      (result.length > 500 ? " (les 500 premières sont affichées ; le CSV les contient toutes)" : "");
    output.append(resultTable(result));
    const link = $("#console-csv");
    URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([csv(result)], { type: "text/csv;charset=utf-8" }));
    link.hidden = false;
  } catch (error) {
    status.textContent = `Erreur : ${error.message}`;
  }
}

function setUpConsole() {
  $("#executer").addEventListener("click", runConsole);
  $("#requete").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) runConsole();
  });
  for (const button of document.querySelectorAll("button[data-exemple]")) {
    button.addEventListener("click", () => {
      $("#requete").value = config.examples[Number(button.dataset.exemple)].sql;
      runConsole();
    });
  }
}

// --- a territory's figures -------------------------------------------------------------------

async function search() {
  const text = $("#recherche").value.trim();
  const list = $("#resultats-recherche");
  if (text.length < 2) {
    list.replaceChildren();
    return;
  }
  $("#recherche-etat").textContent = "Recherche…";
  const found = await rows(
    `SELECT level, code, name, population FROM territories
     WHERE code = $1 OR strip_accents(lower(name)) LIKE '%' || strip_accents(lower($1)) || '%'
     ORDER BY code = $1 DESC, population DESC NULLS LAST, level, code LIMIT 20`, text);
  if ($("#recherche").value.trim() !== text) return; // the reader typed on
  $("#recherche-etat").textContent = found.length ? `${found.length} territoire${found.length > 1 ? "s" : ""}` : "Aucun territoire";
  list.replaceChildren(...found.map((t) => {
    const button = element("button", { type: "button", "data-level": t.level, "data-code": t.code },
      `${t.name} (${config.levels[t.level] ?? t.level} ${t.code})`);
    button.addEventListener("click", () => showTerritory(t));
    return element("li", {}, button);
  }));
}

async function showTerritory(territory) {
  const panel = $("#territoire");
  panel.hidden = false;
  panel.dataset.level = territory.level;
  panel.dataset.code = territory.code;
  $("#territoire-titre").textContent = `${territory.name} — ${config.levels[territory.level] ?? territory.level} ${territory.code}`;
  $("#territoire-contenu").replaceChildren(element("p", {}, "Chargement…"));
  const parts = [await indicatorsOverTime(territory)];
  const partners = new Map();
  for (const kind of config.kinds) parts.push(await topPartners(territory, kind, partners));
  parts.unshift(await smallMap(territory, partners));
  $("#territoire-contenu").replaceChildren(...parts.filter(Boolean));
  $("#territoire-titre").focus();
}

async function indicatorsOverTime(territory) {
  const columns = config.indicators.map(quoted).join(", ");
  const result = await rows(
    `SELECT year, ${columns} FROM territory_indicators WHERE level = $1 AND code = $2 ORDER BY year`,
    territory.level, territory.code);
  result.columns = ["year", ...config.indicators.filter((n) => result.some((row) => row[n] !== null))];
  if (!result.length) return element("p", {}, "Aucun indicateur pour ce territoire.");
  return element("section", { class: "indicateurs" }, element("h3", {}, "Indicateurs par année"),
    resultTable(result, "Colonnes de territory_indicators ; — : la source ne couvre pas l'année."));
}

async function topPartners(territory, kind, partners) {
  const [toPartner, fromPartner] = kind.columns;
  const directions = [];
  for (const [column, words] of [[toPartner, `de ${territory.name} vers le partenaire`],
                                 [fromPartner, `du partenaire vers ${territory.name}`]]) {
    const result = await rows(
      `SELECT p.code_b AS partner_code, t.name AS partner_name, p.${kind.year_column} AS year, p.${column} AS ${column}
       FROM interdependencies_latest AS p
       LEFT JOIN territories AS t ON t.level = p.level AND t.code = p.code_b
       WHERE p.level = $1 AND p.code_a = $2 AND p.${column} > 0
       ORDER BY p.${column} DESC, p.code_b LIMIT 5`, territory.level, territory.code);
    for (const row of result) partners.set(row.partner_code, row.partner_name);
    result.columns.push("dossier");
    for (const row of result) {
      row.dossier = `flows dossier ${territory.code} ${row.partner_code} --level ${territory.level} --release ${new URL(".", location.href).href}`;
    }
    directions.push(result.length
      ? resultTable(result, `Principaux partenaires, ${words} (${kind.unit})`)
      : element("p", {}, `Aucun flux ${words}.`));
  }
  return element("section", { class: "flux", "data-kind": kind.kind },
    element("h3", {}, kind.title, " ", element("span", { class: `methode ${kind.method}` }, kind.method_label)),
    ...directions, element("p", { class: "precaution" }, kind.caveat));
}

async function smallMap(territory, partners) {
  const codes = [territory.code, ...partners.keys()];
  const places = await rows(
    `SELECT code, name, (bbox.xmin + bbox.xmax) / 2 AS lon, (bbox.ymin + bbox.ymax) / 2 AS lat
     FROM territories_geo WHERE level = $1 AND code IN (${codes.map((c) => `'${c.replaceAll("'", "''")}'`).join(", ")})`,
    territory.level);
  if (!places.length) return null;
  const width = 320, height = 240, margin = 16;
  const lons = places.map((p) => p.lon), lats = places.map((p) => p.lat);
  const shrink = Math.cos((Math.min(...lats) + Math.max(...lats)) / 2 * Math.PI / 180);
  const spanX = Math.max((Math.max(...lons) - Math.min(...lons)) * shrink, 0.01);
  const spanY = Math.max(Math.max(...lats) - Math.min(...lats), 0.01);
  const scale = Math.min((width - 2 * margin) / spanX, (height - 2 * margin) / spanY);
  const x = (lon) => margin + (lon - Math.min(...lons)) * shrink * scale;
  const y = (lat) => height - margin - (lat - Math.min(...lats)) * scale;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Carte schématique : ${territory.name} et ses principaux partenaires`);
  const centre = places.find((p) => p.code === territory.code);
  for (const place of places) {
    if (centre && place !== centre) {
      const line = document.createElementNS(ns, "line");
      for (const [name, value] of [["x1", x(centre.lon)], ["y1", y(centre.lat)], ["x2", x(place.lon)], ["y2", y(place.lat)]]) {
        line.setAttribute(name, value.toFixed(1));
      }
      svg.append(line);
    }
  }
  for (const place of places) {
    const dot = document.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(place.lon).toFixed(1));
    dot.setAttribute("cy", y(place.lat).toFixed(1));
    dot.setAttribute("r", place === centre ? 7 : 4);
    dot.setAttribute("class", place === centre ? "centre" : "partenaire");
    dot.setAttribute("data-code", place.code);
    const title = document.createElementNS(ns, "title");
    title.textContent = `${place.name} (${place.code})`;
    dot.append(title);
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", (x(place.lon) + 6).toFixed(1));
    label.setAttribute("y", (y(place.lat) - 6).toFixed(1));
    label.textContent = place.name.length > 22 ? `${place.name.slice(0, 21)}…` : place.name;
    svg.append(dot, label);
  }
  return element("figure", { class: "carte" }, svg,
    element("figcaption", {}, "Centres des emprises (territories_geo) du territoire et de ses principaux partenaires."));
}

function setUpSearch() {
  let timer = null;
  $("#recherche").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search().catch((error) => { $("#recherche-etat").textContent = `Erreur : ${error.message}`; }), 250);
  });
  $("#recherche-formulaire").addEventListener("submit", (event) => {
    event.preventDefault();
    search().catch((error) => { $("#recherche-etat").textContent = `Erreur : ${error.message}`; });
  });
}

setUpConsole();
setUpSearch();
