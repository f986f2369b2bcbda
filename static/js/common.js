// Shared by the phone, host, projector and committee pages: connection, state, boards, bars,
// the timer, and sending a message until it is acked.
// Everything a participant or a programme wrote is set with textContent, never as HTML.
import { io } from "/vendor/socket.io.esm.min.js";

export const config = JSON.parse(document.getElementById("config").textContent);

export function t(key, vars = {}) {
  const text = config.strings[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ""));
}

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value != null) node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

export const $ = (id) => document.getElementById(id);

// A ballot-code group's name on screen, as the programme gives it, or null.
export const groupLabel = (labels, group) =>
  labels && Object.hasOwn(labels, group) ? labels[group] : null;

// An error ack in the reader's language where the page knows the code, else the server's words.
export function errorText(error) {
  const key = `err_${error?.code}`;
  return Object.hasOwn(config.strings, key) ? t(key) : (error?.message ?? t("error"));
}

// The secret key a page's address carries in its #fragment (`#key=…`), which the browser never
// sends to the server: taken out of the address bar, where a mirrored screen or a shoulder would
// show it, and kept for this tab so a reload or a language switch does not lose it.
export function keyFromFragment(page) {
  const storeKey = `townhall-${page}-${config.code}`;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("key");
  if (fromHash) {
    sessionStorage.setItem(storeKey, fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return fromHash ?? sessionStorage.getItem(storeKey) ?? "";
}

// A line in the page's #message box (empty hides it); `kind` says what it is about, so the
// page can clear a connection message once connected again.
export function showMessage(text, kind = "error") {
  const box = $("message");
  box.textContent = text;
  box.hidden = !text;
  box.dataset.kind = kind;
}

// Sends a host's or moderator's command over `socket` and says plainly when it was refused.
// Resolves to the ack if it was accepted, else null.
export async function sendCommand(socket, event, payload = {}) {
  let reply;
  try {
    reply = await socket.timeout(8000).emitWithAck(event, payload);
  } catch {
    showMessage(t("reconnecting"), "connection");
    return null;
  }
  showMessage(reply.ok ? "" : `${t("error")}: ${errorText(reply.error)}`);
  return reply.ok ? reply : null;
}

// A random id for a message, so a resend is recognised. crypto.randomUUID needs HTTPS,
// which a forum on a LAN address does not have; getRandomValues works everywhere.
export function opId() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The forum as this page last heard it. Tallies only ever move forward by version.
export class ForumState {
  constructor() {
    this.state = null;
    this.forum = null;
    this.offsetMs = 0;
    this.boards = {};
  }

  // A snapshot is the whole truth and always replaces what the page had: the forum's count of
  // events can go backwards when a forum is started afresh.
  setSnapshot(reply) {
    this.forum = reply.forum;
    this.state = null;
    this.boards = reply.boards ?? {};
    this.setState(reply.state, reply.now_ms);
  }

  setState(state, nowMs) {
    if (nowMs) this.offsetMs = nowMs - Date.now();
    if (this.state && state.seq < this.state.seq) return false;
    const old = this.state;
    this.state = state;
    if (old) {
      for (const [pollId, poll] of Object.entries(state.polls)) {
        const before = old.polls[pollId]?.tally;
        if (poll.tally && before && before.version > poll.tally.version) poll.tally = before;
      }
    }
    return true;
  }

  setTally(tally) {
    const poll = this.state?.polls[tally.poll];
    if (!poll) return false;
    if (poll.tally && poll.tally.version > tally.version) return false;
    poll.tally = tally;
    return true;
  }

  // A hidden round's count of voters (the projector's): newer than the page's, or ignored.
  setTurnout(turnout) {
    const poll = this.state?.polls[turnout.poll];
    if (!poll || poll.version > turnout.version) return false;
    poll.version = turnout.version;
    poll.voters = turnout.voters;
    return true;
  }

  // A board message replaces the page's copy unless the page already has a later one.
  setBoard(board) {
    const old = this.boards[board.board];
    if (old && old.version > board.version) return false;
    this.boards[board.board] = board;
    return true;
  }

  board(itemId) {
    return this.boards[itemId] ?? { board: itemId, version: 0, pinned: 0, posts: [] };
  }

  get current() {
    return this.state ? this.state.items[this.state.current] : null;
  }

  poll(itemId) {
    return this.state?.polls[itemId] ?? null;
  }

  timerRemaining() {
    const timer = this.state?.timer;
    if (!timer) return 0;
    if (!timer.running) return timer.remaining_ms;
    const now = Date.now() + this.offsetMs;
    return Math.max(0, timer.remaining_ms - (now - timer.started_at_ms));
  }
}

// Word items are boards too: their answers are posts, moderated alike, and counted in a cloud.
export const isBoard = (item) => item?.kind === "qna" || item?.kind === "ideas" || item?.kind === "words";

// Posts in the order a page lists them: most upvoted first (the earlier post on a tie, as the
// server ranks them), or newest first. Ids are the forum's seq, so a later post has a larger id.
export function sortPosts(posts, order = "top") {
  const sorted = [...posts];
  if (order === "new") sorted.sort((a, b) => b.id - a.id);
  else sorted.sort((a, b) => b.upvotes - a.upvotes || a.id - b.id);
  return sorted;
}

// Keeps `container`'s children in step with `items`, one element per key, reusing the element a
// key already has (so a focused button or a half-typed edit survives a board update) and moving
// only what changed place. `create(item)` makes an element; `update(element, item)` refreshes it.
// The container holds nothing else.
const keyedNodes = new WeakMap();
export function syncList(container, items, key, create, update) {
  let nodes = keyedNodes.get(container);
  if (!nodes) {
    nodes = new Map();
    keyedNodes.set(container, nodes);
  }
  const wanted = new Set();
  items.forEach((item, index) => {
    const k = key(item);
    wanted.add(k);
    let node = nodes.get(k);
    if (!node) {
      node = create(item);
      nodes.set(k, node);
    }
    update(node, item);
    const here = container.children[index] ?? null;
    if (here !== node) container.insertBefore(node, here);
  });
  for (const [k, node] of nodes) {
    if (!wanted.has(k)) {
      node.remove();
      nodes.delete(k);
    }
  }
}

// A participant's name as a page shows it: never empty, never HTML.
export const displayName = (post) => post.name || t("anonymous");

export function formatMs(ms) {
  const total = Math.ceil(ms / 1000);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

// Refusals no retry can change: the key in the link is wrong. The page says so and stops.
const FINAL_REFUSALS = new Set(["bad_key"]);

// Connects with the given auth, asks for a snapshot on every (re)connect, and keeps the
// status line honest. onSnapshot gets the reply; onStatus, if given, hears "up", "down" and
// "refused" as the connection comes and goes; the caller adds its own event handlers.
export function connect(auth, { onSnapshot, onError, onStatus }) {
  // WebSocket first (broadcasts reach it framed once); where a network blocks WebSocket, the
  // server's other transports (long-polling, on a single process) are tried next.
  const socket = io({ auth, transports: config.transports, tryAllTransports: true, ackTimeout: 8000 });
  const status = $("conn");
  const setStatus = (key, cls) => {
    onStatus?.(cls);
    if (!status) return;
    status.textContent = t(key);
    status.dataset.state = cls;
  };
  const snapshot = async () => {
    try {
      const reply = await socket.timeout(8000).emitWithAck("snapshot", {});
      if (reply.ok) onSnapshot(reply);
      else onError?.(reply.error);
    } catch {
      socket.disconnect().connect();
    }
  };
  socket.on("connect", () => {
    setStatus("connected", "up");
    snapshot();
  });
  // After a server-side outage: start again from a snapshot, spread over two seconds so a
  // hall of phones does not ask at the same instant.
  socket.on("resync", () => setTimeout(snapshot, Math.random() * 2000));
  socket.on("disconnect", () => setStatus("reconnecting", "down"));
  socket.on("connect_error", (err) => {
    const code = err.data?.code;
    if (FINAL_REFUSALS.has(code)) {
      socket.disconnect(); // and no reconnecting: the same key would be refused again
      setStatus("refused", "refused");
    } else setStatus("reconnecting", "down");
    if (code) onError?.({ code, message: err.message });
  });
  return socket;
}

// Result bars: one row per option with its count and its share of the voters (in a multiple-choice
// poll the shares may add up to more than 100%: a voter counts once per option chosen); the
// leader is marked.
export function renderBars(container, item, tally, labels = {}) {
  const counts = tally?.counts ?? {};
  const voters = tally?.voters ?? 0;
  const rows = barRows(item, counts, voters, true);
  const footer = el("p", { class: "bar-total", text: t("voters_share", { n: voters }) });
  // A poll shown by group: each group's bars side by side under the whole room's (jury | room).
  const groups = Object.entries(tally?.groups ?? {});
  container.classList.toggle("by-group", groups.length > 0);
  container.dataset.options = String(item.options.length);
  if (groups.length) {
    const all = el("div", { class: "bars-all" }, ...rows, footer);
    const each = groups.map(([g, c]) => groupBars(item, g, c, tally.group_voters[g] ?? 0, labels));
    container.replaceChildren(all, el("div", { class: "group-bars" }, ...each));
  } else if (tally?.groups_hidden) {
    // A group too small to show alone: the room sees only the whole poll's bars.
    const note = el("p", { class: "note", text: t("groups_hidden", { n: tally.groups_hidden }) });
    container.replaceChildren(...rows, footer, note);
  } else container.replaceChildren(...rows, footer);
  container.dataset.version = String(tally?.version ?? 0);
}

function barRows(item, counts, voters, markLeader) {
  const top = Math.max(0, ...Object.values(counts));
  return item.options.map((option) => {
    const n = counts[option.id] ?? 0;
    const share = voters ? (n / voters) * 100 : 0;
    const bar = el("span", { class: "bar-fill" });
    bar.style.width = `${share}%`;
    const leader = markLeader && n > 0 && n === top;
    return el(
      "div",
      { class: leader ? "bar-row leader" : "bar-row", "data-option": option.id },
      el("span", { class: "bar-label", text: option.label }),
      el("span", { class: "bar-track", "aria-hidden": "true" }, bar),
      el("span", { class: "bar-count", text: `${n} · ${Math.round(share)}%` }),
    );
  });
}

function groupBars(item, group, counts, voters, labels) {
  const rows = barRows(item, counts, voters, false);
  const title = el("h2", { class: "group-title", text: groupLabel(labels, group) ?? (group || t("group_none")) });
  return el("section", { class: "group-col", "data-group": group }, title, ...rows);
}

export function pollStatusText(poll) {
  return t({ pending: "poll_pending", open: "poll_open", closed: "poll_closed" }[poll.status]);
}

// Refusals that say "not now" rather than "no": the message may even have been stored (an
// unavailable store can fail after the write), so it is resent later with the same op id.
const TRANSIENT = new Set(["unavailable", "rate_limited", "internal_error"]);
export const isTransient = (reply) => !reply.ok && TRANSIENT.has(reply.error?.code);
export const retryDelay = () => 1000 + Math.random() * 2000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Sends `current()` as `event` until the server answers it for good, then calls
// `answered(sent, reply)`. A lost ack (none within `timeoutMs`) or a transient refusal sends
// again what current() gives then: the same message, so its op id has the server count it once,
// or (where `key` says two messages are one) the latest of it. It gives up, answering nothing,
// once current() gives nothing or another message: it was answered, or a newer one has its own
// sender. Unless `whileOffline`, it also stops while the socket is down; the page sends again
// from its next snapshot.
export async function sendUntilAcked(
  socket,
  event,
  current,
  answered,
  { key = (message) => message, timeoutMs = 5000, lostAckDelay = () => 1000, whileOffline = false, onTransient } = {},
) {
  for (;;) {
    const message = current();
    if (message == null || (!whileOffline && !socket.connected)) return;
    const stillWanted = () => {
      const now = current();
      return now != null && key(now) === key(message);
    };
    let reply;
    try {
      reply = await socket.timeout(timeoutMs).emitWithAck(event, message);
    } catch {
      if (!stillWanted()) return;
      await sleep(lostAckDelay());
      continue;
    }
    if (!stillWanted()) return;
    if (isTransient(reply)) {
      onTransient?.();
      await sleep(retryDelay());
      continue;
    }
    answered(message, reply);
    return;
  }
}

// The selection result: one row per candidate in rank order, a bar stacked by part (agreement,
// live vote, committee) on a 0-100 scale, each part's points and the raw input behind it, and
// the rule's settings under the table, so anyone in the room can check it by hand.
export const SELECTION_PARTS = ["agreement", "live_vote", "committee"];

export function renderSelection(container, result) {
  if (!result) {
    container.replaceChildren();
    return;
  }
  const rule = result.rule;
  const legend = el(
    "p",
    { class: "selection-legend" },
    ...SELECTION_PARTS.map((part) =>
      el(
        "span",
        { class: `legend-item part-${part}` },
        el("span", { class: "legend-swatch" }),
        t(`part_${part}`, { weight: rule.weights[part] }),
      ),
    ),
  );
  const rows = result.rows.map((row) => {
    const bar = el("span", { class: "stack-track", "aria-hidden": "true" });
    for (const part of SELECTION_PARTS) {
      const segment = el("span", { class: `stack-part part-${part}`, "data-part": part });
      segment.style.width = `${row.points[part]}%`;
      bar.append(segment);
    }
    const inputs = row.inputs;
    const mean = inputs.committee_mean == null ? t("missing") : inputs.committee_mean.toFixed(2);
    const details = [
      t("detail_agreement", { n: inputs.agreements, points: fixed(row.points.agreement) }),
      t("detail_live_vote", { n: inputs.live_votes, points: fixed(row.points.live_vote) }),
      t("detail_committee", { mean, points: fixed(row.points.committee) }),
    ];
    if (inputs.scores_missing) details.push(t("detail_missing", { n: inputs.scores_missing }));
    return el(
      "li",
      { class: "selection-row", "data-candidate": row.candidate, "data-rank": String(row.rank) },
      el("span", { class: "selection-rank", text: String(row.rank) }),
      el("span", { class: "selection-title", text: row.title }),
      el("span", { class: "selection-total", text: fixed(row.total) }),
      bar,
      el("span", { class: "selection-details", text: details.join(" · ") }),
    );
  });
  const live = result.live_vote;
  const notes = [
    t(`rule_conversion_${rule.conversion}`),
    t("rule_committee", { low: rule.score_range[0], high: rule.score_range[1] }),
    t("rule_missing"),
    t("rule_ties", { order: rule.tie_break.map((p) => t(`part_${p}`, { weight: rule.weights[p] })).join(" › ") }),
  ];
  if (live?.replaced_earlier_recordings) notes.push(t("live_vote_replaced", { n: live.replaced_earlier_recordings }));
  container.replaceChildren(
    legend,
    el("ol", { class: "selection-table" }, ...rows),
    el("p", { class: "selection-rule note", text: notes.join(" ") }),
  );
}

const fixed = (value) => Number(value).toFixed(2);
