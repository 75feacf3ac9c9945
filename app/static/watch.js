// Watch one job with the browser's EventSource on GET /api/{collection}/{id}/events.
// /watch?job=/api/reports/<id>. EventSource reconnects by itself (with Last-Event-ID);
// the page closes it after the terminal event. EventSource cannot send an
// Authorization header, so this page works while the API runs open (no API_KEYS).
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const job = new URLSearchParams(location.search).get("job") || "";
  const problem = (text) => { const p = $("#problem"); p.textContent = text; p.hidden = !text; };
  if (!/^\/api\/[a-z][a-z0-9-]*\/[0-9a-f-]{36}$/.test(job)) {
    problem("Open this page as /watch?job=/api/<collection>/<job id>.");
    return;
  }
  $("#job").textContent = job;
  const source = new EventSource(`${job}/events`);
  source.addEventListener("open", () => { $("#connection").textContent = "streaming"; problem(""); });
  source.addEventListener("status", (ev) => {
    const doc = JSON.parse(ev.data);
    const p = doc.progress || {};
    $("#status").textContent = doc.status;
    document.body.dataset.state = doc.state;
    $("#bar").style.width = `${p.percent || 0}%`;
    $("#progress").textContent = `${p.current}${p.total != null ? " / " + p.total : ""} ${p.unit || ""} (${p.percent || 0}%)`;
    const item = document.createElement("li");
    item.textContent = `#${ev.lastEventId} ${doc.state} ${p.percent || 0}%`;
    $("#events").append(item);
    if (["Complete", "Failed", "Cancelled"].includes(doc.status)) {
      source.close();
      $("#connection").textContent = "finished";
      document.body.dataset.done = "1";
    }
  });
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) problem("The stream was refused (is the job yours?).");
    else $("#connection").textContent = "reconnecting…";
  });
})();
