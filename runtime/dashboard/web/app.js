// SPDX-License-Identifier: Apache-2.0
// The live cluster tree: the full state from /api/events, then deltas
// (see runtime/dashboard/state.hpp for their shape), rendered at most once
// a frame. Every text from the server goes through textContent, never
// innerHTML: actor names and failure texts are data, not markup.
"use strict";

const state = { nodes: {}, actors: {} };
const collapsed = (() => {
  try {
    return new Set(JSON.parse(localStorage.getItem("troupe.collapsed") || "[]"));
  } catch (e) {
    return new Set(); // unreadable: start expanded
  }
})();
let changed = new Set();
let pending = false;

const $ = (id) => document.getElementById(id);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}

function apply(delta) {
  for (const [k, v] of Object.entries(delta.nodes || {})) state.nodes[k] = v;
  for (const k of delta.nodes_removed || []) delete state.nodes[k];
  for (const part of ["added", "changed"])
    for (const [k, v] of Object.entries(delta[part] || {})) {
      state.actors[k] = v;
      changed.add(k);
    }
  for (const k of delta.removed || []) delete state.actors[k];
}

function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; render(); });
}

function matches(a, q) {
  return [a.path, a.type, a.global_name, a.last_failure, a.node]
    .some((s) => s && s.toLowerCase().includes(q));
}

function row(cells, cls) {
  const r = el("div", "row" + (cls ? " " + cls : ""));
  for (const c of cells) r.appendChild(c);
  return r;
}

function header() {
  return row(["actor", "status", "restarts", "mailbox", "msgs/s",
              "handler ms", "last failure"].map((t) => el("span", "", t)), "head");
}

function actorRow(key, a, depth, hasKids, q) {
  const name = el("span", "name");
  name.style.paddingLeft = depth * 1.2 + "em";
  const t = el("span", "toggle", hasKids ? (collapsed.has(key) ? "▸" : "▾") : "");
  if (hasKids) t.dataset.key = key;
  name.appendChild(t);
  const label = a.path.split("/").pop() || a.path;
  name.appendChild(document.createTextNode(label + (a.type ? " · " + a.type : "")
    + (a.global_name ? " · @" + a.global_name : "")
    + (a.persistence ? " · seq " + a.persistence.last_seq : "")));
  name.title = key;
  const failure = el("span", "failure", a.last_failure || "");
  failure.title = a.last_failure || "";
  const r = row([name,
    el("span", "status " + a.status, a.status),
    el("span", "num", a.restarts),
    el("span", "num", a.mailbox_bound ? a.mailbox + "/" + a.mailbox_bound : a.mailbox),
    el("span", "num", a.msgs_per_sec),
    el("span", "num", (a.handler_ns / 1e6).toFixed(1)),
    failure]);
  r.dataset.key = key;
  if (q && matches(a, q)) r.classList.add("hit");
  if (changed.has(key)) r.classList.add("flash");
  return r;
}

function render() {
  const q = $("search").value.trim().toLowerCase();
  const kids = new Map(); // parent key ("" for roots of a tree) -> child keys
  for (const [k, a] of Object.entries(state.actors)) {
    const p = a.parent && state.actors[a.parent] ? a.parent : a.tree + ":";
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(k);
  }
  for (const list of kids.values())
    list.sort((x, y) => state.actors[x].path.localeCompare(state.actors[y].path));
  // With a search: the hits and their ancestors, everything expanded.
  let keep = null;
  if (q) {
    keep = new Set();
    for (const [k, a] of Object.entries(state.actors))
      if (matches(a, q))
        for (let c = k; c && state.actors[c] && !keep.has(c); c = state.actors[c].parent)
          keep.add(c);
  }
  const out = document.createDocumentFragment();
  let shown = 0;
  const walk = (parent, depth) => {
    for (const k of kids.get(parent) || []) {
      if (keep && !keep.has(k)) continue;
      const has = kids.has(k);
      out.appendChild(actorRow(k, state.actors[k], depth, has, q));
      shown++;
      if (has && (keep || !collapsed.has(k))) walk(k, depth + 1);
    }
  };
  for (const name of Object.keys(state.nodes).sort()) {
    const n = state.nodes[name];
    const box = el("section", "node " + n.status + (n.reachable ? "" : " unreachable"));
    box.appendChild(el("h2", "", name + " — " + n.status
      + (n.reachable ? "" : " (unreachable: " + n.error + ")")
      + " · dead letters " + n.dead_letters));
    out.appendChild(box);
    out.appendChild(header());
    walk(name + ":", 0);
  }
  $("tree").replaceChildren(out);
  $("summary").textContent = Object.keys(state.nodes).length + " nodes, "
    + Object.keys(state.actors).length + " actors" + (q ? ", " + shown + " shown" : "");
  changed = new Set();
}

function saveCollapsed() {
  localStorage.setItem("troupe.collapsed", JSON.stringify([...collapsed]));
}

$("tree").addEventListener("click", (e) => {
  const key = e.target.dataset && e.target.dataset.key;
  if (!key || !e.target.classList.contains("toggle")) return;
  if (collapsed.has(key)) collapsed.delete(key); else collapsed.add(key);
  saveCollapsed();
  schedule();
});
$("search").addEventListener("input", schedule);
$("expand").addEventListener("click", () => { collapsed.clear(); saveCollapsed(); schedule(); });
$("collapse").addEventListener("click", () => {
  for (const [k, a] of Object.entries(state.actors)) if (a.kind === "supervisor") collapsed.add(k);
  saveCollapsed();
  schedule();
});

// EventSource reconnects by itself and sends Last-Event-ID: the server
// answers with the deltas missed, or a full state.
const events = new EventSource("api/events");
events.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "conn on"; });
events.addEventListener("error", () => { $("conn").textContent = "reconnecting"; $("conn").className = "conn off"; });
events.addEventListener("full", (e) => {
  const s = JSON.parse(e.data);
  state.nodes = s.nodes; state.actors = s.actors;
  changed = new Set();
  schedule();
});
events.addEventListener("delta", (e) => { apply(JSON.parse(e.data)); schedule(); });
