// The reconnecting socket (static/socket.mjs) with a fake WebSocket and
// fake timers: backoff, halts, the logged-out probe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReconnectingSocket, BACKOFF_MAX_MS } from '../../static/socket.mjs';

function world() {
  const sockets = [];
  const timers = [];
  class FakeSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      sockets.push(this);
    }
    send(data) { this.sent.push(JSON.parse(data)); }
    close() { this.readyState = 3; }
    open() { this.readyState = 1; this.onopen(); }
    fail(code = 1006) { this.readyState = 3; this.onclose({ code }); }
  }
  const env = {
    WebSocket: FakeSocket,
    setTimeout: (fn, ms) => { timers.push({ fn, ms }); return timers.length; },
    clearTimeout: () => {},
    random: () => 1, // the longest jitter: delays are the backoff itself
  };
  const fire = () => timers.shift().fn();
  return { sockets, timers, env, fire };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

test('backs off exponentially up to the cap, and short again once proven', () => {
  const w = world();
  const events = [];
  const s = new ReconnectingSocket({ url: () => 'ws://x', env: w.env, onFrame: (f) => events.push(f), onHalt: () => {} });
  s.connect();
  const delays = [];
  for (let i = 0; i < 7; i++) {
    w.sockets.at(-1).fail();
    delays.push(w.timers[0].ms);
    w.fire();
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, BACKOFF_MAX_MS, BACKOFF_MAX_MS]);
  const sock = w.sockets.at(-1);
  sock.open();
  sock.onmessage({ data: '{"type":"welcome"}' });
  sock.onmessage({ data: 'not json' });
  assert.deepEqual(events, [{ type: 'welcome' }]);
  s.proven();
  sock.fail(1001);
  assert.equal(w.timers[0].ms, 500);
  assert.equal(w.sockets.length, 8);
});

test('close 4001 (replaced) stops until the user reconnects', () => {
  const w = world();
  const halts = [];
  const s = new ReconnectingSocket({ url: () => 'ws://x', env: w.env, onFrame: () => {}, onHalt: (r) => halts.push(r) });
  s.connect();
  w.sockets[0].open();
  w.sockets[0].fail(4001);
  assert.deepEqual(halts, ['replaced']);
  assert.equal(w.timers.length, 0, 'no automatic reconnect');
  s.connect();
  assert.equal(w.sockets.length, 1);
  s.reconnectNow();
  assert.equal(w.sockets.length, 2, 'the user asked: this tab becomes the newest');
  assert.equal(s.halted, null);
});

test('a refused upgrade asks the probe; 401 halts as logged out, anything else retries', async () => {
  const w = world();
  const halts = [];
  let loggedOut = false;
  const s = new ReconnectingSocket({
    url: () => 'ws://x', env: w.env, onFrame: () => {}, onHalt: (r) => halts.push(r), probe: async () => loggedOut,
  });
  s.connect();
  w.sockets[0].fail();
  assert.equal(s.waiting, true, 'probing counts as waiting');
  await flush();
  assert.equal(w.timers.length, 1, 'server down, not logged out: retry');
  w.fire();
  loggedOut = true;
  w.sockets[1].fail();
  await flush();
  assert.deepEqual(halts, ['logged-out']);
  assert.equal(w.timers.length, 0, 'no retry while logged out');
  // A socket that was open and then closed is not probed.
  const t = world();
  let probed = 0;
  const open = new ReconnectingSocket({ url: () => 'ws://x', env: t.env, onFrame: () => {}, onHalt: () => {}, probe: async () => { probed++; return true; } });
  open.connect();
  t.sockets[0].open();
  t.sockets[0].fail(1001);
  await flush();
  assert.equal(probed, 0);
  assert.equal(t.timers.length, 1);
});

test('send only on an open socket; pause drops it until resume', () => {
  const w = world();
  const s = new ReconnectingSocket({ url: () => 'ws://x', env: w.env, onFrame: () => {}, onHalt: () => {} });
  assert.equal(s.send({ type: 'read', seq: 1 }), false);
  s.connect();
  w.sockets[0].open();
  assert.equal(s.send({ type: 'read', seq: 1 }), true);
  assert.deepEqual(w.sockets[0].sent, [{ type: 'read', seq: 1 }]);
  s.pause();
  assert.equal(s.open, false);
  s.connect();
  assert.equal(w.sockets.length, 1, 'offline: no attempt');
  s.resume();
  assert.equal(w.sockets.length, 2);
});
