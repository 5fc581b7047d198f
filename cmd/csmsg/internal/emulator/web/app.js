// The chat page of csmsg emulate: you play the user; each action is a
// push to the bot, and the conversation comes from /api/conversation,
// refreshed on every server-sent event (or by polling if those fail).
"use strict";

const $ = (id) => document.getElementById(id);
let shownSeq = -1;
let loading = false;
let again = false;

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function time(t) {
  return new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function img(src, alt) {
  const i = el("img");
  i.src = src;
  i.alt = alt || "";
  return i;
}

// content returns the bubble or card of a message entry.
function content(e) {
  switch (e.kind) {
    case "text":
      return el("div", "bubble", e.text);
    case "image": {
      const b = el("div", "bubble");
      b.appendChild(img(e.image_url, "image " + e.media_id));
      return b;
    }
    case "miniprogrampage": {
      const c = el("div", "card");
      c.appendChild(el("div", "src", "Mini program " + (e.app_id || "")));
      c.appendChild(el("div", "ttl", e.title));
      if (e.thumb_url) c.appendChild(img(e.thumb_url, "cover"));
      c.appendChild(el("div", "foot", e.page_path));
      return c;
    }
    case "link": {
      const c = el("div", "card");
      c.appendChild(el("div", "ttl", e.title));
      c.appendChild(el("div", "desc", e.description));
      c.appendChild(el("div", "foot", e.url));
      return c;
    }
  }
  return el("div", "bubble", e.text || e.kind);
}

// deliveryLine describes how a push went.
function deliveryLine(d) {
  const meta = el("div", "meta" + (d.state === "failed" ? " failed" : ""));
  const n = d.attempts.length;
  const last = n ? d.attempts[n - 1] : null;
  let text;
  if (d.state === "sending") text = n ? "retrying… (" + n + " attempt" + (n > 1 ? "s" : "") + " failed)" : "sending…";
  else if (d.state === "ok") text = "delivered (" + d.format + ", " + d.mode + ")" + (last && last.answer ? ": " + last.answer : "") + (n > 1 ? " after " + n + " attempts" : "");
  else text = "not delivered after " + n + " attempts";
  if (!n || (d.state === "ok" && n === 1)) {
    meta.textContent = text;
    return meta;
  }
  const det = el("details");
  det.appendChild(el("summary", "", text));
  for (const a of d.attempts) {
    det.appendChild(el("div", "", "attempt " + a.attempt + ": " + (a.ok ? "ok, " + a.answer : a.error) + " (" + a.ms + " ms)"));
  }
  meta.appendChild(det);
  return meta;
}

function note(cls, text) {
  const n = el("div", "note " + cls);
  n.appendChild(el("span", "", text));
  return n;
}

function row(e) {
  if (e.kind === "error") {
    let t = (e.from === "bot" ? "API error" : "WeChat") + (e.code ? " " + e.code : "") + (e.call ? " (" + e.call + ")" : "") + ": " + (e.text || "");
    if (e.title) t = e.title + " — " + t;
    if (e.hint) t += " — " + e.hint;
    return note("error", t);
  }
  if (e.kind === "note") return note("", e.text);
  if (e.kind === "typing") return note("typing", e.text === "Typing" ? "the bot is typing…" : "the bot stopped typing");
  if (e.kind === "transfer") return note("transfer", "Transferred to the customer-service tool (passive reply)");
  if (e.kind === "enter") {
    const n = note("enter", "You entered the customer-service chat");
    if (e.delivery) n.appendChild(deliveryLine(e.delivery));
    return n;
  }
  const r = el("div", "row " + e.from);
  r.dataset.id = e.id;
  r.appendChild(el("div", "avatar", e.from === "user" ? "You" : "Bot"));
  const body = el("div", "body");
  body.appendChild(content(e));
  if (e.delivery) body.appendChild(deliveryLine(e.delivery));
  if (e.window) body.appendChild(el("div", "meta window", time(e.time) + " · " + e.window));
  r.appendChild(body);
  return r;
}

function render(c) {
  $("bot-name").textContent = "Customer service " + c.bot_id;
  $("typing").hidden = !c.typing;
  const w = c.window;
  const badge = $("window");
  if (w.open) {
    const until = new Date(w.until);
    const sameDay = until.toDateString() === new Date(c.now).toDateString();
    const when = sameDay ? time(w.until) : until.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    badge.textContent = "reply window: " + w.left + " of " + w.quota + " replies left until " + when;
    badge.className = "badge";
  } else {
    badge.textContent = w.cause ? "reply window closed" : "reply window closed: enter the chat or write";
    badge.className = "badge closed";
  }
  $("config").textContent = c.format + " · " + c.mode + " · " + c.endpoint + (c.skew ? " · clock +" + c.skew : "");
  const log = $("log");
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.replaceChildren(...c.entries.map(row));
  if (atBottom || shownSeq < 0) log.scrollTop = log.scrollHeight;
  shownSeq = c.seq;
  document.body.dataset.seq = c.seq;
}

async function refresh() {
  if (loading) { again = true; return; }
  loading = true;
  try {
    const r = await fetch("api/conversation", { cache: "no-store" });
    if (r.ok) render(await r.json());
  } catch (err) {
    // the emulator stopped: the event stream or the poll will retry
  } finally {
    loading = false;
    if (again) { again = false; refresh(); }
  }
}

async function post(path, body, isForm) {
  const opts = { method: "POST", body: isForm ? body : JSON.stringify(body || {}) };
  if (!isForm) opts.headers = { "Content-Type": "application/json" };
  const r = await fetch(path, opts);
  const flash = $("flash");
  flash.hidden = r.ok;
  if (!r.ok) flash.textContent = path + ": " + (await r.text());
  refresh();
}

$("form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("text");
  const content = t.value;
  if (!content.trim()) return;
  t.value = "";
  post("api/text", { content });
});
$("enter").addEventListener("click", () => post("api/enter", { session_from: "csmsg-emulate" }));
$("card").addEventListener("click", () => post("api/card", {}));
$("image").addEventListener("change", (ev) => {
  const f = ev.target.files[0];
  if (!f) return;
  const fd = new FormData();
  fd.append("image", f);
  ev.target.value = "";
  post("api/image", fd, true);
});
$("skip-minute").addEventListener("click", () => post("api/advance", { seconds: 60 }));
$("skip-48h").addEventListener("click", () => post("api/advance", { seconds: 48 * 3600 }));
$("expire").addEventListener("click", () => post("api/expire-tokens"));

function listen() {
  if (!window.EventSource) { setInterval(refresh, 1000); return; }
  const es = new EventSource("api/events");
  es.onmessage = (ev) => { if (Number(ev.data) !== shownSeq) refresh(); };
}

setInterval(() => { if (!$("typing").hidden) refresh(); }, 5000); // the typing status lapses
refresh();
listen();
