// The inbox's admin page: it polls api/stats and api/dead, and retries or
// drops a dead letter with a same-origin JSON POST. Every value from the
// server is shown as text, never as HTML: the messages are users' input.
"use strict";

const $ = (id) => document.getElementById(id);

function setStatus(text, isError) {
  const s = $("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

async function getJSON(path) {
  const r = await fetch(path, { cache: "no-store" });
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function age(ms) {
  if (ms < 1000) return ms + " ms";
  if (ms < 120000) return (ms / 1000).toFixed(1) + " s";
  if (ms < 7200000) return Math.round(ms / 60000) + " min";
  return (ms / 3600000).toFixed(1) + " h";
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function summary(msg) {
  if (!msg) return "(unreadable)";
  if (typeof msg.Content === "string") return msg.Content;
  return JSON.stringify(msg);
}

function renderDead(list) {
  const rows = $("deadrows");
  rows.replaceChildren();
  for (const d of list) {
    const row = rows.insertRow();
    row.id = "dead-" + d.id;
    cell(row, String(d.id));
    cell(row, d.died);
    cell(row, d.user);
    cell(row, d.kind);
    cell(row, String(d.attempts));
    cell(row, d.reason, "reason");
    cell(row, summary(d.message), "message");
    const actions = row.insertCell();
    for (const action of ["retry", "drop"]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = action;
      b.textContent = action === "retry" ? "Retry" : "Drop";
      b.addEventListener("click", () => act(d.id, action));
      actions.appendChild(b);
    }
  }
  $("none").hidden = list.length > 0;
}

async function refresh() {
  try {
    const [stats, dead] = await Promise.all([getJSON("api/stats"), getJSON("api/dead")]);
    $("queued").textContent = stats.queued;
    $("retrying").textContent = stats.retrying;
    $("running").textContent = stats.running;
    $("deadcount").textContent = stats.dead;
    $("bytes").textContent = stats.bytes;
    $("oldest").textContent = stats.queued + stats.retrying + stats.running > 0 ? age(stats.oldest_age_ms) : "–";
    renderDead(dead.dead);
  } catch (e) {
    setStatus("Refreshing failed: " + e.message, true);
  }
}

async function act(id, action) {
  try {
    const r = await fetch("api/dead/" + id + "/" + action, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    const body = await r.json();
    if (!r.ok) throw new Error(body.error || r.statusText);
    setStatus(action === "retry" ? "Dead letter " + id + " queued again." : "Dead letter " + id + " dropped.", false);
  } catch (e) {
    setStatus(action + " " + id + " failed: " + e.message, true);
  }
  await refresh();
}

refresh();
setInterval(refresh, 2000);
