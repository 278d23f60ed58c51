// SPDX-License-Identifier: Apache-2.0
// The cluster views: members with their last 15 minutes (the server's
// history) and the timeline of their changes (each as
// seen by every node that saw it, with its detection time), the flows (a
// graph of the direct links with each direction's messages and bytes per
// second; per node: dead letters by reason, refused connections), and the
// top actors by mailbox, rate and time in handlers.
"use strict";

(() => {
  const { el, table, time, sparkline, points } = troupe;

  // A member's last 15 minutes (the server's history): messages per
  // second, mailboxes, restarts and dead letters.
  function nodeHistory(name) {
    const box = el("div", "sparks");
    box.dataset.node = name;
    box.appendChild(el("h3", "", name + " · last 15 minutes"));
    const ps = points(troupe.history.nodes && troupe.history.nodes[name]);
    for (const [k, label] of [["msgs_per_sec", "msgs/s"], ["mailbox", "mailbox"],
                              ["restarts", "restarts"], ["dead_letters", "dead letters"]])
      box.appendChild(sparkline(label, ps.map((p) => p[k]), ps, "node-" + k));
    return box;
  }

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
    out.appendChild(el("h2", "", "history"));
    for (const name of Object.keys(s.nodes).sort()) out.appendChild(nodeHistory(name));
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

  const human = (b) => b >= 1e6 ? (b / 1e6).toFixed(1) + " MB" : b >= 1e3 ? (b / 1e3).toFixed(1) + " kB" : Math.round(b) + " B";
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = (tag, attrs, text) => {
    const e = document.createElementNS(svgNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  };

  // The members on a circle, a line per pair that has a direct link, with
  // each direction's messages and bytes per second.
  function graph(names) {
    const w = 640, h = 360, r = Math.min(w, h) / 2 - 60;
    const at = {};
    names.forEach((n, i) => {
      const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, names.length);
      at[n] = [w / 2 + r * Math.cos(a), h / 2 + r * Math.sin(a)];
    });
    const g = svg("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, class: "flowgraph" });
    const s = troupe.state;
    const done = new Set();
    for (const a of names)
      for (const b of Object.keys((s.nodes[a] || {}).links || {})) {
        if (!at[b] || done.has(b + "|" + a)) continue;
        done.add(a + "|" + b);
        const live = (n) => s.nodes[n].reachable && s.nodes[n].status === "up";
        if (!live(a) || !live(b)) {
          g.appendChild(svg("line", { x1: at[a][0], y1: at[a][1], x2: at[b][0], y2: at[b][1],
                                      class: "edge gone" }));
          continue;
        }
        const ab = troupe.flowRate(a + ">" + b), ba = troupe.flowRate(b + ">" + a);
        const busy = ab.msgs + ba.msgs > 0;
        g.appendChild(svg("line", { x1: at[a][0], y1: at[a][1], x2: at[b][0], y2: at[b][1],
                                    class: busy ? "edge busy" : "edge" }));
        // Each direction's label nearer its sender.
        const along = (from, to, f) => [from[0] + (to[0] - from[0]) * f, from[1] + (to[1] - from[1]) * f];
        const [x1, y1] = along(at[a], at[b], 0.3), [x2, y2] = along(at[b], at[a], 0.3);
        g.appendChild(svg("text", { x: x1, y: y1 - 6, class: "rate" },
          `${a}→${b} ${Math.round(ab.msgs)}/s ${human(ab.bytes)}/s`));
        g.appendChild(svg("text", { x: x2, y: y2 + 14, class: "rate" },
          `${b}→${a} ${Math.round(ba.msgs)}/s ${human(ba.bytes)}/s`));
      }
    for (const n of names) {
      const node = s.nodes[n];
      g.appendChild(svg("circle", { cx: at[n][0], cy: at[n][1], r: 22,
                                    class: "member " + (node.reachable ? node.status : "unreachable") }));
      g.appendChild(svg("text", { x: at[n][0], y: at[n][1] + 4, class: "label" }, n));
    }
    return g;
  }

  function renderFlows(view) {
    const s = troupe.state;
    const names = Object.keys(s.nodes).sort();
    const out = document.createDocumentFragment();
    out.appendChild(el("h2", "", "direct links"));
    out.appendChild(graph(names));
    const links = [];
    for (const a of names)
      for (const [b, c] of Object.entries(s.nodes[a].links || {})) {
        const r = troupe.flowRate(a + ">" + b);
        const ps = points(troupe.history.links && troupe.history.links[a + ">" + b]);
        const spark = sparkline("msgs/s", ps.map((p) => p.msgs_per_sec), ps, "link-msgs_per_sec");
        spark.dataset.link = a + ">" + b;
        links.push([a, b, Math.round(r.msgs), human(r.bytes) + "/s", c.frames_out, human(c.bytes_out), spark]);
      }
    out.appendChild(table("links", ["from", "to", "msgs/s", "bytes/s", "frames sent", "bytes sent", "last 15 minutes"], links));
    out.appendChild(el("h2", "", "by node"));
    out.appendChild(table("flows", ["node", "link frames out", "link frames in", "dead letters", "by reason", "mailbox drops", "refused connections"],
      names.map((name) => {
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
