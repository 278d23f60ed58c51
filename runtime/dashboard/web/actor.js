// SPDX-License-Identifier: Apache-2.0
// An actor's page (#actor=<key>): its figures, sparklines of its rate and
// mailbox (the server's history of it, then the page's own points), its
// supervisor chain, its last failures
// with what the supervisor decided, and the kill actions (token needed).
"use strict";

(() => {
  const { el, table, time, sparkline } = troupe;

  function chain(key) {
    const s = troupe.state;
    const out = el("ol", "chain");
    const keys = [];
    for (let k = key, n = 0; k && s.actors[k] && n < 64; k = s.actors[k].parent, n++) keys.unshift(k);
    for (const k of keys) {
      const li = el("li");
      const a = el("a", "", s.actors[k].path);
      a.href = "#actor=" + encodeURIComponent(k);
      li.appendChild(a);
      li.appendChild(document.createTextNode(" · " + s.actors[k].status
        + (s.actors[k].restarts ? " · " + s.actors[k].restarts + " restarts" : "")));
      out.appendChild(li);
    }
    return out;
  }

  async function act(a, mode, result) {
    const token = troupe.$("token").value;
    sessionStorage.setItem("troupe.token", token);
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    result.textContent = "…";
    result.className = "result";
    try {
      const res = await fetch("api/kill", {
        method: "POST", headers, body: JSON.stringify({ node: a.tree, path: a.path, mode }),
      });
      const body = await res.json().catch(() => ({}));
      result.textContent = res.ok ? `${mode === "throw" ? "failed" : "killed"} ${a.path}`
        + (a.tree !== troupe.state.answered_by ? ` on ${a.tree}` : "")
        : `refused (${res.status}): ${body.error || res.statusText}`;
      result.className = "result " + (res.ok ? "ok" : "refused");
    } catch (e) {
      result.textContent = "no answer: " + e;
      result.className = "result refused";
    }
  }

  function actions(a) {
    // An actor of another member's trees: this node forwards the action
    // to that member (the token is this node's).
    const box = el("div", "actions");
    const token = el("input");
    token.id = "token";
    token.type = "password";
    token.placeholder = "token (--http-token)";
    token.autocomplete = "off";
    token.value = sessionStorage.getItem("troupe.token") || "";
    const result = el("span", "result");
    result.id = "action-result";
    const exit = el("button", "", "kill (exit)");
    exit.id = "kill-exit";
    exit.type = "button";
    exit.onclick = () => act(a, "exit", result);
    const thr = el("button", "", "fail (throw)");
    thr.id = "kill-throw";
    thr.type = "button";
    thr.onclick = () => act(a, "throw", result);
    for (const x of [token, exit, thr, result]) box.appendChild(x);
    return box;
  }

  // The inputs of the open page survive re-renders (a token being typed).
  let shownKey = null;

  function render(view) {
    const key = troupe.selected;
    const a = troupe.state.actors[key];
    if (!a) {
      view.replaceChildren(el("p", "muted", `No actor ${key} in the cluster now.`));
      shownKey = null;
      return "";
    }
    if (shownKey !== key) {
      const top = el("div", "actor-head");
      const back = el("a", "", "← tree");
      back.href = "#tree";
      top.appendChild(back);
      top.appendChild(el("h2", "", key));
      const body = el("div", "actor-body");
      body.id = "actor-body";
      view.replaceChildren(top, body, actions(a));
      shownKey = key;
    }
    const f = [
      ["node", a.node], ["type", a.type], ["kind", a.kind],
      ["status", a.status], ["restarts", a.restarts],
      ["restart type", a.restart], ["cluster name", a.global_name],
      ["messages", a.messages], ["msgs/s", a.msgs_per_sec],
      ["mailbox", a.mailbox_bound ? `${a.mailbox} of ${a.mailbox_bound} (${a.overflow}, ${a.dropped} dropped)` : a.mailbox],
      ["time in handlers", (a.handler_ns / 1e6).toFixed(1) + " ms, longest " + (a.handler_ns_max / 1e6).toFixed(2) + " ms"],
    ];
    if (a.persistence)
      f.push(["persistence", `${a.persistence.id} · seq ${a.persistence.last_seq} · epoch ${a.persistence.epoch}`]);
    const out = document.createDocumentFragment();
    out.appendChild(table("facts", ["", ""], f.filter((x) => x[1] !== "" && x[1] !== undefined)));
    const sparks = el("div", "sparks");
    sparks.appendChild(sparkline("msgs/s", troupe.series.map((p) => p.rate), troupe.series, "actor-rate"));
    sparks.appendChild(sparkline("mailbox", troupe.series.map((p) => p.mailbox), troupe.series, "actor-mailbox"));
    out.appendChild(sparks);
    out.appendChild(el("h3", "", "supervisor chain"));
    out.appendChild(chain(key));
    out.appendChild(el("h3", "", "failures"));
    const failures = (a.failures || []).slice().reverse();
    if (failures.length === 0)
      out.appendChild(el("p", "muted", a.restarts ? "restarted, no failure kept" : "no failure"));
    else
      out.appendChild(table("failures", ["time", "failure", "supervisor decided"],
        failures.map((x) => [time(x.ms), x.failure, x.decision])));
    view.querySelector("#actor-body").replaceChildren(out);
    return "";
  }

  troupe.views.actor = { render };
})();
