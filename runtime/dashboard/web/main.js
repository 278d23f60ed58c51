// SPDX-License-Identifier: Apache-2.0
// Starts the page: the live connection, the views by location hash
// (#tree, #members, #flows, #top, #actor=<key>), a render at most once a
// frame.
"use strict";

(() => {
  const { $ } = troupe;
  let pending = false;
  let current = "tree";

  function route() {
    const h = decodeURIComponent(location.hash.replace(/^#/, ""));
    if (h.startsWith("actor=")) {
      const key = h.slice(6);
      if (troupe.selected !== key) {
        troupe.selected = key;
        troupe.series = [];
        troupe.sample();
        troupe.loadActorHistory(key);
      }
      current = "actor";
    } else {
      troupe.selected = null;
      current = troupe.views[h] ? h : "tree";
    }
    for (const v of ["tree", "members", "flows", "top", "actor"])
      $("view-" + v).hidden = v !== current;
    for (const a of document.querySelectorAll("#tabs a"))
      a.classList.toggle("on", a.dataset.view === current);
    for (const id of ["search", "expand", "collapse"]) $(id).hidden = current !== "tree";
    troupe.schedule();
  }

  // How long renders take (read by tools/bench/dashboard_page.py).
  troupe.renders = { count: 0, last_ms: 0, max_ms: 0, total_ms: 0 };

  function render() {
    const t0 = performance.now();
    draw();
    const ms = performance.now() - t0;
    const r = troupe.renders;
    r.count++;
    r.last_ms = ms;
    r.max_ms = Math.max(r.max_ms, ms);
    r.total_ms += ms;
  }

  function draw() {
    const extra = troupe.views[current].render($("view-" + current)) || "";
    const s = troupe.state;
    $("summary").textContent = Object.keys(s.nodes).length + " nodes, "
      + Object.keys(s.actors).length + " actors" + (extra ? ", " + extra : "")
      + (s.answered_by ? " · served by " + s.answered_by : "");
    troupe.changed = new Set();
  }

  troupe.schedule = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  };

  $("view-tree").addEventListener("click", troupe.views.tree.click);
  $("search").addEventListener("input", troupe.schedule);
  $("expand").addEventListener("click", troupe.views.tree.expandAll);
  $("collapse").addEventListener("click", troupe.views.tree.collapseAll);
  window.addEventListener("hashchange", route);

  // EventSource reconnects by itself and sends Last-Event-ID: the server
  // answers with the deltas missed, or a full state.
  const events = new EventSource("api/events");
  events.addEventListener("open", () => { $("conn").textContent = "live"; $("conn").className = "conn on"; });
  events.addEventListener("error", () => { $("conn").textContent = "reconnecting"; $("conn").className = "conn off"; });
  // The members' and links' history: at load, then every 5 s while a view
  // that draws it is open.
  const refreshHistory = () => troupe.loadHistory().then(troupe.schedule);
  setInterval(() => {
    if (!document.hidden && (current === "members" || current === "flows")) refreshHistory();
  }, 5000);
  window.addEventListener("hashchange", () => {
    if (current === "members" || current === "flows") refreshHistory();
  });
  events.addEventListener("full", (e) => {
    troupe.load(JSON.parse(e.data));
    refreshHistory();
    troupe.sample();
    troupe.sampleFlows();
    troupe.schedule();
  });
  events.addEventListener("delta", (e) => {
    const d = JSON.parse(e.data);
    troupe.apply(d);
    troupe.sample(d.t);
    troupe.sampleFlows(d.t);
    troupe.schedule();
  });
  route();
})();
