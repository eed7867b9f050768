// The web leaderboard: a small vanilla module over the public JSON API (/seasons,
// /leaderboard, /qbs/{id}, /qbs/{id}/games, /openapi.json). The view's state lives in the URL
// query string, so a link reproduces a view: /?season=2024&week=10&split=deep, /?qb=00-0033873.

const COMPONENTS = ["completion", "interception", "sack", "yards", "aggressiveness"];
const SHORT = { completion: "cmp", interception: "int", sack: "sack", yards: "yds",
  aggressiveness: "aggr" };
const COLORS = { completion: "#1f5fbf", interception: "#d1495b", sack: "#edae49",
  yards: "#00798c", aggressiveness: "#8d6cab" };
const FILTERS = ["season", "week", "game_week", "season_type", "split", "team",
  "min_dropbacks", "sort"];
const $ = (id) => document.getElementById(id);

async function api(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== "") q.set(k, v);
  }
  const url = q.toString() ? `${path}?${q}` : path;
  const res = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await res.json();
  if (!res.ok) {
    const d = body.detail;
    throw new Error(Array.isArray(d) ? d.map((e) => e.msg || JSON.stringify(e)).join("; ") : d);
  }
  return body;
}

const fmt = (v, digits = 1) => (v === null || v === undefined || Number.isNaN(v)
  ? "–" : Number(v).toFixed(digits));
const signed = (v, digits = 1) => (v === null || v === undefined ? "–"
  : (v > 0 ? "+" : "") + Number(v).toFixed(digits));
const nameOf = (r) => r.passer_full_name || r.passer_name || r.passer_id;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function state() {
  return new URLSearchParams(window.location.search);
}

function go(params, replace = false) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== "" && v !== undefined) q.set(k, v);
  const url = q.toString() ? `/?${q}` : "/";
  if (replace) window.history.replaceState(null, "", url);
  else window.history.pushState(null, "", url);
  render();
}

// ------------------------------------------------------------------ the board

let seasonsCache = null;
let splitsCache = null;

async function seasons() {
  if (!seasonsCache) seasonsCache = await api("/seasons");
  return seasonsCache;
}

async function splits() {
  if (!splitsCache) {
    const spec = await (await fetch("/openapi.json")).json();
    const p = spec.paths["/leaderboard"].get.parameters.find((x) => x.name === "split");
    const schema = p.schema.anyOf ? p.schema.anyOf.find((s) => s.enum) || p.schema : p.schema;
    splitsCache = (schema.enum || p.schema.enum || []);
  }
  return splitsCache;
}

function setOptions(select, values, selected, first) {
  select.replaceChildren();
  if (first) select.append(el("option", { value: "", text: first }));
  for (const [value, label] of values) select.append(el("option", { value, text: label }));
  select.value = selected ?? "";
}

const INTERVAL = (r) => {
  const pos = (x) => `${Math.max(0, Math.min(100, ((x - 50) / 49) * 100))}%`;
  const box = el("span", { class: "ival", title: `80% interval ${fmt(r.score_low)}–${fmt(r.score_high)}` });
  const bar = el("span", { class: "bar" });
  bar.style.left = pos(r.score_low ?? r.score);
  bar.style.width = `calc(${pos(r.score_high ?? r.score)} - ${pos(r.score_low ?? r.score)})`;
  const avg = el("span", { class: "avg" });
  avg.style.left = pos(74.5);
  const dot = el("span", { class: "dot" });
  dot.style.left = pos(r.score);
  box.append(avg, bar, dot);
  return box;
};

function boardColumns(gameWeek) {
  const cols = [
    { key: "rank", label: "#", cell: (r) => r.rank ?? "–" },
    { key: "passer_name", label: "QB", cls: "l", cell: (r) => {
      const a = el("a", { href: `/?qb=${encodeURIComponent(r.passer_id)}`, "data-qb": r.passer_id, text: nameOf(r) });
      return a;
    } },
    { key: "team", label: "Team", cls: "l", cell: (r) => r.team ?? "" },
  ];
  if (gameWeek) cols.push({ key: "opponent", label: "Opp", cls: "l", cell: (r) => r.opponent ?? "", nosort: true });
  cols.push(
    { key: "games", label: "G", cell: (r) => r.games ?? "–" },
    { key: "dropbacks", label: "Dropbacks", cell: (r) => r.dropbacks ?? "–" },
    { key: "score", label: "Score", cls: "score", cell: (r) => fmt(r.score) },
    { key: "score_low", label: "80% interval", cls: "l", cell: (r) => INTERVAL(r) },
    { key: "score_change", label: "Chg", cell: (r) => signed(r.score_change) },
    ...COMPONENTS.map((c) => ({ key: `comp_${c}`, label: SHORT[c], cell: (r) => fmt(r[`comp_${c}`], 0) })),
    { key: "epa_per_dropback", label: "EPA/db", cell: (r) => signed(r.epa_per_dropback, 3) },
    { key: "cpoe", label: "CPOE", cell: (r) => signed(r.cpoe) },
  );
  return cols;
}

async function renderBoard(q) {
  $("qb-view").hidden = true;
  $("board-view").hidden = false;
  const s = await seasons();
  const seasonList = [...new Set(s.rows.map((r) => r.season))].sort((a, b) => b - a);
  const season = q.get("season") || String(seasonList[0] ?? "");
  const st = (q.get("season_type") || "REG").toUpperCase();
  const mode = q.get("game_week") ? "game_week" : "week";
  const week = q.get("game_week") || q.get("week") || "";
  setOptions($("f-season"), seasonList.map((x) => [String(x), String(x)]), season);
  $("f-mode").value = mode;
  $("f-season-type").value = st;
  const info = s.rows.find((r) => String(r.season) === season && r.season_type === st)
    || s.rows.find((r) => String(r.season) === season);
  const weeks = [];
  if (info && info.first_week) for (let w = info.first_week; w <= info.last_week; w += 1) weeks.push(w);
  setOptions($("f-week"), weeks.map((w) => [String(w), String(w)]), week,
    mode === "week" ? "whole season" : null);
  if (mode === "game_week" && !week && weeks.length) $("f-week").value = String(weeks[weeks.length - 1]);
  setOptions($("f-split"), (await splits()).map((x) => [x, x.replaceAll("_", " ")]), q.get("split"), "all dropbacks");
  $("f-min").value = q.get("min_dropbacks") || "";
  $("f-split").disabled = mode === "game_week";

  const params = {};
  for (const k of FILTERS) if (q.get(k)) params[k] = q.get(k);
  params.season = season;
  params.limit = 500;
  const err = $("board-error");
  err.hidden = true;
  let data;
  try {
    data = await api("/leaderboard", params);
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
    $("board").querySelector("tbody").replaceChildren();
    return;
  }
  const teams = [...new Set(data.rows.map((r) => r.team).filter(Boolean))].sort();
  if (q.get("team") && !teams.includes(q.get("team").toUpperCase())) teams.push(q.get("team").toUpperCase());
  setOptions($("f-team"), teams.map((t) => [t, t]), (q.get("team") || "").toUpperCase(), "all teams");
  const scope = data.game_week ? `week ${data.game_week} games only`
    : `through week ${data.week}`;
  $("board-title").textContent = `${data.season} ${data.season_type} ${scope}`
    + (data.split ? `, split ${data.split}` : "") + ` · ${data.total} QBs · model ${data.model_version}`;
  $("meta").textContent = data.freshness && data.freshness.scored_week
    ? `scores through ${data.freshness.scored_season} week ${data.freshness.scored_week}` : "";
  drawTable(data, q);
}

function drawTable(data, q) {
  const cols = boardColumns(Boolean(data.game_week));
  const sort = q.get("sort") || "";
  const sortKey = sort.replace(/^[+-]/, "");
  const head = $("board").querySelector("thead tr");
  head.replaceChildren();
  for (const c of cols) {
    const th = el("th", { class: c.cls || "", "data-key": c.key, text: c.label });
    if (c.key === sortKey) th.classList.add("sorted");
    if (c.key === sortKey && (sort.startsWith("+") || ["passer_name", "team", "rank"].includes(sortKey) && !sort.startsWith("-"))) th.classList.add("asc");
    if (!c.nosort) th.addEventListener("click", () => {
      const cur = state();
      const now = cur.get("sort") || "";
      const bare = now.replace(/^[+-]/, "");
      let next = c.key;
      if (bare === c.key) next = now.startsWith("-") ? `+${c.key}` : `-${c.key}`;
      if (c.key === "rank" && !now) return;
      cur.set("sort", next);
      go(Object.fromEntries(cur));
    });
    head.append(th);
  }
  const body = $("board").querySelector("tbody");
  body.replaceChildren();
  for (const r of data.rows) {
    const tr = el("tr", { "data-passer": r.passer_id });
    for (const c of cols) tr.append(el("td", { class: c.cls || "" }, c.cell(r)));
    body.append(tr);
  }
  if (!data.rows.length) body.append(el("tr", {}, el("td", { class: "l", colspan: String(cols.length), text: "no qualified QB" })));
}

function onFilter() {
  const q = state();
  const next = {};
  next.season = $("f-season").value;
  const mode = $("f-mode").value;
  const options = [...$("f-week").options].map((o) => o.value).filter(Boolean);
  const week = $("f-week").value || (mode === "game_week" ? options[options.length - 1] : "");
  if (week) next[mode] = week;
  next.season_type = $("f-season-type").value === "REG" ? "" : $("f-season-type").value;
  if (mode === "week") next.split = $("f-split").value;
  next.team = $("f-team").value;
  next.min_dropbacks = $("f-min").value;
  next.sort = q.get("sort") || "";
  go(next);
}

// ------------------------------------------------------------------ a QB's page

async function renderQB(id) {
  $("board-view").hidden = true;
  $("qb-view").hidden = false;
  const err = $("qb-error");
  err.hidden = true;
  let qb;
  let games;
  try {
    [qb, games] = await Promise.all([api(`/qbs/${encodeURIComponent(id)}`),
      api(`/qbs/${encodeURIComponent(id)}/games`, { limit: 500 })]);
  } catch (e) {
    err.textContent = e.message;
    err.hidden = false;
    return;
  }
  $("qb-name").textContent = `${qb.passer_full_name || qb.passer_name || id} (${id})`;
  document.title = `${qb.passer_full_name || qb.passer_name} · QB Passing Score`;
  const t = $("qb-seasons");
  const heads = ["Season", "Type", "Team", "G", "Dropbacks", "Score", "80% interval", "Rank",
    ...COMPONENTS.map((c) => SHORT[c]), "EPA/db", "CPOE"];
  t.querySelector("thead").replaceChildren(el("tr", {}, ...heads.map((h, i) => el("th", { class: i < 3 ? "l" : "", text: h }))));
  const tb = t.querySelector("tbody");
  tb.replaceChildren();
  for (const r of qb.rows) {
    const link = el("a", { href: `/?season=${r.season}${r.season_type === "REG" ? "" : `&season_type=${r.season_type}`}`, text: String(r.season) });
    tb.append(el("tr", {}, el("td", { class: "l" }, link), el("td", { class: "l", text: r.season_type }),
      el("td", { class: "l", text: r.team ?? "" }), el("td", { text: String(r.games ?? "–") }),
      el("td", { text: String(r.dropbacks ?? "–") }), el("td", { class: "score", text: fmt(r.score) }),
      el("td", { class: "l" }, INTERVAL(r)), el("td", { text: r.qualified ? String(r.rank ?? "–") : "–" }),
      ...COMPONENTS.map((c) => el("td", { text: fmt(r[`comp_${c}`], 0) })),
      el("td", { text: signed(r.epa_per_dropback, 3) }), el("td", { text: signed(r.cpoe) })));
  }
  drawGames(games.rows);
  drawComponents(qb.rows.filter((r) => r.season_type === "REG"));
}

function gameSeries(rows) {
  // one point per week from his first to his last week of each season; weeks without a game
  // of his are null, so the line breaks there (connectgaps: false)
  const x = []; const y = []; const lo = []; const hi = []; const text = [];
  const bySeason = new Map();
  for (const r of rows) {
    if (!bySeason.has(r.season)) bySeason.set(r.season, new Map());
    bySeason.get(r.season).set(r.week, r);
  }
  for (const [season, weeks] of [...bySeason.entries()].sort((a, b) => a[0] - b[0])) {
    const ws = [...weeks.keys()];
    for (let w = Math.min(...ws); w <= Math.max(...ws); w += 1) {
      const r = weeks.get(w);
      x.push(`${season} w${String(w).padStart(2, "0")}`);
      y.push(r ? r.score : null);
      lo.push(r ? r.score - r.score_low : null);
      hi.push(r ? r.score_high - r.score : null);
      text.push(r ? `${r.game_id} vs ${r.opponent ?? "?"}: ${fmt(r.score)} (${r.dropbacks} dropbacks)` : "no game");
    }
    x.push(`${season} end`); y.push(null); lo.push(null); hi.push(null); text.push("");
  }
  return { x, y, lo, hi, text };
}

function drawGames(rows) {
  const s = gameSeries(rows);
  window.Plotly.newPlot("chart-games", [{
    x: s.x, y: s.y, text: s.text, mode: "lines+markers", type: "scatter", connectgaps: false,
    hovertemplate: "%{text}<extra></extra>", line: { color: "#1f5fbf" },
    error_y: { type: "data", symmetric: false, array: s.hi, arrayminus: s.lo, color: "#8aa0c8", thickness: 1, width: 0 },
  }], {
    margin: { l: 50, r: 20, t: 10, b: 80 }, height: 360, yaxis: { title: { text: "game score" }, range: [45, 100] },
    xaxis: { type: "category", tickangle: -45, nticks: 30 }, showlegend: false,
    shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: 74.5, y1: 74.5, line: { color: "#9aa3b2", dash: "dot" } }],
  }, { displaylogo: false, responsive: true });
}

function drawComponents(rows) {
  const x = rows.map((r) => String(r.season));
  const traces = COMPONENTS.map((c) => ({
    type: "bar", name: c, x, y: rows.map((r) => r[`val_${c}`]), marker: { color: COLORS[c] },
    hovertemplate: `${c}: %{y:+.4f} EPA/db<extra>%{x}</extra>`,
  }));
  window.Plotly.newPlot("chart-components", traces, {
    barmode: "relative", margin: { l: 60, r: 20, t: 30, b: 40 }, height: 340,
    yaxis: { title: { text: "EPA per dropback" } }, xaxis: { type: "category" },
    legend: { orientation: "h", y: 1.12 },
  }, { displaylogo: false, responsive: true });
}

// ------------------------------------------------------------------ routing

async function render() {
  const q = state();
  document.body.dataset.ready = "0";
  try {
    if (q.get("qb")) await renderQB(q.get("qb"));
    else await renderBoard(q);
  } finally {
    document.body.dataset.ready = "1";
  }
}

function init() {
  for (const id of ["f-season", "f-mode", "f-week", "f-season-type", "f-split", "f-team"]) {
    $(id).addEventListener("change", onFilter);
  }
  $("f-min").addEventListener("change", onFilter);
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); onFilter(); });
  document.addEventListener("click", (e) => {
    const a = e.target.closest("a");
    if (!a || !a.getAttribute("href") || !a.getAttribute("href").startsWith("/?") && a.getAttribute("href") !== "/") return;
    if (e.metaKey || e.ctrlKey || e.shiftKey) return;
    e.preventDefault();
    window.history.pushState(null, "", a.getAttribute("href"));
    render();
  });
  window.addEventListener("popstate", render);
  render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
