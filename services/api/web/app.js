// Parley's timeline page: the state of the talks as of the date on the slider.
// Plain JavaScript, no build step; it only talks to the API that served it.
"use strict";

const DAY = 86400000;
const PAD_DAYS = 3;
const EVENT_TYPES = [
  "round.scheduled", "round.postponed", "round.opened", "delegation.named", "round.closed",
  "round.assessed", "position.stated", "strike.reported", "ceasefire.agreed",
  "ceasefire.violation_alleged", "ceasefire.ended", "agreement.reached", "report.corrected",
  "report.retracted", "source.added",
];
const FAMILY = {
  demands: "for", proposes: "for", supports: "for", accepts: "for", red_line: "for",
  rejects: "against", opposes: "against",
  accepts_conditionally: "hedged", open_to_discuss: "hedged",
};

// start/end: the slider's range; chartStart: the first day an event was in effect, padded.
const view = { talks: null, asOf: null, knownAt: null, start: null, end: null, chartStart: null };
let stream = null;
let refreshTimer = null;
let sliderTimer = null;
let pending = new Set();
let generation = 0;

const $ = (id) => document.getElementById(id);

// ---- small helpers ----------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "onclick") el.addEventListener("click", v);
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const human = (s) => (s == null ? "" : String(s).replace(/_/g, " "));
const isoDay = (ms) => new Date(ms).toISOString().slice(0, 10);
const dayMs = (iso) => Date.parse(iso.slice(0, 10) + "T00:00:00Z");

// The UTC day an occurred_at-like value is in effect by (the end of its window).
function effectDay(value) {
  if (!value) return null;
  if (typeof value === "object") return effectDay(value.latest || value.earliest);
  const s = String(value);
  if (/^\d{4}-\d{2}$/.test(s)) {
    const [y, m] = s.split("-").map(Number);
    return isoDay(Date.UTC(y, m, 0));
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
  const t = Date.parse(s);
  return Number.isNaN(t) ? null : isoDay(t);
}

function shownTime(value) {
  if (!value) return "";
  if (typeof value === "object") return `${shownTime(value.earliest)} – ${shownTime(value.latest)}`;
  return String(value).replace("T", " ");
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = "";
    try { detail = JSON.stringify((await response.json()).detail || ""); } catch (_) { /* */ }
    throw new Error(`${path}: ${response.status} ${detail}`);
  }
  return response.json();
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

function status(text, isError) {
  const el = $("status");
  el.textContent = text || "";
  el.classList.toggle("error", Boolean(isError));
}

// Makes an element open the provenance of its events on click or Enter/Space.
function clickable(el, eventIds, title) {
  const ids = (eventIds || []).filter(Boolean);
  if (!ids.length) return el;
  el.classList.add("clickable");
  el.tabIndex = 0;
  el.setAttribute("role", "button");
  el.dataset.eventIds = ids.join(" ");
  const open = (e) => { e.stopPropagation(); showProvenance(ids, title, el); };
  el.addEventListener("click", open);
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(e); }
  });
  return el;
}

// ---- URL <-> view -----------------------------------------------------------------------------

function readUrl() {
  const q = new URLSearchParams(location.search);
  view.talks = q.get("talks");
  view.asOf = /^\d{4}-\d{2}-\d{2}$/.test(q.get("as_of") || "") ? q.get("as_of") : null;
  view.knownAt = q.get("known_at") || null;
}

function writeUrl() {
  const url = location.pathname + query({ talks: view.talks, as_of: view.asOf, known_at: view.knownAt });
  history.replaceState(null, "", url);
}

// ---- the range of the slider ------------------------------------------------------------------

async function loadRange() {
  const timeline = await api(
    `/v1/talks/${encodeURIComponent(view.talks)}/timeline${query({ known_at: view.knownAt })}`);
  let first = null;
  let last = null;
  let firstInEffect = null;
  const days = new Set();
  for (const entry of timeline.entries) {
    const a = dayMs(entry.earliest);
    const b = dayMs(entry.latest);
    if (first === null || a < first) first = a;
    if (last === null || b > last) last = b;
    if (firstInEffect === null || b < firstInEffect) firstInEffect = b;
    days.add(isoDay(b));
  }
  if (first === null && view.start !== null) {
    // nothing known (e.g. an early known_at): keep the range the slider had
    first = view.start + PAD_DAYS * DAY;
    last = view.end - PAD_DAYS * DAY;
    firstInEffect = view.chartStart + PAD_DAYS * DAY;
  } else if (first === null) {
    first = last = firstInEffect = dayMs(new Date().toISOString());
  }
  view.start = first - PAD_DAYS * DAY;
  view.end = last + PAD_DAYS * DAY;
  view.chartStart = Math.max(view.start, firstInEffect - PAD_DAYS * DAY);
  if (view.asOf) {
    const t = dayMs(view.asOf);
    if (t < view.start) view.start = t;
    if (t > view.end) view.end = t;
  } else {
    view.asOf = isoDay(last);
  }
  view.chartStart = Math.min(view.chartStart, dayMs(view.asOf) - PAD_DAYS * DAY);
  const slider = $("slider");
  slider.max = String(Math.round((view.end - view.start) / DAY));
  // tick marks on the slider at the days events came into effect
  $("event-days").replaceChildren(...[...days].sort().map((d) =>
    h("option", { value: String(Math.round((dayMs(d) - view.start) / DAY)) })));
  $("slider-min").textContent = isoDay(view.start);
  $("slider-max").textContent = isoDay(view.end);
  const picker = $("as-of-date");
  picker.min = isoDay(view.start);
  picker.max = isoDay(view.end);
  syncDateControls();
  return timeline;
}

function syncDateControls() {
  const slider = $("slider");
  slider.value = String(Math.round((dayMs(view.asOf) - view.start) / DAY));
  slider.setAttribute("aria-valuetext", view.asOf);
  $("slider-value").textContent = view.asOf;
  $("as-of-date").value = view.asOf;
  $("known-at").value = (view.knownAt || "").slice(0, 10);
  $("known-at-clear").hidden = !view.knownAt;
}

// ---- rendering --------------------------------------------------------------------------------

async function refresh() {
  if (!view.talks) return;
  const mine = ++generation;
  writeUrl();
  const talks = encodeURIComponent(view.talks);
  const t = { as_of: view.asOf, known_at: view.knownAt };
  document.body.classList.add("loading");
  try {
    const [state, strikes, timeline] = await Promise.all([
      api(`/v1/talks/${talks}/state${query(t)}`),
      api(`/v1/strikes${query({ talks_id: view.talks, to: view.asOf, ...t, limit: "1000" })}`),
      api(`/v1/talks/${talks}/timeline${query({ to: view.asOf, known_at: view.knownAt })}`),
    ]);
    if (mine !== generation) return; // a newer view was asked for meanwhile
    renderRounds(state.rounds);
    renderIssues(state.issues);
    renderCeasefires(state.ceasefires, state.agreements);
    renderStrikes(strikes.items, state.rounds);
    renderTimeline(timeline.entries);
    const knew = view.knownAt ? `, as we knew it on ${view.knownAt}` : "";
    status(`${state.event_count} events in effect as of ${view.asOf}${knew}.`);
  } catch (err) {
    if (mine === generation) status(`Could not load the view: ${err.message}`, true);
  } finally {
    if (mine === generation) document.body.classList.remove("loading");
  }
}

function empty(text) {
  return h("p", { class: "empty" }, text);
}

function renderRounds(rounds) {
  const box = $("rounds");
  box.replaceChildren();
  if (!rounds.length) return box.append(empty("No round known yet."));
  const list = h("ul", { class: "cards" });
  for (const r of rounds) {
    const venue = r.venue ? [r.venue.city, r.venue.country].filter(Boolean).join(", ") : "";
    const heads = (r.delegations || []).map((d) => `${d.party}: ${d.head && d.head.name}`);
    const dates = [
      r.planned_start && `planned ${r.planned_start}`,
      r.opened_at && `opened ${shownTime(r.opened_at)}`,
      r.closed_at && `closed ${shownTime(r.closed_at)}`,
    ].filter(Boolean);
    const card = h("li", { class: "card round", dataset: { round: r.round_id, status: r.status } },
      h("div", { class: "card-head" },
        h("strong", { class: "round-id" }, r.round_id),
        h("span", { class: `badge status-${r.status}` }, human(r.status)),
        venue && h("span", { class: "muted" }, venue)),
      dates.length ? h("div", { class: "muted small" }, dates.join(" · ")) : null,
      r.outcome ? h("div", { class: "small" }, `Outcome: ${human(r.outcome)}`) : null,
      heads.length ? h("div", { class: "small" }, "Delegations: ", heads.join("; ")) : null);
    list.append(clickable(card, r.event_ids, `Round ${r.round_id}`));
  }
  box.append(list);
}

function renderIssues(issues) {
  const box = $("issues");
  box.replaceChildren();
  if (!issues.length) return box.append(empty("No position stated yet."));
  const parties = [...new Set(issues.flatMap((i) => i.positions.map((p) => p.party)))].sort();
  const table = h("table", { class: "matrix" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Issue"),
      parties.map((p) => h("th", { scope: "col" }, p)))));
  const body = h("tbody");
  for (const issue of issues) {
    const row = h("tr", { dataset: { issue: issue.issue, gap: issue.gap } },
      h("th", { scope: "row" }, h("span", { class: "issue-name" }, human(issue.issue)), " ",
        h("span", { class: `gap gap-${issue.gap}`, title: `gap: ${issue.gap}` }, issue.gap)));
    for (const party of parties) {
      const p = issue.positions.find((x) => x.party === party);
      if (!p) { row.append(h("td", { class: "none" }, "–")); continue; }
      const family = FAMILY[p.stance] || "other";
      const cell = h("td", {
        class: `stance fam-${family}`,
        title: `${party} ${human(p.stance)}: ${p.proposition}` +
          (p.conditionality ? ` (if ${p.conditionality})` : "") + ` — stated ${p.stated_at}`,
        dataset: { party, stance: p.stance },
      }, human(p.stance));
      row.append(clickable(cell, p.event_ids || [p.event_id], `${party} on ${human(issue.issue)}`));
    }
    body.append(row);
  }
  table.append(body);
  box.append(table);
}

function renderCeasefires(ceasefires, agreements) {
  const box = $("ceasefires");
  box.replaceChildren();
  if (!ceasefires.length && !(agreements || []).length) {
    return box.append(empty("No ceasefire or agreement known yet."));
  }
  const list = h("ul", { class: "cards" });
  for (const c of ceasefires) {
    const span = [c.start_at && `from ${shownTime(c.start_at)}`, c.end_at && `to ${shownTime(c.end_at)}`]
      .filter(Boolean).join(" ");
    const card = h("li", { class: "card ceasefire", dataset: { ceasefire: c.ceasefire_id } },
      h("div", { class: "card-head" },
        h("strong", {}, c.ceasefire_id),
        h("span", { class: `badge status-${c.status}` }, human(c.status)),
        c.scope && h("span", { class: "muted" }, human(c.scope))),
      h("div", { class: "small muted" }, [(c.parties || []).join(", "), span].filter(Boolean).join(" · ")),
      c.ended_reason ? h("div", { class: "small" }, `Ended: ${human(c.ended_reason)}`) : null);
    clickable(card, c.event_ids, `Ceasefire ${c.ceasefire_id}`);
    const alleged = c.violations_alleged || [];
    if (alleged.length) {
      const ul = h("ul", { class: "allegations" });
      for (const a of alleged) {
        const li = h("li", { class: "allegation" },
          h("span", { class: "badge alleged" }, "alleged"), " ",
          `${a.alleging_party} accuses ${a.accused_party} (${shownTime(a.alleged_at)})`,
          a.description ? h("div", { class: "small muted" }, a.description) : null);
        ul.append(clickable(li, [a.event_id], `Allegation by ${a.alleging_party}`));
      }
      card.append(ul);
    }
    list.append(card);
  }
  for (const a of agreements || []) {
    const card = h("li", { class: "card agreement" },
      h("div", { class: "card-head" }, h("strong", {}, a.title),
        h("span", { class: "badge" }, human(a.stage))),
      h("div", { class: "small muted" }, `${(a.signatories || []).join(", ")} · ${shownTime(a.reached_at)}`));
    list.append(clickable(card, a.event_ids, `Agreement ${a.agreement_id}`));
  }
  box.append(list);
}

function renderStrikes(strikes, rounds) {
  const box = $("strikes");
  box.replaceChildren();
  const days = Math.max(1, Math.round((view.end - view.chartStart) / DAY) + 1);
  const W = 600, H = 170, left = 28, right = 8, top = 16, bottom = 24;
  const plotW = W - left - right, plotH = H - top - bottom;
  const bw = plotW / days;
  const x = (ms) => left + ((ms - view.chartStart) / DAY) * bw;
  const perDay = new Map();
  for (const s of strikes) {
    const d = effectDay(s.occurred_latest);
    if (!d || dayMs(d) < view.chartStart) continue;
    if (!perDay.has(d)) perDay.set(d, []);
    perDay.get(d).push(s);
  }
  const max = Math.max(1, ...[...perDay.values()].map((v) => v.length));
  const chart = svg("svg", {
    viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img",
    "aria-label": `${strikes.length} strikes up to ${view.asOf}`,
  });
  chart.append(svg("line", { x1: left, x2: W - right, y1: top + plotH, y2: top + plotH, class: "axis" }));
  chart.append(svg("text", { x: left - 4, y: top + 4, class: "tick", "text-anchor": "end" }, String(max)));
  chart.append(svg("text", { x: left - 4, y: top + plotH, class: "tick", "text-anchor": "end" }, "0"));
  // a date tick at each month's first day and at both ends
  // date labels at least ~56 px apart (in viewBox units), always at both ends
  const every = Math.max(1, Math.ceil(56 / bw));
  for (let i = 0; i < days; i += 1) {
    const last = i === days - 1;
    if (i % every !== 0 && !last) continue;
    if (!last && days - 1 - i < every * 0.8 && i !== 0) continue;
    const t = view.chartStart + i * DAY;
    chart.append(svg("text", {
      x: x(t) + bw / 2, y: H - 6, class: "tick",
      "text-anchor": i === 0 ? "start" : last ? "end" : "middle",
    }, isoDay(t).slice(5)));
  }
  // the as_of cursor: what lies beyond it is not yet in effect
  const cursor = dayMs(view.asOf);
  chart.append(svg("rect", {
    x: x(cursor + DAY), y: top, width: Math.max(0, W - right - x(cursor + DAY)), height: plotH,
    class: "future",
  }));
  for (const r of rounds || []) {
    const d = effectDay(r.opened_at);
    if (!d || dayMs(d) < view.chartStart) continue;
    const rx = x(dayMs(d)) + bw / 2;
    const g = svg("g", { class: "round-marker", "data-round": r.round_id });
    g.append(svg("line", { x1: rx, x2: rx, y1: top - 4, y2: top + plotH }));
    g.append(svg("text", { x: rx + 3, y: top + 6, class: "marker-label" }, r.round_id));
    g.append(svg("title", {}, `Round ${r.round_id} opened ${shownTime(r.opened_at)}`));
    chart.append(g);
  }
  for (const [d, list] of perDay) {
    const bh = (list.length / max) * plotH;
    const bar = svg("rect", {
      x: x(dayMs(d)) + bw * 0.1, y: top + plotH - bh, width: Math.max(1, bw * 0.8), height: bh,
      class: "bar", tabindex: "0", role: "button", "data-day": d,
      "aria-label": `${list.length} strike(s) on ${d}`,
    });
    bar.append(svg("title", {}, `${d}: ${list.length} strike(s)\n` +
      list.map((s) => `${s.attacking_party} → ${(s.target_types || []).map(human).join(", ")}`).join("\n")));
    const ids = list.map((s) => s.event_id);
    const open = () => showProvenance(ids, `Strikes on ${d}`, bar);
    bar.addEventListener("click", open);
    bar.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); } });
    chart.append(bar);
  }
  box.append(chart);
  box.append(h("p", { class: "small muted" },
    `${strikes.length} strike(s) reported up to ${view.asOf}; vertical lines: rounds opened.`));
}

function renderTimeline(entries) {
  const box = $("timeline");
  box.replaceChildren();
  if (!entries.length) return box.append(h("li", {}, empty("Nothing had happened yet.")));
  for (const e of entries) {
    const li = h("li", { class: `entry type-${e.type.replace(/\./g, "-")}`, dataset: { eventId: e.event_id } },
      h("time", { datetime: e.latest }, shownTime(e.occurred_at)),
      h("span", { class: "precision", title: "precision of the date" }, e.precision),
      h("span", { class: "label" }, e.label),
      h("span", { class: "sources", title: "distinct sources" },
        `${e.corroboration} source${e.corroboration === 1 ? "" : "s"}`));
    box.append(clickable(li, [e.event_id, ...(e.event_ids || []).filter((id) => id !== e.event_id)], e.label));
  }
}

// ---- provenance -------------------------------------------------------------------------------

async function showProvenance(ids, title, origin) {
  const panel = $("provenance");
  const body = $("provenance-body");
  document.querySelectorAll(".selected").forEach((el) => el.classList.remove("selected"));
  if (origin) origin.classList.add("selected");
  panel.hidden = false;
  document.body.classList.add("with-provenance");
  body.replaceChildren(h("h3", {}, title), h("p", { class: "muted" }, "Loading…"));
  const unique = [...new Set(ids)].slice(0, 12);
  const results = await Promise.all(unique.map((id) =>
    api(`/v1/events/${encodeURIComponent(id)}`).catch((err) => ({ error: err.message, event_id: id }))));
  body.replaceChildren(h("h3", {}, title));
  if (ids.length > unique.length) body.append(h("p", { class: "muted small" }, `first ${unique.length} of ${ids.length} events`));
  results.forEach((p, i) => body.append(provenanceBlock(p, i === 0)));
  $("provenance-close").focus({ preventScroll: true });
}

function sourceList(sources) {
  return h("ul", { class: "source-list" }, (sources || []).map((s) => h("li", {},
    h("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.publisher || s.url),
    s.published_at ? ` (${s.published_at})` : "",
    s.reliability || s.credibility ? ` · grade ${s.reliability || "?"}${s.credibility || ""}` : "")));
}

function provenanceBlock(p, open) {
  if (p.error) return h("div", { class: "prov error" }, `${p.event_id}: ${p.error}`);
  const e = p.recorded || {};
  const block = h("details", { class: "prov", open: open || null, dataset: { eventId: p.event_id } },
    h("summary", {}, h("code", { class: "event-id" }, p.event_id), " ", human(e.type)));
  const rows = [
    ["type", e.type],
    ["occurred", shownTime(e.occurred_at)],
    ["recorded", shownTime(e.recorded_at)],
    ["log position", e.partition !== undefined ? `partition ${e.partition}, offset ${e.offset}` : null],
    ["about", p.subject_event_id !== p.event_id ? p.subject_event_id : null],
  ].filter(([, v]) => v);
  block.append(h("dl", {}, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  block.append(h("h4", {}, "Sources"), sourceList(e.sources));
  if (p.sources_added && p.sources_added.length) {
    block.append(h("h4", {}, "Sources added"),
      sourceList(p.sources_added.map((r) => r.data && r.data.source)));
  }
  if (p.corrections && p.corrections.length) {
    block.append(h("h4", {}, "Corrections"), h("ol", {}, p.corrections.map((c) => h("li", {},
      `${shownTime(c.recorded_at)}: ${c.data && c.data.reason}`,
      h("pre", {}, JSON.stringify(c.data && c.data.changes, null, 1))))));
  }
  if (p.retraction) {
    block.append(h("p", { class: "retracted" },
      `Retracted ${shownTime(p.retraction.recorded_at)}: ${p.retraction.data && p.retraction.data.reason}`));
  }
  block.append(h("details", { class: "raw" }, h("summary", {}, "As recorded"),
    h("pre", {}, JSON.stringify(e.data, null, 1))));
  block.append(h("details", { class: "raw" }, h("summary", {}, "As believed now"),
    h("pre", {}, p.believed ? JSON.stringify(p.believed.data || p.believed, null, 1) : "nothing (retracted or superseded)")));
  return block;
}

function closeProvenance() {
  $("provenance").hidden = true;
  document.body.classList.remove("with-provenance");
  const selected = document.querySelector(".selected");
  if (selected) { selected.classList.remove("selected"); selected.focus({ preventScroll: true }); }
}

// ---- live updates -----------------------------------------------------------------------------

function connectStream() {
  if (stream) stream.close();
  const live = $("live");
  live.textContent = "connecting";
  live.className = "live";
  stream = new EventSource(`/v1/stream${query({ talks_id: view.talks, from: "now" })}`);
  stream.onopen = () => { live.textContent = "live"; live.className = "live on"; };
  stream.onerror = () => { live.textContent = "reconnecting"; live.className = "live off"; };
  const onEvent = (msg) => {
    try {
      const event = JSON.parse(msg.data);
      if (event.event_id) pending.add(event.event_id);
    } catch (_) { /* a message that is not an event: refresh anyway */ }
    scheduleLiveRefresh(250);
  };
  stream.onmessage = onEvent;
  for (const type of EVENT_TYPES) stream.addEventListener(type, onEvent);
}

// The stream can run ahead of the read models: refresh until the new events are in them.
function scheduleLiveRefresh(delay, attempt = 0) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    let timeline;
    try { timeline = await loadRange(); } catch (err) { status(err.message, true); return; }
    const seen = new Set(timeline.entries.flatMap((e) => [e.event_id, ...(e.event_ids || [])]));
    for (const id of [...pending]) if (seen.has(id)) pending.delete(id);
    await refresh();
    if (pending.size && attempt < 12) scheduleLiveRefresh(500, attempt + 1);
    else pending.clear();
  }, delay);
}

// ---- wiring -----------------------------------------------------------------------------------

async function selectTalks(talks) {
  view.talks = talks;
  writeUrl();
  try {
    await loadRange();
  } catch (err) {
    status(`Could not load the talks: ${err.message}`, true);
    return;
  }
  await refresh();
  connectStream();
}

function setAsOf(iso) {
  if (!iso || !/^\d{4}-\d{2}-\d{2}$/.test(iso)) return;
  view.asOf = iso;
  syncDateControls();
  clearTimeout(sliderTimer);
  sliderTimer = setTimeout(refresh, 120);
}

async function main() {
  readUrl();
  $("slider").addEventListener("input", (e) => setAsOf(isoDay(view.start + Number(e.target.value) * DAY)));
  $("as-of-date").addEventListener("change", (e) => setAsOf(e.target.value));
  $("known-at").addEventListener("change", async (e) => {
    view.knownAt = e.target.value || null;
    syncDateControls();
    await loadRange().catch(() => null);
    refresh();
  });
  $("known-at-clear").addEventListener("click", async () => {
    view.knownAt = null;
    syncDateControls();
    await loadRange().catch(() => null);
    refresh();
  });
  $("talks").addEventListener("change", (e) => { view.asOf = null; selectTalks(e.target.value); });
  $("provenance-close").addEventListener("click", closeProvenance);
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && !$("provenance").hidden) closeProvenance(); });

  let talks = [];
  try {
    talks = (await api("/v1/talks")).talks.map((t) => t.talks_id);
  } catch (err) {
    status(`Could not list the talks: ${err.message}`, true);
  }
  if (view.talks && !talks.includes(view.talks)) talks.unshift(view.talks);
  const select = $("talks");
  select.replaceChildren(...talks.map((id) => h("option", { value: id }, id)));
  if (!talks.length) { status("No talks recorded yet: load some events first."); return; }
  view.talks = view.talks || talks[0];
  select.value = view.talks;
  await selectTalks(view.talks);
}

main();
