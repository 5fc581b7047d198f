// The chat page of csmsg emulate: you play the user; each action is a
// push to the bot, and the conversation comes from /api/conversation,
// refreshed on every server-sent event (or by polling if those fail).
// What the user typed stays in the input until the emulator took it.
"use strict";

const $ = (id) => document.getElementById(id);
let shownSeq = -1;
let loading = false;
let again = false;
let stick = true; // the log follows the newest message
const rows = new Map(); // entry id -> {key, node}: unchanged rows are kept, with their open details

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
  i.addEventListener("load", follow); // the log grew after it was scrolled
  return i;
}

// follow scrolls the log to the newest message, unless the user scrolled up.
function follow() {
  const log = $("log");
  if (stick) log.scrollTop = log.scrollHeight;
}

// content returns the bubble or card of a message entry.
function content(e) {
  switch (e.kind) {
    case "text":
      return el("div", "bubble", e.text);
    case "image": {
      const b = el("div", "bubble image");
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
  if (d.state !== "ok" && last && last.error) {
    // why the last attempt failed, in view: a refused signature, a wrong key
    meta.appendChild(el("div", "cause", last.error));
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
    if (e.recovered) return note("recovered", "recovered: " + t + " — the bot's client fetched a new access token and retried");
    if (e.hint) t += " — " + e.hint;
    return note("error", t);
  }
  if (e.kind === "note") return note("", e.text);
  if (e.kind === "transfer") return note("transfer", "Transferred to the customer-service tool (passive reply)");
  if (e.kind === "enter") {
    const n = note("enter", "You entered the customer-service chat");
    if (e.delivery) n.appendChild(deliveryLine(e.delivery));
    return n;
  }
  const r = el("div", "row " + e.from);
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
  // typing is a status, shown in the title (#typing) while it lasts, not
  // a line of the history
  const nodes = c.entries.filter((e) => e.kind !== "typing").map(node);
  if (!c.entries.length) nodes.push(guide(c));
  log.replaceChildren(...nodes);
  follow();
  shownSeq = c.seq;
  document.body.dataset.seq = c.seq;
}

// node returns the row of entry e: the one shown if e did not change, else
// a new one, with the delivery details open if they were.
function node(e) {
  const key = JSON.stringify(e);
  const old = rows.get(e.id);
  if (old && old.key === key) return old.node;
  const n = row(e);
  n.dataset.id = e.id;
  const det = n.querySelector("details");
  if (det && old && old.node.querySelector("details[open]")) det.open = true;
  rows.set(e.id, { key, node: n });
  return n;
}

// guide tells what to do in an empty conversation.
function guide(c) {
  const g = el("div", "guide");
  g.id = "guide";
  g.appendChild(el("p", "", "No messages yet. You play the user of the mini program:"));
  const ul = el("ul");
  ul.appendChild(el("li", "", "press Enter chat, as a user who taps the customer-service button;"));
  ul.appendChild(el("li", "", "or type a message below and press Send, or send an image or a mini program card."));
  g.appendChild(ul);
  g.appendChild(el("p", "", "Each action is pushed to the bot at " + c.endpoint + "; what the bot sends through the API appears here."));
  return g;
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

// post sends one of the user's actions to the emulator and reports whether
// it took it; if not, the flash says why.
async function post(path, body, isForm) {
  const opts = { method: "POST", body: isForm ? body : JSON.stringify(body || {}) };
  if (!isForm) opts.headers = { "Content-Type": "application/json" };
  const flash = $("flash");
  let why = "";
  try {
    const r = await fetch(path, opts);
    if (!r.ok) why = path + ": " + (await r.text()).trim();
  } catch (err) {
    why = "the emulator is not reachable (did csmsg emulate stop?): " + path + " was not sent";
  }
  flash.hidden = !why;
  flash.textContent = why;
  if (!why) refresh();
  return !why;
}

$("form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const t = $("text");
  const content = t.value;
  if (!content.trim()) return;
  const send = $("send");
  send.disabled = true;
  try {
    // the text stays in the input until the emulator took it
    if (await post("api/text", { content }) && t.value === content) t.value = "";
  } finally {
    send.disabled = false;
  }
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

// connection shows whether the page is connected to the emulator.
function connection(cls, text) {
  const c = $("conn");
  c.className = cls;
  c.textContent = text;
  c.hidden = !text;
}

let lost = false;
let calm = 0; // the timer that hides "reconnected"

function listen() {
  if (!window.EventSource) { setInterval(refresh, 1000); return; }
  const es = new EventSource("api/events");
  es.onopen = () => {
    if (!lost) return;
    lost = false;
    connection("ok", "reconnected to the emulator at " + time(Date.now()));
    clearTimeout(calm);
    calm = setTimeout(() => connection("", ""), 15000);
    refresh();
  };
  es.onmessage = (ev) => { if (Number(ev.data) !== shownSeq) refresh(); };
  es.onerror = () => {
    lost = true;
    clearTimeout(calm);
    connection("lost", "connection to the emulator lost: reconnecting…");
    if (es.readyState === EventSource.CLOSED) setTimeout(listen, 1000); // the browser gave up: start over
  };
}

$("log").addEventListener("scroll", () => {
  const log = $("log");
  stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
});

setInterval(() => { if (!$("typing").hidden) refresh(); }, 5000); // the typing status lapses
refresh();
listen();
