// densefit search page: plain JS, no build step. Talks to /info, /readyz and /search.
"use strict";

const $ = (id) => document.getElementById(id);
const SNIPPET_CHARS = 260;
const STOPWORDS = new Set("a an and are as at be by for from how i in is it of on or that the to what when where which with".split(" "));

function apiKey() { return localStorage.getItem("densefit-key") || ""; }

class NeedsKey extends Error {}

// Ask for the key in a small form instead of showing the server's 401 message.
function askForKey() {
  $("key-form").hidden = false;
  $("search-form").hidden = true;
  $("key-note").textContent = apiKey() ? "that key was not accepted" : "";
  $("status").textContent = "API key needed";
  $("status").className = "status";
  $("api-key").focus();
}

async function call(path, body) {
  const headers = { "Content-Type": "application/json" };
  if (apiKey()) headers.Authorization = "Bearer " + apiKey();
  const res = await fetch(path, body === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (res.status === 401) { askForKey(); throw new NeedsKey(); }
  if (!res.ok) throw new Error((data.error && data.error.message) || data.reason || res.statusText);
  return data;
}

function terms(query) {
  const words = query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || [];
  return [...new Set(words.filter((w) => w.length > 1 && !STOPWORDS.has(w)))];
}

function escapeRegex(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

// A window of the text around the first query term, as DOM nodes with <mark> on every term.
function snippet(text, words) {
  const flat = text.replace(/\s+/g, " ").trim();
  const re = words.length ? new RegExp("(" + words.map(escapeRegex).join("|") + ")", "giu") : null;
  let start = 0;
  if (re) {
    const first = flat.search(re);
    if (first > SNIPPET_CHARS / 3) start = first - Math.floor(SNIPPET_CHARS / 3);
  }
  let piece = flat.slice(start, start + SNIPPET_CHARS);
  if (start > 0) piece = "…" + piece;
  if (start + SNIPPET_CHARS < flat.length) piece += "…";
  const out = document.createElement("p");
  out.className = "snippet";
  const parts = re ? piece.split(re) : [piece];
  parts.forEach((part, i) => {
    if (i % 2 === 1) {
      const m = document.createElement("mark");
      m.textContent = part;
      out.appendChild(m);
    } else if (part) {
      out.appendChild(document.createTextNode(part));
    }
  });
  return out;
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderColumn(result, words) {
  const col = el("section", "column");
  col.dataset.model = result.model;
  col.appendChild(el("h2", null, result.model));
  const t = result.timings || {};
  const stages = ["embed_ms", "search_ms", "rerank_ms"].filter((s) => s in t).map((s) => `${s.replace("_ms", "")} ${t[s].toFixed(1)} ms`);
  col.appendChild(el("div", "meta", `${result.hits.length} hits · ${result.mode || "dense"}${result.reranked ? ", reranked" : ""} · ${stages.join(" · ")}`));
  const list = el("ol", "results");
  result.hits.forEach((hit, i) => {
    const item = el("li", "result");
    const head = el("div", "head");
    head.append(el("span", "rank", `${i + 1}.`), el("span", "doc-id", hit.id), el("span", "score", hit.score.toFixed(3)));
    item.append(head, snippet(hit.text, words));
    list.appendChild(item);
  });
  if (!result.hits.length) list.appendChild(el("li", "empty", "no results"));
  col.appendChild(list);
  return col;
}

async function search(event) {
  event.preventDefault();
  const query = $("query").value.trim();
  if (!query) return;
  const k = parseInt($("k").value, 10);
  const models = [$("model-a").value];
  if ($("compare").checked && $("model-b").value) models.push($("model-b").value);
  $("error").hidden = true;
  try {
    const mode = $("mode").value;
    const results = await Promise.all(models.map((model) => call("/search", { query, k, model, mode })));
    const words = terms(query);
    $("columns").replaceChildren(...results.map((r) => renderColumn(r, words)));
  } catch (err) {
    if (err instanceof NeedsKey) return;
    $("error").textContent = err.message;
    $("error").hidden = false;
  }
}

function fillModels(info) {
  const searchable = info.models.filter((m) => m.search).map((m) => m.name);
  for (const id of ["model-a", "model-b"]) {
    $(id).replaceChildren(...searchable.map((name) => { const o = el("option", null, name); o.value = name; return o; }));
  }
  if (searchable.length > 1) $("model-b").value = searchable[1];
  $("model-a").hidden = searchable.length < 2 && !$("compare").checked;
  $("compare").disabled = searchable.length < 2;
  $("compare-label").title = searchable.length < 2 ? "start the server with --compare-model and --compare-store" : $("compare-label").title;
  if (!searchable.length) {
    $("error").textContent = "no store attached: start the server with --store URI";
    $("error").hidden = false;
  }
}

async function refreshStatus() {
  try {
    await call("/readyz");
    $("status").textContent = "ready";
    $("status").className = "status ready";
  } catch (err) {
    if (err instanceof NeedsKey) return;
    $("status").textContent = "not ready: " + err.message;
    $("status").className = "status";
    setTimeout(refreshStatus, 1000);
  }
}

async function init() {
  try {
    fillModels(await call("/info"));
  } catch (err) {
    if (!(err instanceof NeedsKey)) $("status").textContent = err.message;
    return;
  }
  $("key-form").hidden = true;
  $("search-form").hidden = false;
  refreshStatus();
}

$("key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem("densefit-key", $("api-key").value);
  $("api-key").value = "";
  init();
});
$("compare").addEventListener("change", () => {
  $("model-b").hidden = !$("compare").checked;
  $("model-a").hidden = false;
});
$("search-form").addEventListener("submit", search);
init();
