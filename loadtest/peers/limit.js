'use strict';
// The limit: the least work that speaks the generator's wire protocol (Engine.IO v4 /
// Socket.IO v5 over WebSocket only), as a floor for what any server must spend.
//
//   node limit.js --port 8002 [--options a,b,c] [--tick-ms 100] [--tally-to all]
//     [--phone-tick-ms 500]
//
// `ws` does the HTTP upgrade and reads frames; the rest is by hand: the Engine.IO open packet,
// the Socket.IO connect reply, votes acked with versions under the same message-id rule as the
// peer and Townhall, and, on the same tick, the tally framed once (one WebSocket frame, built as
// bytes) and those same bytes written to every projector, host and (with --tally-to all, the
// default) phone socket. No namespaces, rooms, per-packet encoding, ping timeouts or validation
// beyond what the votes need. It pings every 25 s as Engine.IO says, with one pre-framed packet.
// --phone-tick-ms paces the phones as peer.js does (Townhall's pace): projector and host every
// tick, phones at most once per --phone-tick-ms; 0 (the default) sends them every tick.

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { WebSocketServer } = require('ws');

const args = { port: 8002, host: '127.0.0.1', poll: 'vote', options: 'a,b,c', 'tick-ms': 100, 'tally-to': 'all', 'phone-tick-ms': 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in args)) throw new Error(`unknown option ${process.argv[i]}`);
  args[name] = typeof args[name] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const RECENT_OPS = 16;
const PING_INTERVAL_MS = 25000;
const OPTIONS = args.options.split(',');
const counts = Object.fromEntries(OPTIONS.map((o) => [o, 0]));
let version = 0;
let voters = 0;

// An unmasked text frame, as a server sends it: header and payload in one buffer.
function frame(text) {
  const payload = Buffer.from(text);
  const n = payload.length;
  const header = n < 126 ? Buffer.from([0x81, n]) : Buffer.from([0x81, 126, n >> 8, n & 0xff]);
  if (n > 0xffff) throw new Error('tally too large for this frame builder');
  return Buffer.concat([header, payload]);
}

const listeners = new Set(); // the sockets tallies go to on every tick
const phones = new Set(); // paced phones: tallies at most once per --phone-tick-ms
const PACED = args['phone-tick-ms'] > 0;
const everyone = new Set();
let nextSid = 0;

const server = http.createServer();
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 });

wss.on('connection', (ws) => {
  const sid = (nextSid++).toString(36);
  const conn = { ws, role: null, ops: [], choices: null, version: 0 };
  everyone.add(conn);
  ws.send(`0{"sid":"${sid}","upgrades":[],"pingInterval":${PING_INTERVAL_MS},"pingTimeout":20000,"maxPayload":1000000}`);
  ws.on('message', (data) => {
    if (data[0] !== 0x34) return; // pongs and anything else: nothing to do
    const kind = data[1];
    if (kind === 0x32) {
      const text = data.toString();
      const bracket = text.indexOf('[');
      const id = text.slice(2, bracket);
      const [event, payload] = JSON.parse(text.slice(bracket));
      if (event !== 'vote' || conn.role !== 'participant' || id === '') return;
      ws.send(`43${id}[${JSON.stringify(vote(conn, payload))}]`);
    } else if (kind === 0x30) {
      let auth = {};
      try {
        auth = JSON.parse(data.toString().slice(2) || '{}');
      } catch {
        // no auth: a participant
      }
      conn.role = auth.role || 'participant';
      if (conn.role !== 'participant') listeners.add(conn);
      else if (args['tally-to'] === 'all') (PACED ? phones : listeners).add(conn);
      ws.send(`40{"sid":"${sid}"}`);
    }
  });
  ws.on('close', () => {
    listeners.delete(conn);
    phones.delete(conn);
    everyone.delete(conn);
  });
});

function vote(conn, payload) {
  const { op, choices } = payload;
  if (conn.ops.includes(op)) {
    return { ok: true, poll: args.poll, choices: conn.choices, version: conn.version, duplicate: true };
  }
  if (payload.poll !== args.poll || !Array.isArray(choices) || !OPTIONS.includes(choices[0])) {
    return { ok: false, error: { code: 'invalid_choice', message: 'no such poll or option' } };
  }
  version += 1;
  if (conn.choices) counts[conn.choices[0]] -= 1;
  else voters += 1;
  counts[choices[0]] += 1;
  conn.choices = [choices[0]];
  conn.version = version;
  conn.ops.push(op);
  if (conn.ops.length > RECENT_OPS) conn.ops.shift();
  changed();
  return { ok: true, poll: args.poll, choices: conn.choices, version, duplicate: false };
}

let dirty = false;
let phonesOwed = false;
let phonesSentAt = -Infinity;
let ticking = false;

function changed() {
  dirty = true;
  phonesOwed = PACED;
  if (!ticking) {
    ticking = true;
    setImmediate(flush);
  }
}

function flush() {
  if (!dirty && !phonesOwed) {
    ticking = false;
    return;
  }
  const bytes = frame(`42["tally",${JSON.stringify({ poll: args.poll, version, counts, voters })}]`);
  if (dirty) for (const conn of listeners) conn.ws._socket.write(bytes);
  dirty = false;
  const now = performance.now();
  if (phonesOwed && now >= phonesSentAt + args['phone-tick-ms']) {
    for (const conn of phones) conn.ws._socket.write(bytes);
    phonesOwed = false;
    phonesSentAt = now;
  }
  setTimeout(flush, args['tick-ms']);
}

const PING = frame('2');
setInterval(() => {
  for (const conn of everyone) conn.ws._socket.write(PING);
}, PING_INTERVAL_MS).unref();

server.listen(args.port, args.host, () => {
  console.log(`limit listening on http://${args.host}:${args.port}`);
});
