// A WebSocket that comes back on its own: exponential backoff with jitter,
// JSON frames, and two ways to stop for good: replaced by a newer tab
// (close 4001, PROTOCOL.md) and credentials refused. Shared by the chat view
// and the console's inbox; DOM-free (tests/js/ drives it with fakes).

export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 10000;
const OPEN = 1; // WebSocket.OPEN
const REPLACED = 4001;

/**
 * A probe for "logged out": browsers hide the HTTP status of a refused
 * WebSocket upgrade, so after a failed connect ask the API (which takes the
 * same cookie or `token` query parameter) whether our credentials still
 * work. Resolves true only on 401; a network error is not a logout.
 */
export function credentialsProbe(params, fetchImpl = globalThis.fetch) {
  return async () => {
    const query = new URLSearchParams(params);
    query.set('limit', '1');
    try {
      const response = await fetchImpl('/api/conversations?' + query, { credentials: 'same-origin', cache: 'no-store' });
      return response.status === 401;
    } catch (e) {
      return false;
    }
  };
}

export class ReconnectingSocket {
  /**
   * Options: `url()` the address of the next attempt; `onOpen()`,
   * `onFrame(frame)` (parsed JSON objects only), `onClose(event)` and
   * `onHalt(reason)` ('replaced' or 'logged-out'); `probe` (optional, see
   * `credentialsProbe`); `env` replaces WebSocket, setTimeout, clearTimeout
   * and Math.random (for tests).
   */
  constructor(options) {
    this.options = options;
    const env = options.env || {};
    this.WebSocket = env.WebSocket || globalThis.WebSocket;
    this.setTimeout = env.setTimeout || globalThis.setTimeout.bind(globalThis);
    this.clearTimeout = env.clearTimeout || globalThis.clearTimeout.bind(globalThis);
    this.random = env.random || Math.random;
    this.ws = null; // the current socket; events of older ones are ignored
    this.opened = false; // the current socket got its `open` event
    this.backoffMs = BACKOFF_MIN_MS;
    this.timer = null; // the next attempt
    this.halted = null; // 'replaced' | 'logged-out': no automatic attempt
    this.paused = false; // the network is down: wait for `resume`
    this.probing = false;
  }

  get open() {
    return Boolean(this.ws) && this.ws.readyState === OPEN;
  }

  /** Waiting for the next attempt (or finding out why the last failed). */
  get waiting() {
    return Boolean(this.timer) || this.probing;
  }

  connect() {
    this.clearTimeout(this.timer);
    this.timer = null;
    if (this.ws || this.halted || this.paused) return;
    let sock;
    try {
      sock = new this.WebSocket(this.options.url());
    } catch (e) {
      this.schedule();
      return;
    }
    this.ws = sock;
    this.opened = false;
    sock.onopen = () => {
      if (sock !== this.ws) return;
      this.opened = true;
      if (this.options.onOpen) this.options.onOpen();
    };
    sock.onmessage = (ev) => {
      if (sock !== this.ws) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame === 'object') this.options.onFrame(frame);
    };
    sock.onclose = (ev) => {
      if (sock === this.ws) this.closed(ev);
    };
  }

  closed(ev) {
    const opened = this.opened;
    this.ws = null;
    this.opened = false;
    if (ev.code === REPLACED) this.halted = 'replaced'; // newest tab wins: do not fight it
    if (this.options.onClose) this.options.onClose(ev);
    if (this.halted) {
      this.options.onHalt(this.halted);
      return;
    }
    if (opened || !this.options.probe) {
      this.schedule();
      return;
    }
    // Refused before it opened: maybe for our credentials.
    this.probing = true;
    this.options.probe().then((loggedOut) => {
      this.probing = false;
      if (this.ws || this.halted) return; // someone reconnected meanwhile
      if (loggedOut) {
        this.halted = 'logged-out';
        this.options.onHalt(this.halted);
      } else {
        this.schedule();
      }
    });
  }

  /** Exponential backoff with jitter, so many pages do not reconnect in step. */
  schedule() {
    if (this.timer || this.halted || this.paused) return;
    const delay = this.backoffMs / 2 + this.random() * (this.backoffMs / 2);
    this.backoffMs = Math.min(BACKOFF_MAX_MS, this.backoffMs * 2);
    this.timer = this.setTimeout(() => this.connect(), delay);
  }

  /** The connection works (a welcome or a first answer came): short waits again. */
  proven() {
    this.backoffMs = BACKOFF_MIN_MS;
  }

  send(obj) {
    if (!this.open) return false;
    try {
      this.ws.send(JSON.stringify(obj));
      return true;
    } catch (e) {
      return false;
    }
  }

  /** Stops using the current socket without counting it as a failure. */
  drop() {
    const sock = this.ws;
    this.ws = null;
    this.opened = false;
    this.clearTimeout(this.timer);
    this.timer = null;
    if (sock) {
      try {
        sock.close(1000);
      } catch (e) {
        // already closing
      }
    }
  }

  /** A fresh attempt at once (also after a halt: the user asked for it). */
  reconnectNow() {
    this.drop();
    this.halted = null;
    this.paused = false;
    this.backoffMs = BACKOFF_MIN_MS;
    this.connect();
  }

  /** The network went away: the socket may linger half-dead, so drop it now. */
  pause() {
    this.paused = true;
    this.drop();
  }

  resume() {
    this.paused = false;
    if (!this.halted) this.reconnectNow();
  }

  /** Coming back to the page: do not wait out a long backoff. */
  hurry() {
    if (!this.ws && this.timer && !this.halted) this.reconnectNow();
  }

  /** For good (the view goes away). */
  destroy() {
    this.halted = 'destroyed';
    this.drop();
  }
}
