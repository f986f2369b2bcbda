'use strict';
// The peer: a plain socket.io 4.8 server doing the job of Townhall's live poll, written the way
// anyone would with stock socket.io and its defaults, for the load comparison.
//
//   node peer.js --port 8001 [--code PEER] [--options a,b,c] [--tick-ms 100] [--tally-to all]
//     [--phone-tick-ms 500]
//
// One poll, open from the start, results live. A phone's ballot belongs to its connection.
// `vote` is acked {ok, poll, choices, version, duplicate} with Townhall's message-id rule: a
// resend (an `op` among the ballot's last 16) changes nothing and is acked with the ballot as it
// stands. Tallies go on a tick, as Townhall's do: the first change after a quiet spell at once,
// changes during the next tick gathered into one message, to the host and projector rooms and,
// with --tally-to all (the default, as for Townhall's live poll), to the phones' room too.
// --phone-tick-ms paces the phones as Townhall does (townhall/broadcast.py, PHONE_TALLY_S): the
// projector and host every tick, the phones at most once per --phone-tick-ms with the tally as
// it then stands; 0 (the default) sends the phones every tick with the projector.

const http = require('node:http');
const { performance } = require('node:perf_hooks');
const { Server } = require('socket.io');

const args = { port: 8001, host: '127.0.0.1', code: 'PEER', poll: 'vote', options: 'a,b,c', 'tick-ms': 100, 'tally-to': 'all', 'phone-tick-ms': 0 };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, '');
  if (!(name in args)) throw new Error(`unknown option ${process.argv[i]}`);
  args[name] = typeof args[name] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}

const RECENT_OPS = 16;
const OPTIONS = args.options.split(',');
const TO_PHONES = args['tally-to'] === 'all';
const PACED = TO_PHONES && args['phone-tick-ms'] > 0;
const ROOMS = TO_PHONES && !PACED ? ['host', 'screen', 'participant'] : ['host', 'screen'];

const poll = {
  id: args.poll,
  version: 0,
  counts: Object.fromEntries(OPTIONS.map((o) => [o, 0])),
  ballots: new Map(), // socket id -> {choices, version, ops}
};
let seq = 0;

const httpServer = http.createServer();
const io = new Server(httpServer);

io.use((socket, next) => {
  const { role, code } = socket.handshake.auth || {};
  if (!['participant', 'host', 'screen'].includes(role)) {
    const err = new Error('role must be participant, host or screen');
    err.data = { code: 'bad_auth' };
    return next(err);
  }
  if (typeof code !== 'string' || code.toUpperCase() !== args.code) {
    const err = new Error('no forum with that code');
    err.data = { code: 'unknown_forum' };
    return next(err);
  }
  socket.data.role = role;
  next();
});

function refuse(code, message) {
  return { ok: false, error: { code, message } };
}

function vote(participant, payload) {
  if (typeof payload !== 'object' || payload === null) return refuse('invalid_payload', 'one object');
  const { poll: pollId, choices, op } = payload;
  if (typeof op !== 'string' || op.length < 1 || op.length > 64) {
    return refuse('invalid_payload', 'op must be 1-64 characters');
  }
  if (pollId !== poll.id) return refuse('unknown_poll', 'no such poll');
  const previous = poll.ballots.get(participant);
  if (previous && previous.ops.includes(op)) {
    return { ok: true, poll: poll.id, choices: previous.choices, version: previous.version, duplicate: true };
  }
  if (!Array.isArray(choices) || choices.length !== 1) return refuse('invalid_choice', 'choose one');
  if (!OPTIONS.includes(choices[0])) return refuse('unknown_option', 'no such option');
  seq += 1;
  poll.version = seq;
  if (previous) {
    for (const choice of previous.choices) poll.counts[choice] -= 1;
  }
  for (const choice of choices) poll.counts[choice] += 1;
  const ops = previous ? [...previous.ops.slice(-(RECENT_OPS - 1)), op] : [op];
  const ballot = { choices: [...choices], version: seq, ops };
  poll.ballots.set(participant, ballot);
  changed();
  return { ok: true, poll: poll.id, choices: ballot.choices, version: ballot.version, duplicate: false };
}

let dirty = false;
let phonesOwed = false; // paced phones: a change not yet sent to them
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
  const tally = () => ({ poll: poll.id, version: poll.version, counts: { ...poll.counts }, voters: poll.ballots.size });
  if (dirty) io.to(ROOMS).emit('tally', tally());
  dirty = false;
  const now = performance.now();
  if (phonesOwed && now >= phonesSentAt + args['phone-tick-ms']) {
    io.to('participant').emit('tally', tally());
    phonesOwed = false;
    phonesSentAt = now;
  }
  setTimeout(flush, args['tick-ms']);
}

io.on('connection', (socket) => {
  socket.join(socket.data.role);
  socket.on('vote', (payload, ack) => {
    if (typeof ack !== 'function') return;
    if (socket.data.role !== 'participant') return ack(refuse('forbidden', 'participants only'));
    ack(vote(socket.id, payload));
  });
});

httpServer.listen(args.port, args.host, () => {
  console.log(`peer listening on http://${args.host}:${args.port} code ${args.code}`);
});
