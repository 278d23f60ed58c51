// SPDX-License-Identifier: Apache-2.0
// The cluster views: members and the timeline of their changes (each as
// seen by every node that saw it, with its detection time), the flows
// (per node: messages over direct links, dead letters by reason, refused
// connections), and the top actors by mailbox, rate and time in handlers.
"use strict";

(() => {
  const { el, table, time } = troupe;

  const sum = (o) => Object.values(o || {}).reduce((x, y) => x + y, 0);
  const reasons = (o) => Object.entries(o || {}).filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${v}`).join(", ") || "none";

  // One row per (member, incarnation, change), with every observer.
  function timeline() {
    const groups = new Map();
    for (const e of Object.values(troupe.state.timeline)) {
      const key = `${e.member}|${e.incarnation}|${e.change}`;
      let g = groups.get(key);
      if (!g) {
        g = { ms: e.ms, member: e.member, incarnation: e.incarnation,
              change: e.change, why: e.why, seen: [] };
        groups.set(key, g);
      }
      g.ms = Math.min(g.ms, e.ms);
      g.seen.push(e);
    }
    return [...groups.values()].sort((x, y) => y.ms - x.ms);
  }

  function renderMembers(view) {
    const s = troupe.state;
    const out = document.createDocumentFragment();
    out.appendChild(el("h2", "", "members"));
    out.appendChild(table("members", ["node", "status", "incarnation", "address", "answers", "actors"],
      Object.keys(s.nodes).sort().map((name) => {
        const n = s.nodes[name];
        const actors = Object.values(s.actors).filter((a) => a.tree === name).length;
        return [name, n.status, n.incarnation, `${n.host}:${n.port}`,
                n.reachable ? "yes" : "no: " + n.error, actors];
      })));
    out.appendChild(el("h2", "", "timeline"));
    const rows = timeline();
    if (rows.length === 0) out.appendChild(el("p", "muted", "nothing happened yet"));
    else {
      const t = table("timeline", ["time", "member", "incarnation", "change", "why", "detected after", "seen by"],
        rows.map((g) => [time(g.ms), g.member, g.incarnation, g.change, g.why,
          g.seen.filter((e) => e.silent_ms >= 0).map((e) => `${e.silent_ms} ms (${e.observer})`).join(", "),
          g.seen.map((e) => e.observer).sort().join(", ")]));
      [...t.rows].slice(1).forEach((r, i) => { r.className = "change-" + rows[i].change; });
      out.appendChild(t);
    }
    view.replaceChildren(out);
    return rows.length + " changes";
  }

  function renderFlows(view) {
    const s = troupe.state;
    const out = document.createDocumentFragment();
    out.appendChild(el("h2", "", "flows by node"));
    out.appendChild(table("flows", ["node", "link frames out", "link frames in", "dead letters", "by reason", "mailbox drops", "refused connections"],
      Object.keys(s.nodes).sort().map((name) => {
        const n = s.nodes[name];
        return [name, n.link_frames_out, n.link_frames_in, n.dead_letters,
                reasons(n.dead_letters_by_reason), n.mailbox_dropped,
                `${sum(n.refused_by_reason)}: ${reasons(n.refused_by_reason)}`];
      })));
    view.replaceChildren(out);
    return "";
  }

  function top(by, label, fmt) {
    const list = Object.entries(troupe.state.actors)
      .filter(([, a]) => by(a) > 0).sort((x, y) => by(y[1]) - by(x[1])).slice(0, 10);
    const box = el("div", "top");
    box.appendChild(el("h3", "", label));
    if (list.length === 0) { box.appendChild(el("p", "muted", "none")); return box; }
    box.appendChild(table("top", ["actor", label], list.map(([k, a]) => {
      const link = el("a", "", k);
      link.href = "#actor=" + encodeURIComponent(k);
      return [link, fmt(by(a))];
    })));
    return box;
  }

  function renderTop(view) {
    const out = document.createDocumentFragment();
    out.appendChild(top((a) => a.mailbox, "mailbox", (x) => x));
    out.appendChild(top((a) => a.msgs_per_sec, "msgs/s", (x) => x));
    out.appendChild(top((a) => a.handler_ns, "ms in handlers", (x) => (x / 1e6).toFixed(1)));
    out.appendChild(top((a) => a.restarts, "restarts", (x) => x));
    view.replaceChildren(out);
    return "";
  }

  troupe.views.members = { render: renderMembers };
  troupe.views.flows = { render: renderFlows };
  troupe.views.top = { render: renderTop };
})();
