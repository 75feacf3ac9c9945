// The ops dashboard: polls /api/ops/overview and redraws. No dependencies, no CDN.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const REFRESH_MS = Math.max(500, Number(params.get("refresh") || 2000));
  let key = sessionStorage.getItem("opsKey") || "";
  let selected = null;

  const $ = (sel) => document.querySelector(sel);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k === "style") e.style.cssText = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
    }
    for (const kid of kids) e.append(kid instanceof Node ? kid : document.createTextNode(kid == null ? "" : String(kid)));
    return e;
  };
  const secs = (s) => (s == null ? "–" : s < 1 ? `${Math.round(s * 1000)} ms` : s < 120 ? `${s.toFixed(1)} s` : `${Math.round(s / 60)} min`);
  const api = async (path, opts) => {
    const headers = Object.assign({ Accept: "application/json" }, (opts && opts.headers) || {});
    if (key) headers.Authorization = `Bearer ${key}`;
    const resp = await fetch(path, Object.assign({}, opts, { headers }));
    if (resp.status === 401 || resp.status === 403) { $("#keyform").hidden = false; throw new Error("An admin key is needed."); }
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.detail || resp.statusText);
    return body;
  };

  function drawWorkers(workers) {
    const tbody = $("#workers tbody");
    tbody.replaceChildren(...workers.map((w) => el("tr", { "data-worker": w.hostname },
      el("td", {}, el("span", { class: "dot" + (w.online ? " on" : "") }), w.hostname),
      el("td", { class: "pool" }, w.poolSize ?? "–"),
      el("td", {}, w.active ?? "–"),
      el("td", {}, w.processed ?? "–"),
      el("td", {}, w.heartbeatAge == null ? "–" : `${w.heartbeatAge.toFixed(1)} s`),
      el("td", {}, w.online ? el("span", {},
        el("button", { class: "small", title: "shrink pool", onclick: () => pool(w.hostname, "shrink") }, "−"),
        el("button", { class: "small", title: "grow pool", onclick: () => pool(w.hostname, "grow") }, "+")) : ""))));
    const online = workers.filter((w) => w.online).length;
    $("#workers-online").textContent = `${online} online`;
  }

  async function pool(hostname, action) {
    try { await api(`/api/ops/workers/${encodeURIComponent(hostname)}/pool`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ action, n: 1 }) }); refresh(); }
    catch (e) { showProblem(e.message); }
  }

  // Queue depth over the last 30 minutes: the monitor's samples plus the live value.
  function drawQueue(history, now, depth) {
    const svg = $("#queue-chart"), ns = "http://www.w3.org/2000/svg", W = 600, H = 140, SPAN = 1800;
    const points = history.map((s) => [s.at, s.depth]).concat([[now, depth]]);
    const max = Math.max(1, ...points.map((p) => p[1]));
    const xy = (p) => `${(Math.max(0, p[0] - (now - SPAN)) / SPAN) * W},${H - 4 - (p[1] / max) * (H - 22)}`;
    const area = document.createElementNS(ns, "polygon");
    area.setAttribute("points", `${xy([points[0][0], 0])} ${points.map(xy).join(" ")} ${xy([now, 0])}`);
    area.setAttribute("fill", "rgba(47,111,219,0.15)");
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map(xy).join(" ")); line.setAttribute("fill", "none");
    line.setAttribute("stroke", "#2f6fdb"); line.setAttribute("stroke-width", "2");
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", "4"); label.setAttribute("y", "14"); label.setAttribute("font-size", "11"); label.setAttribute("fill", "#6b7385");
    label.textContent = `max ${max} · 30 min`;
    svg.replaceChildren(area, line, label);
  }

  function drawThroughput(buckets) {
    const svg = $("#tp-chart"), ns = "http://www.w3.org/2000/svg", W = 600, H = 140;
    const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed + b.cancelled));
    const bw = W / Math.max(1, buckets.length);
    const rects = [];
    buckets.forEach((b, i) => {
      let y = H;
      for (const [k, color] of [["succeeded", "#2e9d5b"], ["failed", "#d4423b"], ["cancelled", "#9aa1ad"]]) {
        const h = (b[k] / max) * (H - 20);
        if (!h) continue;
        y -= h;
        const r = document.createElementNS(ns, "rect");
        r.setAttribute("x", i * bw + 1); r.setAttribute("y", y); r.setAttribute("width", Math.max(1, bw - 2)); r.setAttribute("height", h); r.setAttribute("fill", color);
        rects.push(r);
      }
    });
    svg.replaceChildren(...rects);
    const ok = buckets.reduce((a, b) => a + b.succeeded, 0), bad = buckets.reduce((a, b) => a + b.failed, 0);
    $("#tp-total").textContent = `${ok} succeeded, ${bad} failed`;
  }

  function drawTypes(stats) {
    const rows = Object.entries(stats.types || {}).map(([name, t]) => el("tr", { "data-type": name },
      el("td", {}, name), el("td", {}, t.finished), el("td", { class: t.failed ? "bad" : "" }, t.failed),
      el("td", {}, t.failureRate == null ? "–" : `${(t.failureRate * 100).toFixed(1)} %`),
      el("td", {}, secs(t.duration.p50)), el("td", {}, secs(t.duration.p95))));
    $("#types tbody").replaceChildren(...rows);
  }

  function drawJobs(jobs) {
    const rows = jobs.map((j) => {
      const pct = j.progress && j.progress.percent != null ? j.progress.percent : (j.state === "failed" ? 100 : 0);
      const barClass = "bar" + (j.state === "succeeded" ? " done" : j.state === "failed" ? " failed" : "");
      const attrs = { "data-job": j.id, "data-state": j.state };
      if (j.state === "failed") { attrs.class = "clickable"; attrs.onclick = () => showJob(j.id); attrs.title = "show the error"; }
      return el("tr", attrs,
        el("td", {}, el("code", {}, j.id.slice(0, 8))), el("td", {}, `${j.kind}: ${j.type}`),
        el("td", {}, el("span", { class: `badge ${j.state}` }, j.state)),
        el("td", {}, el("div", { class: barClass, title: `${pct}%` }, el("div", { style: `width:${pct}%` }))),
        el("td", {}, j.worker || "–"), el("td", {}, secs(j.duration)));
    });
    $("#jobs tbody").replaceChildren(...rows);
  }

  async function showJob(id) {
    selected = id;
    const box = $("#detail");
    try {
      const job = await api(`/api/ops/jobs/${id}`);
      const err = job.error || {};
      box.replaceChildren(
        el("strong", {}, `${job.kind} ${job.type} ${job.id}`), "\n",
        el("span", { "data-testid": "error-title" }, err.title || "Failed"), "\n",
        el("span", { "data-testid": "error-detail" }, err.detail || "(no detail recorded)"), "\n",
        el("small", {}, `worker ${job.worker || "?"} · ${job.events.length} events · retries ${job.retries}`));
      box.hidden = false;
    } catch (e) { showProblem(e.message); }
  }

  function drawWebhooks(hooks) {
    const tbody = $("#webhooks tbody");
    tbody.replaceChildren();
    if (!hooks) { $("#webhooks-pending").textContent = "unavailable"; return; }
    $("#webhooks-pending").textContent = `${hooks.pending} pending`;
    for (const e of hooks.failing) {
      const ago = e.lastAt ? secs(Date.now() / 1000 - e.lastAt) + " ago" : "–";
      tbody.append(el("tr", {}, el("td", {}, e.url), el("td", {}, e.owner || ""), el("td", {}, e.failures), el("td", {}, e.lastError || ""), el("td", {}, ago)));
    }
    if (!hooks.failing.length) tbody.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "none")));
  }

  function drawClients(rows) {
    const tbody = $("#clients tbody");
    tbody.replaceChildren();
    for (const r of rows || []) {
      tbody.append(el("tr", {}, el("td", {}, r.client), el("td", {}, r.queued), el("td", {}, r.running)));
    }
    if (!rows || !rows.length) tbody.append(el("tr", {}, el("td", { colspan: "3", class: "muted" }, rows ? "none" : "unavailable")));
  }

  function showProblem(text) { const p = $("#problem"); p.textContent = text; p.hidden = !text; }

  async function refresh() {
    try {
      const o = await api("/api/ops/overview?window=3600");
      showProblem("");
      drawWorkers(o.workers);
      drawClients(o.clients);
      const depth = Object.values(o.queues).reduce((a, n) => a + (n || 0), 0);
      $("#queue-now").textContent = `${depth} waiting`;
      drawQueue(o.queueHistory || [], o.generatedAt, depth);
      drawThroughput(o.throughput);
      drawTypes(o.stats);
      drawJobs(o.recent);
      drawWebhooks(o.webhooks);
      $("#updated").textContent = `updated ${new Date(o.generatedAt * 1000).toLocaleTimeString()}`;
    } catch (e) { showProblem(`Cannot reach the ops API: ${e.message}`); }
  }

  $("#keyform").addEventListener("submit", (ev) => {
    ev.preventDefault(); key = $("#key").value.trim(); sessionStorage.setItem("opsKey", key); $("#keyform").hidden = true; refresh();
  });
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
