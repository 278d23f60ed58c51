// SPDX-License-Identifier: Apache-2.0
// The tree view: every node's supervision trees, with search and
// collapsible supervisors (kept in localStorage). A click on an actor
// opens its page.
"use strict";

(() => {
  const { $, el } = troupe;
  const collapsed = (() => {
    try {
      return new Set(JSON.parse(localStorage.getItem("troupe.collapsed") || "[]"));
    } catch (e) {
      return new Set(); // unreadable: start expanded
    }
  })();

  const save = () => localStorage.setItem("troupe.collapsed", JSON.stringify([...collapsed]));

  const matches = (a, q) => [a.path, a.type, a.global_name, a.last_failure, a.node,
    a.children_unknown ? "children not reported in time" : ""]
    .some((s) => s && s.toLowerCase().includes(q));

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
    // A supervisor that did not list its children in time: its subtree is
    // missing from this snapshot, not empty.
    if (a.children_unknown) {
      const mark = el("span", "unknown-kids", " ⚠ children not reported in time");
      mark.title = "this supervisor did not answer the snapshot's walk in time (busy or blocked): its children are not shown";
      name.appendChild(mark);
    }
    const failure = el("span", "failure", a.last_failure || "");
    failure.title = a.last_failure || "";
    const r = row([name,
      el("span", "status " + a.status, a.status),
      el("span", "num restarts", a.restarts),
      el("span", "num", a.mailbox_bound ? a.mailbox + "/" + a.mailbox_bound : a.mailbox),
      el("span", "num", a.msgs_per_sec),
      el("span", "num", (a.handler_ns / 1e6).toFixed(1)),
      failure]);
    r.dataset.actor = key;
    if (q && matches(a, q)) r.classList.add("hit");
    if (troupe.changed.has(key)) r.classList.add("flash");
    return r;
  }

  // Above this many lines the tree draws only the lines in and near the
  // window (fixed height each), so 10,000 actors cost what a screenful does.
  const VIRTUAL_FROM = 1000;
  const LINE_PX = 24;

  function nodeHead(name) {
    const n = troupe.state.nodes[name];
    const box = el("section", "node " + n.status + (n.reachable ? "" : " unreachable"));
    box.dataset.node = name;
    box.appendChild(el("h2", "", name + " — " + n.status
      + (n.reachable ? "" : " (unreachable: " + n.error + ")")
      + " · dead letters " + n.dead_letters));
    return box;
  }

  function render(view) {
    const s = troupe.state;
    const q = $("search").value.trim().toLowerCase();
    const kids = new Map(); // parent key ("<tree>:" for roots) -> child keys
    for (const [k, a] of Object.entries(s.actors)) {
      const p = a.parent && s.actors[a.parent] ? a.parent : a.tree + ":";
      if (!kids.has(p)) kids.set(p, []);
      kids.get(p).push(k);
    }
    for (const list of kids.values())
      list.sort((x, y) => s.actors[x].path.localeCompare(s.actors[y].path));
    // With a search: the hits and their ancestors, everything expanded.
    let keep = null;
    if (q) {
      keep = new Set();
      for (const [k, a] of Object.entries(s.actors))
        if (matches(a, q))
          for (let c = k; c && s.actors[c] && !keep.has(c); c = s.actors[c].parent)
            keep.add(c);
    }
    // The lines to show, in order: a node's heading, the column heads, its
    // actors depth first.
    const lines = [];
    const walk = (parent, depth) => {
      for (const k of kids.get(parent) || []) {
        if (keep && !keep.has(k)) continue;
        const has = kids.has(k);
        lines.push({ key: k, depth, has });
        if (has && (keep || !collapsed.has(k))) walk(k, depth + 1);
      }
    };
    let shown = 0;
    for (const name of Object.keys(s.nodes).sort()) {
      lines.push({ node: name });
      lines.push({ head: true });
      const before = lines.length;
      walk(name + ":", 0);
      shown += lines.length - before;
    }
    const make = (x) => x.node !== undefined ? nodeHead(x.node)
      : x.head ? header() : actorRow(x.key, s.actors[x.key], x.depth, x.has, q);
    const out = document.createDocumentFragment();
    if (lines.length <= VIRTUAL_FROM) {
      view.classList.remove("virtual");
      for (const x of lines) out.appendChild(make(x));
    } else {
      view.classList.add("virtual");
      const top = view.getBoundingClientRect().top + window.scrollY;
      const first = Math.max(0, Math.floor((window.scrollY - top) / LINE_PX) - 30);
      const last = Math.min(lines.length, first + Math.ceil(window.innerHeight / LINE_PX) + 60);
      const spacer = el("div", "vspacer");
      spacer.style.height = lines.length * LINE_PX + "px";
      const win = el("div", "vwindow");
      win.style.transform = `translateY(${first * LINE_PX}px)`;
      for (let i = first; i < last; i++) win.appendChild(make(lines[i]));
      spacer.appendChild(win);
      out.appendChild(spacer);
    }
    view.replaceChildren(out);
    return q ? shown + " shown" : "";
  }

  function click(e) {
    const key = e.target.dataset && e.target.dataset.key;
    if (key && e.target.classList.contains("toggle")) {
      if (collapsed.has(key)) collapsed.delete(key); else collapsed.add(key);
      save();
      troupe.schedule();
      return;
    }
    const r = e.target.closest && e.target.closest(".row[data-actor]");
    if (r) location.hash = "actor=" + encodeURIComponent(r.dataset.actor);
  }

  function expandAll() { collapsed.clear(); save(); troupe.schedule(); }

  function collapseAll() {
    for (const [k, a] of Object.entries(troupe.state.actors))
      if (a.kind === "supervisor") collapsed.add(k);
    save();
    troupe.schedule();
  }

  // Scrolling a long tree draws the lines that come into view.
  window.addEventListener("scroll", () => {
    if (!$("view-tree").hidden && $("view-tree").classList.contains("virtual"))
      troupe.schedule();
  }, { passive: true });

  troupe.views.tree = { render, click, expandAll, collapseAll };
})();
