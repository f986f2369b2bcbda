'use strict';
// The load generator: thousands of phones as raw Engine.IO v4 / Socket.IO v5 WebSocket clients
// in one process, one projector, and optionally the host to open the poll. Votes go out at a
// steady total rate; the last line on stdout is `RESULT {json}` with every figure.
//
//   node gen.js --url http://127.0.0.1:8000 --code ABC123 --phones 1000 --rate 500 --seconds 20
//     [--host-key KEY] [--cookies] [--server-pids 123,456] [--poll vote] [--options a,b,c]
//     [--polling 1000] [--phone-latency]
//
// --code: one join code, or several separated by commas: many forums on one server, each with
//   its own projector, the phones dealt out among them in turn (phone i to forum i mod F).
// --cookies: each phone first GETs /j/CODE for its own participant cookie (Townhall).
// --host-key: connect as host first and open the poll (Townhall); one key for every forum, or
//   one per code, in the same order.
// --polling K: the first K phones use Engine.IO long-polling (transport=polling, never upgraded)
//   instead of a WebSocket; their figures are reported apart (`by_transport`).
// --phone-latency: phones read each pushed tally's version, and the figures include vote → the
//   voting phone's own tally (p50/p99), by transport. Implied by --polling.
// --first-index N: this process's phones are numbered from N (their messages' ids and choices),
//   as one of several generator processes sharing a forum's phones.
// --barrier: one of several generator processes (loadtest/split.py): once its phones are
//   connected it prints `READY` and starts voting on a `GO` line on standard input; once its
//   votes are acked it prints `DRAINED V` (the highest tally version acked to its phones, a
//   comma-separated list, one per forum) and waits for `CATCHUP V` (the highest of every
//   process's), then for its projector to see that version, so that every process's final
//   tally counts every process's votes.
// --samples: the result also carries every vote → ack and vote → projector latency, for
//   figures over several processes' votes (`ack_ms_all`, `latency_ms_all`).
// Every wait is bounded: --connect-timeout, --drain-timeout, and a hard deadline for the run.

const http = require('node:http');
const fs = require('node:fs');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const WebSocket = require('ws');

const DEFAULTS = {
  url: 'http://127.0.0.1:8000',
  code: '',
  'host-key': '',
  cookies: false,
  phones: 1000,
  rate: 500,
  seconds: 20,
  poll: 'vote',
  options: 'a,b,c',
  'server-pids': '',
  'resend-every': 20, // every 20th vote is a resend of the phone's last acked message
  concurrency: 200, // WebSocket handshakes in flight while connecting
  'connect-timeout': 180,
  'drain-timeout': 30,
  settle: 1, // seconds between connecting and measuring memory
  'clk-tck': 100,
  polling: 0,
  'phone-latency': false,
  'first-index': 0,
  barrier: false,
  samples: false,
};

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in DEFAULTS)) throw new Error(`unknown option ${argv[i]}`);
    if (typeof DEFAULTS[name] === 'boolean') opts[name] = true;
    else if (typeof DEFAULTS[name] === 'number') opts[name] = Number(argv[++i]);
    else opts[name] = argv[++i];
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const OPTIONS = opts.options.split(',');
const CODES = opts.code.split(',');
const HOST_KEYS = opts['host-key'] ? opts['host-key'].split(',') : [];
if (HOST_KEYS.length > 1 && HOST_KEYS.length !== CODES.length) {
  throw new Error(`${HOST_KEYS.length} host keys for ${CODES.length} codes`);
}
const SERVER_PIDS = opts['server-pids'] ? opts['server-pids'].split(',').map(Number) : [];
const WS_URL = `${opts.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
const POLL_URL = `${opts.url}/socket.io/?EIO=4&transport=polling`;
const PHONE_LATENCY = opts['phone-latency'] || opts.polling > 0;
const VERSION = /"version":(\d+)/;
const RS = '\x1e'; // Engine.IO's separator of packets in one long-polling body
const LOOP_RESOLUTION_MS = 10; // the loop-delay probe's timer, taken off what it reports
const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The coordinator's lines on standard input (--barrier), read one at a time.
const coordinator = opts.barrier ? require('node:readline').createInterface({ input: process.stdin })[Symbol.asyncIterator]() : null;
async function expectLine(word) {
  const { value, done } = await withDeadline(coordinator.next(), opts['connect-timeout'], word);
  if (done || !value.startsWith(word)) throw new Error(`expected ${word} from the coordinator, got ${done ? 'end of input' : value}`);
  return value.slice(word.length).trim();
}

// ---- /proc readings of the server --------------------------------------------------------

function rssBytes() {
  let total = 0;
  for (const pid of SERVER_PIDS) {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match) total += Number(match[1]) * 1024;
  }
  return total;
}

// The server's CPU seconds so far, and the part of them spent in the kernel (system time: on
// loopback that includes delivering what the server writes into the generator's sockets).
function serverCpuTimes() {
  let total = 0;
  let system = 0;
  for (const pid of SERVER_PIDS) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / opts['clk-tck'];
    system += Number(fields[12]) / opts['clk-tck'];
  }
  return { total, system };
}

// Busy seconds of the whole machine, every core, from /proc/stat: what the server and the
// generator did not use of it was other work, which skews the figures.
function machineBusySeconds() {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return (user + nice + system + irq + softirq + (steal || 0)) / opts['clk-tck'];
}

// ---- one connection ------------------------------------------------------------------------

const counters = {
  connectErrors: {},
  disconnects: 0,
  phoneEvents: 0, // tally/state messages pushed to phones, read and dropped
  screenEvents: 0, // messages pushed to the projectors
  sent: 0,
  resends: 0,
  skipped: 0,
  acked: 0,
  ackedInPeriod: 0,
  duplicateAcks: 0,
  resendNotDuplicate: 0,
  newMarkedDuplicate: 0,
  refused: {},
  inFlight: 0,
  orphaned: 0, // votes in flight on a connection that closed: never acked
  retries: 0, // refused with a code the phone page retries on, and sent again
  retryFoundStored: 0,
  gaveUp: 0, // refused for good (or retried MAX_ATTEMPTS times)
};
const RETRIED = new Set(['unavailable', 'rate_limited', 'internal_error']);
const MAX_ATTEMPTS = 20;
let running = true; // false once the run is over: closes are then expected

class Conn {
  constructor(index, auth, cookie, onEvent) {
    this.index = index;
    this.auth = JSON.stringify(auth);
    this.code = auth.code;
    this.cookie = cookie;
    this.onEvent = onEvent; // phones have none: their events are dropped unread
    this.ws = null;
    this.connected = false;
    this.closed = false;
    this.closing = false; // closed by us: not a disconnect
    this.nextAck = 0;
    this.waiting = new Map(); // ack id -> callback
    this.k = 0; // votes cast (new messages) so far
    this.lastOp = null; // the phone's last acked new message, for resends
    this.lastChoice = null;
    this.ackedChoices = null;
    this.ackedVersion = -1;
    this.busy = false; // one vote in flight at a time, as a phone page does
  }

  open() {
    return new Promise((resolve) => {
      const headers = this.cookie ? { Cookie: `townhall_pid_${this.code}=${this.cookie}` } : undefined;
      const ws = new WebSocket(WS_URL, {
        perMessageDeflate: false,
        skipUTF8Validation: true,
        handshakeTimeout: opts['connect-timeout'] * 1000,
        headers,
      });
      this.ws = ws;
      this.resolveOpen = resolve;
      ws.on('message', (data) => this.onMessage(data));
      ws.on('error', (err) => this.fail(err.code || err.message));
      ws.on('close', () => {
        this.closed = true;
        if (this.connected && running && !this.closing) counters.disconnects++;
        if (this.busy) {
          this.busy = false;
          counters.inFlight--;
          counters.orphaned++;
        }
        this.fail('closed');
      });
    });
  }

  fail(reason) {
    if (this.resolveOpen) {
      counters.connectErrors[reason] = (counters.connectErrors[reason] || 0) + 1;
      this.resolveOpen(false);
      this.resolveOpen = null;
    }
  }

  onMessage(data) {
    const c0 = data[0];
    if (c0 === 0x34 /* 4: Socket.IO */) {
      const c1 = data[1];
      if (c1 === 0x32 /* 2: event */) {
        if (this.onEvent) {
          counters.screenEvents++;
          this.onEvent(data.toString());
        } else {
          counters.phoneEvents++;
          if (this.tallies) this.noteTally(data.toString());
        }
      } else if (c1 === 0x33 /* 3: ack */) {
        const text = data.toString();
        const bracket = text.indexOf('[');
        const id = Number(text.slice(2, bracket));
        const callback = this.waiting.get(id);
        if (callback) {
          this.waiting.delete(id);
          callback(JSON.parse(text.slice(bracket))[0]);
        }
      } else if (c1 === 0x30 /* 0: connected */) {
        this.connected = true;
        if (this.resolveOpen) this.resolveOpen(true);
        this.resolveOpen = null;
      } else if (c1 === 0x34 /* 4: connect_error */) {
        let code = 'connect_error';
        try {
          const body = JSON.parse(data.toString().slice(2));
          code = (body.data && body.data.code) || body.message || code;
        } catch {
          // keep the generic code
        }
        this.fail(code);
        this.close();
      }
    } else if (c0 === 0x32 /* 2: ping */) {
      this.send('3');
    } else if (c0 === 0x30 /* 0: Engine.IO open */) {
      this.opened(data);
    }
  }

  noteTally(text) {
    if (!text.startsWith('42["tally",')) return;
    const match = VERSION.exec(text);
    if (match) this.tallies.push([now(), Number(match[1])]);
  }

  send(packet) {
    this.ws.send(packet);
  }

  call(event, payloadJson, callback) {
    const id = this.nextAck++;
    this.waiting.set(id, callback);
    this.send(`42${id}["${event}",${payloadJson}]`);
  }

  opened() {
    this.send(`40${this.auth}`);
  }

  close() {
    this.closing = true;
    if (this.ws && !this.closed) this.ws.terminate();
  }
}

// A phone on Engine.IO long-polling, as on a network that blocks WebSockets: a GET held open
// for the server's packets, a POST for each of the phone's (queued while one is in flight, then
// sent together, as the engine.io client does). Same messages and figures as a WebSocket phone.
const pollAgent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

class PollConn extends Conn {
  open() {
    return new Promise((resolve) => {
      this.resolveOpen = resolve;
      this.sid = null;
      this.outbox = [];
      this.posting = false;
      this.poll();
    });
  }

  request(method, body, onBody) {
    const url = this.sid ? `${POLL_URL}&sid=${this.sid}` : POLL_URL;
    const headers = { 'Content-Type': 'text/plain;charset=UTF-8' };
    if (this.cookie) headers.Cookie = `townhall_pid_${this.code}=${this.cookie}`;
    const request = http.request(url, { method, headers, agent: pollAgent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return this.lost(`http_${response.statusCode}`);
        onBody(Buffer.concat(chunks).toString());
      });
      response.on('error', () => this.lost('response_error'));
    });
    request.setTimeout(opts['connect-timeout'] * 1000, () => request.destroy());
    request.on('error', (err) => this.lost(err.code || err.message));
    request.end(body);
  }

  poll() {
    if (this.closed || this.closing) return;
    this.request('GET', undefined, (body) => {
      for (const packet of body.split(RS)) {
        if (packet === '1') return this.lost('closed'); // Engine.IO close
        if (packet) this.onMessage(Buffer.from(packet));
      }
      this.poll();
    });
  }

  opened(data) {
    this.sid = JSON.parse(data.toString().slice(1)).sid;
    this.send(`40${this.auth}`);
  }

  send(packet) {
    if (this.closed) return;
    this.outbox.push(packet);
    if (!this.posting) this.flushOutbox();
  }

  flushOutbox() {
    const body = this.outbox.join(RS);
    this.outbox = [];
    this.posting = true;
    this.request('POST', body, () => {
      this.posting = false;
      if (this.outbox.length) this.flushOutbox();
    });
  }

  lost(reason) {
    if (this.closed) return;
    this.closed = true;
    if (this.connected && running && !this.closing) counters.disconnects++;
    if (this.busy) {
      this.busy = false;
      counters.inFlight--;
      counters.orphaned++;
    }
    this.fail(reason);
  }

  close() {
    this.closing = true;
    if (!this.closed && this.sid) this.request('POST', '1', () => {});
    this.closed = true;
  }
}

// ---- connecting ---------------------------------------------------------------------------

async function pool(count, limit, work) {
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(limit, count); w++) {
    workers.push(
      (async () => {
        while (next < count) await work(next++);
      })(),
    );
  }
  await Promise.all(workers);
}

function fetchCookie(agent, code) {
  return new Promise((resolve) => {
    const request = http.get(`${opts.url}/j/${code}`, { agent }, (response) => {
      response.resume();
      const cookies = response.headers['set-cookie'] || [];
      const name = `townhall_pid_${code}=`;
      const found = cookies.filter((c) => c.startsWith(name)).map((c) => [c, c.slice(name.length).split(';')[0]]).find(Boolean);
      resolve(found ? found[1] : null);
    });
    request.setTimeout(opts['connect-timeout'] * 1000, () => request.destroy());
    request.on('error', () => resolve(null));
  });
}

async function withDeadline(promise, seconds, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${seconds} s`)), seconds * 1000);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---- the run --------------------------------------------------------------------------------

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const round = (x, digits = 1) => (x === null ? null : Number(x.toFixed(digits)));

async function main() {
  const cpuStart = process.cpuUsage();
  // Each forum's projector, the tallies it saw, and the highest version acked to its phones.
  const forums = CODES.map((code, f) => {
    const forum = { code, tallyTimes: [], tallyVersions: [], finalTally: null, maxVersion: -1 };
    forum.screen = new Conn(-1 - f, { role: 'screen', code }, null, (text) => {
      if (!text.startsWith('42["tally",')) return;
      const tally = JSON.parse(text.slice(2))[1];
      if (tally.poll !== opts.poll) return;
      forum.tallyTimes.push(now());
      forum.tallyVersions.push(tally.version);
      if (forum.finalTally === null || tally.version >= forum.finalTally.version) forum.finalTally = tally;
    });
    return forum;
  });
  const extra = forums.map((forum) => forum.screen);
  const phones = [];
  const result = { phones: opts.phones, rate: opts.rate, seconds: opts.seconds };
  const finish = () => {
    running = false;
    for (const conn of [...extra, ...phones]) conn.close();
  };
  const hardDeadline = setTimeout(
    () => {
      console.log(`RESULT ${JSON.stringify({ ...result, error: 'hard deadline passed' })}`);
      process.exit(2);
    },
    (opts['connect-timeout'] * (opts.barrier ? 4 : 2) + opts.seconds + opts['drain-timeout'] + 30) * 1000,
  );

  try {
    const screensUp = await withDeadline(
      Promise.all(forums.map((forum) => forum.screen.open())),
      opts['connect-timeout'],
      'projector',
    );
    if (!screensUp.every(Boolean)) {
      throw new Error(`a projector could not connect: ${JSON.stringify(counters.connectErrors)}`);
    }
    for (const [f, forum] of HOST_KEYS.length ? forums.entries() : []) {
      const key = HOST_KEYS[HOST_KEYS.length > 1 ? f : 0];
      const host = new Conn(-1 - forums.length - f, { role: 'host', code: forum.code, key }, null, () => {});
      extra.push(host);
      if (!(await withDeadline(host.open(), opts['connect-timeout'], 'host'))) {
        throw new Error(`the host could not connect: ${JSON.stringify(counters.connectErrors)}`);
      }
      const ack = await withDeadline(
        new Promise((resolve) => host.call('poll_open', JSON.stringify({ poll: opts.poll }), resolve)),
        opts['connect-timeout'],
        'poll_open',
      );
      if (!ack.ok) throw new Error(`poll_open refused in ${forum.code}: ${JSON.stringify(ack)}`);
      host.close(); // the host gets every tally: it would only add load nobody measures
    }
    await sleep(200);
    const rssBefore = rssBytes();

    const cookies = new Array(opts.phones).fill(null);
    if (opts.cookies) {
      const started = now();
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      await withDeadline(
        pool(opts.phones, 64, async (i) => {
          cookies[i] = await fetchCookie(agent, CODES[i % CODES.length]);
        }),
        opts['connect-timeout'],
        'join pages',
      );
      agent.destroy();
      result.cookies_s = round((now() - started) / 1000, 2);
      const missing = cookies.filter((c) => c === null).length;
      if (missing) throw new Error(`${missing} phones got no participant cookie`);
    }

    const connectStarted = now();
    for (let i = 0; i < opts.phones; i++) {
      const Kind = i < opts.polling ? PollConn : Conn;
      const phone = new Kind(opts['first-index'] + i, { role: 'participant', code: CODES[i % CODES.length] }, cookies[i], null);
      phone.forum = forums[i % CODES.length];
      phone.transport = i < opts.polling ? 'polling' : 'websocket';
      phones.push(phone);
    }
    await withDeadline(
      pool(opts.phones, opts.concurrency, (i) => phones[i].open()),
      opts['connect-timeout'],
      'connecting phones',
    ).catch((err) => {
      result.connect_timeout = err.message;
    });
    const connected = phones.filter((p) => p.connected).length;
    result.connected = connected;
    result.connect_s = round((now() - connectStarted) / 1000, 2);
    result.connect_errors = counters.connectErrors;
    if (connected < opts.phones) throw new Error(`only ${connected} of ${opts.phones} phones connected`);
    await sleep(opts.settle * 1000);
    const rssAfter = rssBytes();
    result.rss_before_mb = round(rssBefore / 2 ** 20);
    result.rss_after_mb = round(rssAfter / 2 ** 20);
    result.rss_per_conn_kb = round((rssAfter - rssBefore) / opts.phones / 1024, 2);
    if (opts.barrier) {
      console.log('READY');
      await expectLine('GO');
    }

    // Votes: open loop at the given total rate, round-robin over idle phones.
    const sentAt = [];
    const ackVersions = [];
    const ackForums = [];
    const ackLatencies = [];
    const ackTransports = []; // each ack latency's phone's transport
    const votePhones = []; // each new vote's phone, for vote → its own tally
    if (PHONE_LATENCY) for (const phone of phones) phone.tallies = [];
    let rr = 0;
    const phoneEventsBefore = counters.phoneEvents;
    const screenEventsBefore = counters.screenEvents;
    const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    const cpuBefore = process.cpuUsage();
    const serverCpuBefore = serverCpuTimes();
    const machineBefore = machineBusySeconds();
    const voteStarted = now();
    const voteEnds = voteStarted + opts.seconds * 1000;
    delay.enable();

    const send = (phone) => {
      const resend = phone.lastOp !== null && (counters.sent + 1) % opts['resend-every'] === 0;
      let op;
      let choice;
      if (resend) {
        op = phone.lastOp;
        choice = phone.lastChoice;
        counters.resends++;
      } else {
        op = `${phone.index}-${phone.k}`;
        choice = OPTIONS[(phone.index + phone.k) % OPTIONS.length]; // never the same twice running
        phone.k++;
      }
      counters.sent++;
      phone.busy = true;
      counters.inFlight++;
      const sent = now();
      const payload = `{"poll":"${opts.poll}","choices":["${choice}"],"op":"${op}"}`;
      let attempt = 0;
      const onAck = (ack) => {
        const at = now();
        if (!ack.ok) {
          const code = ack.error && ack.error.code;
          counters.refused[code] = (counters.refused[code] || 0) + 1;
          // As the phone page does: the same message again, same op, after a short wait.
          if (RETRIED.has(code) && attempt < MAX_ATTEMPTS && !phone.closed) {
            attempt++;
            counters.retries++;
            setTimeout(() => phone.closed || phone.call('vote', payload, onAck), 100);
            return;
          }
          counters.gaveUp++;
          phone.busy = false;
          counters.inFlight--;
          return;
        }
        phone.busy = false;
        counters.inFlight--;
        counters.acked++;
        if (at <= voteEnds) counters.ackedInPeriod++;
        ackLatencies.push(at - sent);
        ackTransports.push(phone.transport);
        if (ack.version >= phone.ackedVersion) {
          phone.ackedVersion = ack.version;
          phone.ackedChoices = ack.choices;
        }
        if (ack.version > phone.forum.maxVersion) phone.forum.maxVersion = ack.version;
        if (ack.duplicate && resend) {
          counters.duplicateAcks++;
          return; // a resend changes nothing: no latency to the projector
        }
        if (ack.duplicate) {
          // Only a retry may find its message stored already (the refused try was stored).
          if (attempt > 0) counters.retryFoundStored++;
          else counters.newMarkedDuplicate++;
        }
        if (resend) counters.resendNotDuplicate++;
        phone.lastOp = op;
        phone.lastChoice = choice;
        sentAt.push(sent);
        ackVersions.push(ack.version);
        ackForums.push(phone.forum);
        votePhones.push(phone);
      };
      phone.call('vote', payload, onAck);
    };

    await new Promise((resolve) => {
      const timer = setInterval(() => {
        const t = now();
        const due = Math.floor((Math.min(t, voteEnds) - voteStarted) * (opts.rate / 1000));
        let owed = due - counters.sent - counters.skipped;
        while (owed-- > 0) {
          let phone = null;
          for (let tries = 0; tries < 64; tries++) {
            const candidate = phones[rr];
            rr = (rr + 1) % phones.length;
            if (!candidate.busy && !candidate.closed) {
              phone = candidate;
              break;
            }
          }
          if (phone) send(phone);
          else counters.skipped++;
        }
        if (t >= voteEnds) {
          clearInterval(timer);
          resolve();
        }
      }, 5);
    });
    const voteSeconds = (now() - voteStarted) / 1000;
    const cpuVote = process.cpuUsage(cpuBefore);
    const serverCpuAfter = serverCpuTimes();
    const serverCpuVote = serverCpuAfter.total - serverCpuBefore.total;
    const serverSystemVote = serverCpuAfter.system - serverCpuBefore.system;
    const machineVote = machineBusySeconds() - machineBefore;
    delay.disable();
    const phoneEventsVote = counters.phoneEvents - phoneEventsBefore;
    const deliveriesVote = phoneEventsVote + counters.screenEvents - screenEventsBefore;

    // Drain: every vote acked, then each projector caught up with its forum's last acked version.
    const drainEnds = now() + opts['drain-timeout'] * 1000;
    const behind = (forum) =>
      forum.finalTally === null || forum.finalTally.version < Math.max(forum.maxVersion, forum.catchUp ?? -1);
    while (counters.inFlight > 0 && now() < drainEnds) await sleep(20);
    if (opts.barrier) {
      console.log(`DRAINED ${forums.map((forum) => forum.maxVersion).join(',')}`);
      const versions = (await expectLine('CATCHUP')).split(',').map(Number);
      forums.forEach((forum, f) => {
        forum.catchUp = versions[f];
      });
    }
    while (forums.some(behind) && now() < drainEnds) await sleep(20);
    // A straggling later tally would still be counted; phones' tallies come every 0.5 s.
    await sleep(PHONE_LATENCY ? 1000 : 300);

    // Latency: from each vote sent to the first tally its forum's projector received with a
    // version at least its ack's.
    for (const forum of forums) {
      forum.prefixMax = [];
      let best = -1;
      for (const v of forum.tallyVersions) {
        best = Math.max(best, v);
        forum.prefixMax.push(best);
      }
    }
    const latencies = [];
    let unseen = 0;
    for (let i = 0; i < sentAt.length; i++) {
      const { prefixMax, tallyTimes } = ackForums[i];
      let lo = 0;
      let hi = prefixMax.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (prefixMax[mid] >= ackVersions[i]) hi = mid;
        else lo = mid + 1;
      }
      if (lo < prefixMax.length) latencies.push(tallyTimes[lo] - sentAt[i]);
      else unseen++;
    }
    latencies.sort((a, b) => a - b);
    const transports = {};
    if (PHONE_LATENCY) {
      // Each transport's phones: vote → ack, and vote → the first tally on the voting phone
      // whose version is at least its ack's (a phone's tallies arrive in version order).
      for (const phone of phones) {
        transports[phone.transport] ||= { phones: 0, ack: [], own: [], own_tally_unseen: 0 };
        transports[phone.transport].phones++;
      }
      ackLatencies.forEach((ms, i) => transports[ackTransports[i]].ack.push(ms));
      for (let i = 0; i < sentAt.length; i++) {
        const phone = votePhones[i];
        const seen = phone.tallies.find(([, version]) => version >= ackVersions[i]);
        if (seen) transports[phone.transport].own.push(seen[0] - sentAt[i]);
        else transports[phone.transport].own_tally_unseen++;
      }
      for (const figures of Object.values(transports)) {
        figures.ack.sort((a, b) => a - b);
        figures.own.sort((a, b) => a - b);
        Object.assign(figures, {
          votes_acked: figures.ack.length,
          ack_p50_ms: round(percentile(figures.ack, 0.5), 2),
          ack_p99_ms: round(percentile(figures.ack, 0.99), 2),
          own_tally_samples: figures.own.length,
          own_tally_p50_ms: round(percentile(figures.own, 0.5)),
          own_tally_p99_ms: round(percentile(figures.own, 0.99)),
        });
        delete figures.ack;
        delete figures.own;
      }
    }
    ackLatencies.sort((a, b) => a - b);

    // Conservation: each forum's final tally against its phones' last acked ballots; the counts
    // reported are the sums over forums, lost and double-counted the sums of each forum's.
    const zero = () => Object.fromEntries(OPTIONS.map((o) => [o, 0]));
    for (const forum of forums) {
      forum.expected = zero();
      forum.voters = 0;
    }
    for (const phone of phones) {
      if (phone.ackedChoices === null) continue;
      phone.forum.voters++;
      for (const choice of phone.ackedChoices) phone.forum.expected[choice]++;
    }
    const expected = zero();
    const counts = zero();
    let voters = 0;
    let lost = 0;
    let double = 0;
    let unequal = 0;
    for (const forum of forums) {
      const forumCounts = forum.finalTally ? forum.finalTally.counts : {};
      voters += forum.voters;
      let differs = false;
      for (const option of OPTIONS) {
        const diff = (forumCounts[option] || 0) - forum.expected[option];
        if (diff < 0) lost -= diff;
        else double += diff;
        differs = differs || diff !== 0;
        expected[option] += forum.expected[option];
        counts[option] += forumCounts[option] || 0;
      }
      if (differs) unequal++;
    }
    const sum = (f) => forums.reduce((total, forum) => total + f(forum), 0);
    const finalVersion = (forum) => (forum.finalTally ? forum.finalTally.version : 0);
    const cpuAll = process.cpuUsage(cpuStart);

    Object.assign(result, {
      vote_s: round(voteSeconds, 2),
      sent: counters.sent,
      resends: counters.resends,
      skipped: counters.skipped,
      acked: counters.acked,
      acked_per_s: round(counters.ackedInPeriod / voteSeconds),
      acked_in_period: counters.ackedInPeriod,
      unacked: counters.inFlight + counters.orphaned,
      refused: counters.refused,
      retries: counters.retries,
      retry_found_stored: counters.retryFoundStored,
      gave_up: counters.gaveUp,
      duplicate_acks: counters.duplicateAcks,
      resend_not_duplicate: counters.resendNotDuplicate,
      new_marked_duplicate: counters.newMarkedDuplicate,
      latency_samples: latencies.length,
      latency_unseen: unseen,
      latency_p50_ms: round(percentile(latencies, 0.5)),
      latency_p99_ms: round(percentile(latencies, 0.99)),
      latency_max_ms: round(latencies.length ? latencies[latencies.length - 1] : null),
      ack_p50_ms: round(percentile(ackLatencies, 0.5), 2),
      ack_p99_ms: round(percentile(ackLatencies, 0.99), 2),
      ack_ms_all: opts.samples ? ackLatencies.map((ms) => round(ms, 2)) : undefined,
      latency_ms_all: opts.samples ? latencies.map((ms) => round(ms, 1)) : undefined,
      projector_tallies: sum((forum) => forum.tallyVersions.length),
      phone_pushes_per_s: round(phoneEventsVote / voteSeconds),
      deliveries: deliveriesVote,
      by_transport: PHONE_LATENCY ? transports : undefined,
      server_cpu_s: round(serverCpuVote, 2),
      server_cpu_pct: round((100 * serverCpuVote) / voteSeconds),
      server_system_cpu_s: round(serverSystemVote, 2),
      gen_cpu_s: round((cpuVote.user + cpuVote.system) / 1e6, 2),
      gen_cpu_pct: round((100 * (cpuVote.user + cpuVote.system)) / 1e6 / voteSeconds),
      other_cpu_s: round(machineVote - serverCpuVote - (cpuVote.user + cpuVote.system) / 1e6, 2),
      gen_cpu_total_s: round((cpuAll.user + cpuAll.system) / 1e6, 2),
      gen_loop_delay_p99_ms: round(Math.max(0, delay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)),
      forums: forums.length,
      forums_behind: forums.filter(behind).length, // projector never saw its last acked version
      forums_unequal: unequal, // final tally differs from the phones' acked ballots
      final_version: forums.some((forum) => forum.finalTally) ? sum(finalVersion) : null,
      max_acked_version: sum((forum) => forum.maxVersion),
      final_counts: counts,
      expected_counts: expected,
      final_voters: forums.some((forum) => forum.finalTally) ? sum((forum) => forum.finalTally?.voters || 0) : null,
      expected_voters: voters,
      lost,
      double,
      disconnects: counters.disconnects,
    });
  } catch (err) {
    result.error = err.message;
  } finally {
    finish();
    clearTimeout(hardDeadline);
  }
  // Written whole before exiting: to a pipe, console.log is asynchronous, and with every
  // latency (--samples) the line is longer than the pipe holds.
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(result.error ? 1 : 0));
}

main();
