// SPDX-License-Identifier: Apache-2.0
// The page's state and its helpers, shared by the views (tree.js,
// actor.js, members.js) and started by main.js: the full state from
// /api/events, then deltas (runtime/dashboard/state.hpp has their shape).
// Every text from the server goes through textContent, never innerHTML:
// actor names and failure texts are data, not markup.
"use strict";

const troupe = {
  state: { answered_by: "", nodes: {}, actors: {}, timeline: {} },
  // Keys of actors added or changed since the last render (they flash).
  changed: new Set(),
  // The actor whose page is open, and its figures since it was opened.
  selected: null,
  series: [],
  views: {},
  // Per direct link "<node>><peer>": the last counts seen, and the rates
  // between the last two updates that carried them.
  flowSeen: {},
  flowRates: {},
  // The server's history (GET /api/history): per member and per link,
  // columns "ms" and one per figure, up to 15 minutes back.
  history: { nodes: {}, links: {} },
};

troupe.$ = (id) => document.getElementById(id);

troupe.el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
};

troupe.time = (ms) => {
  if (!ms) return "";
  const d = new Date(ms);
  return d.toLocaleTimeString([], { hour12: false }) + "."
    + String(d.getMilliseconds()).padStart(3, "0");
};

troupe.apply = (delta) => {
  const s = troupe.state;
  for (const [k, v] of Object.entries(delta.nodes || {})) s.nodes[k] = v;
  for (const k of delta.nodes_removed || []) delete s.nodes[k];
  for (const part of ["added", "changed"])
    for (const [k, v] of Object.entries(delta[part] || {})) {
      s.actors[k] = v;
      troupe.changed.add(k);
    }
  for (const k of delta.removed || []) delete s.actors[k];
  for (const [k, v] of Object.entries(delta.timeline || {})) s.timeline[k] = v;
  for (const k of delta.timeline_removed || []) delete s.timeline[k];
};

troupe.load = (full) => {
  troupe.state = {
    answered_by: full.answered_by || "",
    nodes: full.nodes || {},
    actors: full.actors || {},
    timeline: full.timeline || {},
  };
  troupe.changed = new Set();
};

// One point per update while an actor's page is open: 15 minutes at most.
troupe.sample = (t) => {
  const a = troupe.selected && troupe.state.actors[troupe.selected];
  if (!a) return;
  troupe.series.push({ t: t || Date.now(), rate: a.msgs_per_sec, mailbox: a.mailbox });
  const since = Date.now() - 15 * 60 * 1000;
  while (troupe.series.length > 0 && troupe.series[0].t < since) troupe.series.shift();
};

// A sparkline of `values`; `points` (with `t`, Unix ms) dates them: the
// figure's data-first-ms says how far back it reaches (the browser test
// reads it), and `id` names it.
const svgNS = "http://www.w3.org/2000/svg";
troupe.sparkline = (label, values, points, id) => {
  const box = troupe.el("figure", "spark");
  if (id) box.dataset.spark = id;
  box.dataset.points = values.length;
  if (points && points.length) box.dataset.firstMs = points[0].t;
  const w = 240, h = 40;
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", h);
  const max = Math.max(1, ...values);
  if (values.length > 0) {
    const step = values.length > 1 ? w / (values.length - 1) : 0;
    const pts = values.map((v, i) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`);
    const line = document.createElementNS(svgNS, "polyline");
    line.setAttribute("points", pts.length === 1 ? pts[0] + " " + w + "," + pts[0].split(",")[1] : pts.join(" "));
    svg.appendChild(line);
  }
  box.appendChild(svg);
  const last = values.length ? values[values.length - 1] : 0;
  const since = points && points.length ? " since " + troupe.time(points[0].t) : "";
  box.appendChild(troupe.el("figcaption", "", `${label}: ${last} (max ${max})${since}`));
  return box;
};

// Columns {ms: [...], name: [...]} as points [{t, name...}]; fields that
// are not columns (an answer's "key", its "t") are left out.
troupe.points = (cols) => (cols && Array.isArray(cols.ms) ? cols.ms.map((ms, i) => {
  const p = {};
  for (const [k, v] of Object.entries(cols)) if (k !== "ms" && Array.isArray(v)) p[k] = v[i];
  p.t = ms;
  return p;
}) : []);

troupe.loadHistory = async () => {
  try {
    const res = await fetch("api/history");
    if (res.ok) troupe.history = await res.json();
  } catch (e) {
    // Keep the last one: the live connection says when the node is gone.
  }
};

// The open actor's history on the server, before the page's own points.
troupe.loadActorHistory = async (key) => {
  try {
    const res = await fetch("api/history/actor/" + encodeURIComponent(key));
    if (!res.ok || troupe.selected !== key) return;
    const past = troupe.points(await res.json())
      .map((p) => ({ t: p.t, rate: p.msgs_per_sec, mailbox: p.mailbox }));
    const first = troupe.series.length ? troupe.series[0].t : Infinity;
    troupe.series = past.filter((p) => p.t < first).concat(troupe.series);
    troupe.schedule();
  } catch (e) {
    // No history: the page's own points only.
  }
};

// Rates of every direct link, from the counters in the nodes' state at
// each update; a rate older than 3 s reads as 0 (no update: no change).
troupe.sampleFlows = (t) => {
  const now = t || Date.now();
  for (const [name, n] of Object.entries(troupe.state.nodes))
    for (const [peer, c] of Object.entries(n.links || {})) {
      const key = name + ">" + peer;
      const prev = troupe.flowSeen[key];
      // Counts that went down belong to a new link (the old one closed).
      if (prev && now > prev.t)
        troupe.flowRates[key] = c.frames_out < prev.frames_out
          ? { t: Date.now(), msgs: 0, bytes: 0 }
          : { t: Date.now(),
              msgs: (c.frames_out - prev.frames_out) * 1000 / (now - prev.t),
              bytes: (c.bytes_out - prev.bytes_out) * 1000 / (now - prev.t) };
      troupe.flowSeen[key] = { t: now, frames_out: c.frames_out, bytes_out: c.bytes_out };
    }
};

troupe.flowRate = (key) => {
  const r = troupe.flowRates[key];
  return r && Date.now() - r.t < 3000 ? r : { msgs: 0, bytes: 0 };
};

// A small table: `head` names, `rows` arrays of cells (text or elements).
troupe.table = (cls, head, rows) => {
  const t = troupe.el("table", cls);
  const tr = troupe.el("tr");
  for (const h of head) tr.appendChild(troupe.el("th", "", h));
  t.appendChild(tr);
  for (const r of rows) {
    const row = troupe.el("tr");
    for (const c of r) {
      const td = troupe.el("td");
      if (c instanceof Node) td.appendChild(c); else td.textContent = c === undefined ? "" : String(c);
      row.appendChild(td);
    }
    t.appendChild(row);
  }
  return t;
};
