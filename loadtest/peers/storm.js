'use strict';
// The join storm: N phones scanning the QR code within a few seconds. Each phone, started at
// its turn (spread evenly over --spread seconds), GETs the join page as a browser does (its own
// TCP connection, gzip accepted) for its participant cookie, then opens an Engine.IO WebSocket,
// connects to the forum and asks for its snapshot, as the phone page does; done when the
// snapshot's ack is in. A 429 (or 503) page is fetched again after its Retry-After, as the
// page's own Refresh header makes a browser do; a page whose connection failed is fetched again
// after 2 s (the person reloads); a WebSocket that failed before the snapshot is opened again
// after the socket.io client's back-off (1 s doubling to 5 s, ±50 %), as the page's client does.
// A refusal by the forum (Socket.IO connect_error) is final. Every failure is counted under
// `refusals`, whether retried or not. The last line on stdout is `RESULT {json}`.
//
//   node storm.js --url http://127.0.0.1:8000 --code ABC123 --phones 10000 --spread 10
//     [--addresses 500] [--server-pids 123] [--timeout 120]
//
// --addresses K: phones come from K loopback source addresses (127.1.0.1 …), phone i from
//   address i mod K, as phones behind K routers or carrier NATs; the server's per-address
//   limits apply to each as to one such router. 1: every phone from one address.

const http = require('node:http');
const fs = require('node:fs');
const { performance, monitorEventLoopDelay } = require('node:perf_hooks');
const WebSocket = require('ws');

const DEFAULTS = {
  url: 'http://127.0.0.1:8000',
  code: '',
  phones: 10000,
  spread: 10,
  addresses: 500,
  'server-pids': '',
  timeout: 120, // seconds for the whole storm, after the last phone started
  'max-retries': 50, // join pages fetched or sockets opened again, per phone
  'clk-tck': 100,
};

function parseArgs(argv) {
  const opts = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in DEFAULTS)) throw new Error(`unknown option ${argv[i]}`);
    opts[name] = typeof DEFAULTS[name] === 'number' ? Number(argv[++i]) : argv[++i];
  }
  return opts;
}

const opts = parseArgs(process.argv.slice(2));
const SERVER_PIDS = opts['server-pids'] ? opts['server-pids'].split(',').map(Number) : [];
const WS_URL = `${opts.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
const COOKIE = `townhall_pid_${opts.code}=`;
const AUTH = JSON.stringify({ role: 'participant', code: opts.code });
const LOOP_RESOLUTION_MS = 10;
const PAGE_RELOAD_MS = 2000;
// The socket.io client's reconnection: reconnectionDelay 1 s, doubling, at most 5 s, ±50 %.
const backoff = (attempt) => Math.min(1000 * 2 ** attempt, 5000) * (0.5 + Math.random());
const now = () => performance.now();

// Loopback source addresses 127.1.x.y: the whole 127/8 reaches a server on 127.0.0.1.
const address = (i) => {
  const k = (i % opts.addresses) + 1;
  return `127.1.${k >> 8}.${k & 255}`;
};

function serverCpuSeconds() {
  let total = 0;
  for (const pid of SERVER_PIDS) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    total += (Number(fields[11]) + Number(fields[12])) / opts['clk-tck'];
  }
  return total;
}

function rssMb() {
  let total = 0;
  for (const pid of SERVER_PIDS) {
    const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (match) total += Number(match[1]) / 1024;
  }
  return total;
}

const refusals = {}; // reason -> count: HTTP statuses, connect errors, socket errors
const refuse = (reason) => {
  refusals[reason] = (refusals[reason] || 0) + 1;
};
const failures = {}; // reason a phone never got its snapshot
const sockets = [];
let dropped = 0; // connections closed after their snapshot, during the storm
let stopping = false;

// The join page: resolves with the cookie, or with null and a reason, after any retries.
function joinPage(i, phone) {
  return new Promise((resolve) => {
    const attempt = () => {
      const request = http.get(
        `${opts.url}/j/${opts.code}`,
        { agent: false, localAddress: address(i), headers: { 'Accept-Encoding': 'gzip, br', Accept: 'text/html' } },
        (response) => {
          response.resume();
          response.on('end', () => {
            const status = response.statusCode;
            if (status === 200) {
              const cookie = (response.headers['set-cookie'] || []).find((c) => c.startsWith(COOKIE));
              return resolve(cookie ? cookie.slice(COOKIE.length).split(';')[0] : null);
            }
            refuse(`http_${status}`);
            const wait = Number(response.headers['retry-after']);
            if ((status === 429 || status === 503) && phone.retries < opts['max-retries'] && wait >= 0) {
              phone.retries++;
              return setTimeout(attempt, wait * 1000);
            }
            phone.reason = `http_${status}`;
            resolve(null);
          });
        },
      );
      request.setTimeout(opts.timeout * 1000, () => request.destroy(new Error('timeout')));
      request.on('error', (err) => {
        const reason = `page_${err.code || err.message}`;
        refuse(reason);
        if (phone.retries < opts['max-retries']) {
          phone.retries++;
          return setTimeout(attempt, PAGE_RELOAD_MS);
        }
        phone.reason = reason;
        resolve(null);
      });
    };
    attempt();
  });
}

// Engine.IO open, Socket.IO connect, `snapshot` asked for: resolves true when its ack is in.
function connect(i, phone, cookie) {
  return new Promise((resolve) => {
    const ws = new WebSocket(WS_URL, {
      perMessageDeflate: false,
      localAddress: address(i),
      headers: { Cookie: `${COOKIE}${cookie}`, Origin: opts.url },
      handshakeTimeout: opts.timeout * 1000,
    });
    sockets.push(ws);
    let settled = null; // the first outcome: later events are this socket closing
    const done = (ok, reason) => {
      if (settled !== null) {
        if (settled && !ok && !stopping) dropped++; // lost after its snapshot
        settled = settled && ok;
        return;
      }
      settled = ok;
      if (!ok) {
        phone.reason = reason;
        refuse(reason);
        ws.terminate();
      }
      resolve(ok ? 'ok' : reason.startsWith('ws_') ? 'retry' : 'final');
    };
    ws.on('message', (data) => {
      const text = data.toString();
      if (text[0] === '2') ws.send('3');
      else if (text[0] === '0') ws.send(`40${AUTH}`);
      else if (text.startsWith('40')) {
        phone.connectedAt = now();
        ws.send('420["snapshot",{}]');
      } else if (text.startsWith('430')) {
        const reply = JSON.parse(text.slice(3))[0];
        done(reply.ok === true, reply.ok ? '' : `snapshot_${reply.error && reply.error.code}`);
      } else if (text.startsWith('44')) {
        let code = 'connect_error';
        try {
          const body = JSON.parse(text.slice(2));
          code = (body.data && body.data.code) || body.message || code;
        } catch {
          // keep the generic reason
        }
        done(false, `connect_${code}`);
      }
    });
    ws.on('error', (err) => done(false, `ws_${err.code || err.message}`));
    ws.on('close', (code) => done(false, `ws_closed_${code}`));
  });
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const round = (x, digits = 1) => (x === null ? null : Number(x.toFixed(digits)));
const stats = (values, prefix) => {
  values.sort((a, b) => a - b);
  return {
    [`${prefix}_p50_ms`]: round(percentile(values, 0.5)),
    [`${prefix}_p99_ms`]: round(percentile(values, 0.99)),
    [`${prefix}_max_ms`]: round(values.length ? values[values.length - 1] : null),
  };
};

async function main() {
  const delay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const rssBefore = rssMb();
  const cpuBefore = serverCpuSeconds();
  const genBefore = process.cpuUsage();
  const started = now();
  const phones = [];
  delay.enable();
  const finished = new Promise((resolveAll) => {
    let left = opts.phones;
    for (let i = 0; i < opts.phones; i++) {
      const phone = { retries: 0, wsRetries: 0, reason: '', startedAt: 0, pageAt: 0, connectedAt: 0, doneAt: 0 };
      phones.push(phone);
      setTimeout(async () => {
        phone.startedAt = now();
        const cookie = await joinPage(i, phone);
        phone.pageAt = now();
        let outcome = cookie ? await connect(i, phone, cookie) : 'final';
        while (outcome === 'retry' && phone.wsRetries < opts['max-retries']) {
          await new Promise((resolve) => setTimeout(resolve, backoff(phone.wsRetries++)));
          outcome = await connect(i, phone, cookie);
        }
        if (outcome === 'ok') phone.doneAt = now();
        if (!phone.doneAt) failures[phone.reason || 'no_cookie'] = (failures[phone.reason || 'no_cookie'] || 0) + 1;
        if (--left === 0) resolveAll();
      }, (i * opts.spread * 1000) / opts.phones);
    }
  });
  let timedOut = false;
  await Promise.race([
    finished,
    new Promise((resolve) =>
      setTimeout(
        () => {
          timedOut = true;
          resolve();
        },
        (opts.spread + opts.timeout) * 1000,
      ),
    ),
  ]);
  delay.disable();
  const seconds = (now() - started) / 1000;
  const serverCpu = serverCpuSeconds() - cpuBefore;
  const gen = process.cpuUsage(genBefore);
  const rssAfter = rssMb();
  const ok = phones.filter((p) => p.doneAt);
  const result = {
    phones: opts.phones,
    spread_s: opts.spread,
    addresses: opts.addresses,
    timed_out: timedOut,
    snapshots: ok.length,
    all_connected: ok.length === opts.phones,
    failed: failures,
    refusals,
    dropped_after_snapshot: dropped,
    phones_retried: phones.filter((p) => p.retries + p.wsRetries > 0).length,
    retried_then_in: ok.filter((p) => p.retries + p.wsRetries > 0).length,
    page_retries: phones.reduce((n, p) => n + p.retries, 0),
    ws_retries: phones.reduce((n, p) => n + p.wsRetries, 0),
    last_snapshot_s: round(ok.length ? (Math.max(...ok.map((p) => p.doneAt)) - started) / 1000 : null, 2),
    ...stats(ok.map((p) => p.doneAt - p.startedAt), 'page_to_snapshot'),
    ...stats(ok.map((p) => p.pageAt - p.startedAt), 'page'),
    ...stats(ok.map((p) => p.connectedAt - p.pageAt), 'page_to_connect'),
    storm_s: round(seconds, 2),
    server_cpu_s: round(serverCpu, 2),
    server_cpu_pct: round((100 * serverCpu) / seconds),
    server_rss_before_mb: round(rssBefore),
    server_rss_after_mb: round(rssAfter),
    gen_cpu_pct: round((100 * (gen.user + gen.system)) / 1e6 / seconds),
    gen_loop_delay_p99_ms: round(Math.max(0, delay.percentile(99) / 1e6 - LOOP_RESOLUTION_MS)),
  };
  stopping = true;
  for (const ws of sockets) ws.terminate();
  // Written whole before exiting: to a pipe, console.log is asynchronous.
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
}

main();
