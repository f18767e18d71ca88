// The conversation as a page knows it, without any DOM (wire protocol v1,
// PROTOCOL.md): the stored messages by seq, the outbox of messages not yet
// acknowledged, gaps and `since`, the "server lost its history" reset and
// the read marks. Views render what it decides; tests/js/ tests it in Node.

/** Errors after which the same message is sent again later, not failed. */
export const RETRYABLE = new Set(['store_unavailable', 'shutting_down', 'rate_limited']);

const RETRY_MIN_MS = 300; // a rate limit refills in about 1/rate (0.1 s by default)
const RETRY_MAX_MS = 10000;

/**
 * Messages typed but not yet acknowledged, in the order they were typed.
 * One is in flight at a time, so that a refused message (rate limited,
 * store unavailable) holds back every later one and nothing is stored out
 * of order; its acknowledgement (or a final refusal) releases the next.
 */
export class Outbox {
  constructor() {
    this.entries = []; // {id, text, private, attachments, attempts}
    this.inFlight = null; // id of the entry sent and not yet answered
    this.held = false; // the head was refused: wait for its retry
  }

  get size() {
    return this.entries.length;
  }

  find(id) {
    return typeof id === 'string' ? this.entries.find((e) => e.id === id) : undefined;
  }

  /** `note`: a private note (agents only); `attachments`: uploaded files it sends. */
  add(id, text, note = false, attachments = []) {
    const files = Array.isArray(attachments) ? attachments.filter((a) => a && typeof a.id === 'string') : [];
    const entry = { id, text, private: Boolean(note), attachments: files, attempts: 0 };
    this.entries.push(entry);
    return entry;
  }

  /** Entries from storage (see `saved`), after those already queued. */
  restore(data) {
    if (!Array.isArray(data)) return [];
    const added = [];
    for (const d of data) {
      if (!d || typeof d.id !== 'string' || typeof d.text !== 'string' || this.find(d.id)) continue;
      added.push(this.add(d.id, d.text, d.private === true, d.attachments));
    }
    return added;
  }

  /** What survives a reload or a login: ids, texts, notes and files, in order. */
  saved() {
    return this.entries.map((e) => {
      const out = { id: e.id, text: e.text };
      if (e.private) out.private = true;
      if (e.attachments.length) out.attachments = e.attachments;
      return out;
    });
  }

  /** The entry to send now (marked in flight), or null while one is out or held. */
  takeNext() {
    if (this.inFlight !== null || this.held || !this.entries.length) return null;
    const next = this.entries[0];
    this.inFlight = next.id;
    return next;
  }

  /** The server stored `id` (its copy came back): drops it, if ours. */
  acknowledge(id) {
    const entry = this.find(id);
    if (!entry) return undefined;
    this.entries.splice(this.entries.indexOf(entry), 1);
    if (this.inFlight === id) this.inFlight = null;
    return entry;
  }

  /**
   * The server refused `id` with `code`. Retryable: it stays first and
   * holds the rest back; `{retryMs}` says when to `release` it. Otherwise
   * it leaves the queue: `{failed: entry}`. Null when `id` is not ours.
   */
  refuse(id, code, random = Math.random) {
    const entry = this.find(id);
    if (!entry) return null;
    if (this.inFlight === id) this.inFlight = null;
    if (!RETRYABLE.has(code)) {
      this.entries.splice(this.entries.indexOf(entry), 1);
      return { failed: entry };
    }
    entry.attempts += 1;
    this.held = true;
    const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (entry.attempts - 1));
    return { retryMs: base / 2 + random() * (base / 2) };
  }

  /** The retry delay is over: the head may go again. */
  release() {
    this.held = false;
  }

  /** The socket is gone: nothing is in flight; the new one starts with the head. */
  connectionLost() {
    this.inFlight = null;
    this.held = false;
  }
}

/** Index where `seq` belongs in the ascending array `seqs`. */
function seqIndex(seqs, seq) {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (seqs[mid] < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function validMessage(m) {
  return Boolean(m) && Number.isSafeInteger(m.seq) && m.seq >= 1 && typeof m.text === 'string'
    && (m.from === 'agent' || m.from === 'customer')
    && (m.prev === undefined || (Number.isSafeInteger(m.prev) && m.prev >= 0 && m.prev < m.seq));
}

/**
 * The seq of the item before `m` that this side sees. Seqs number every
 * item of a conversation, but the customer does not see agents' private
 * notes and internal events: their items then say `prev`, so the seqs in
 * between are known to be hidden, not lost. Without `prev`, it is seq - 1.
 */
export function prevOf(m) {
  return m.prev === undefined ? m.seq - 1 : m.prev;
}

/** Whether `m` is an event (a change of assignee or status), not a message. */
export function isEvent(m) {
  return Boolean(m && m.event && typeof m.event.kind === 'string');
}

/** One conversation seen by `role` ('customer' or 'agent'). */
export class Conversation {
  constructor(role) {
    this.role = role === 'agent' ? 'agent' : 'customer';
    this.peerRole = this.role === 'agent' ? 'customer' : 'agent';
    this.seqs = []; // seqs held, ascending
    this.messages = new Map(); // seq -> message
    this.outbox = new Outbox();
    this.olderExhausted = false; // seq 1 is held, or the server said nothing is older
    this.gapStuck = false; // a gap request brought nothing: stop until reconnect
    this.readSent = 0; // highest read mark this side has stored
    this.peerReadSeq = 0; // what the other side has seen
    this.lastSeq = 0; // the server's newest seq, from welcome and messages
    this.peerOnline = null; // unknown until the first welcome
    this.status = 'open';
  }

  highest() {
    return this.seqs.length ? this.seqs[this.seqs.length - 1] : 0;
  }

  lowest() {
    return this.seqs.length ? this.seqs[0] : 0;
  }

  /** The `since` of the next socket: everything up to it is held. */
  since() {
    return this.highest();
  }

  /** Whether the conversation has any stored message, as far as we know. */
  isEmpty() {
    return this.lastSeq === 0 && this.seqs.length === 0;
  }

  /**
   * A welcome frame. Returns `{reset: true}` when the server has less than
   * we hold (its history was lost or replaced): everything stored is
   * dropped and the page must reconnect from scratch (`since` is 0 again).
   */
  welcome(f) {
    const last = Number.isSafeInteger(f.last_seq) ? f.last_seq : 0;
    if (last < this.highest()) {
      this.clear();
      this.readSent = 0;
      this.lastSeq = 0;
      return { reset: true };
    }
    this.lastSeq = last;
    this.peerOnline = Boolean(f.peer_online);
    if (Number.isSafeInteger(f.read_seq)) this.readSent = Math.max(this.readSent, f.read_seq);
    // The server's word, even if lower: it is what the peer has stored.
    if (Number.isSafeInteger(f.peer_read_seq)) this.peerReadSeq = f.peer_read_seq;
    this.setStatus(f.status);
    return { reset: false };
  }

  setStatus(status) {
    if (status !== 'open' && status !== 'resolved') return false;
    this.status = status;
    return true;
  }

  /** Forgets every stored message (the outbox stays). */
  clear() {
    this.seqs.length = 0;
    this.messages.clear();
    this.olderExhausted = false;
    this.gapStuck = false;
  }

  /**
   * One stored message (live, from history, or the acknowledgement of our
   * own). `older`: fetched with history_before. Returns what happened:
   * - `added`: held now, at `index` in `seqs`;
   * - `duplicate`: that seq is held already (never shown twice);
   * - `skipped`: far below what is loaded (a resend acknowledged late):
   *   it shows up when the reader scrolls back, instead of opening a gap;
   * - `invalid`: not a message.
   * `acked` is the outbox entry it acknowledges, if any.
   */
  accept(m, older = false) {
    if (!validMessage(m)) return { result: 'invalid' };
    const acked = m.from === this.role ? this.outbox.acknowledge(m.id) : undefined;
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    if (this.messages.has(m.seq)) return { result: 'duplicate', acked };
    if (!older && this.seqs.length && m.seq < this.lowest() && !this.olderExhausted) {
      return { result: 'skipped', acked };
    }
    const index = seqIndex(this.seqs, m.seq);
    this.seqs.splice(index, 0, m.seq);
    this.messages.set(m.seq, m);
    if (prevOf(m) === 0) this.olderExhausted = true;
    return { result: 'added', index, acked };
  }

  /**
   * The highest hole between held seqs: an item whose `prevOf` is not the
   * one held below it. `missing` is at most how many are missing.
   */
  findGap() {
    if (this.gapStuck) return null;
    for (let i = this.seqs.length - 1; i > 0; i--) {
      const item = this.messages.get(this.seqs[i]);
      if (prevOf(item) > this.seqs[i - 1]) {
        return { before: this.seqs[i], missing: this.seqs[i] - this.seqs[i - 1] - 1 };
      }
    }
    return null;
  }

  /** Whether the oldest item held is the first this side sees. */
  atBeginning() {
    return this.seqs.length > 0 && prevOf(this.messages.get(this.seqs[0])) === 0;
  }

  /** After a page of older messages: what it tells about the top and gaps. */
  olderPageDone(kind, added, hasMore) {
    if (kind === 'top' && (!hasMore || added === 0)) this.olderExhausted = true;
    if (kind === 'gap' && added === 0) this.gapStuck = true; // avoid a request loop
    if (this.atBeginning()) this.olderExhausted = true;
  }

  /** A first history: from scratch, without `has_more`, it is everything. */
  historyDone(since, hasMore) {
    if (since === 0 && !hasMore) this.olderExhausted = true;
  }

  /** Whether a read mark up to `seq` is news for the server. */
  readIsNew(seq) {
    return seq > this.readSent;
  }

  /** The peer has seen up to `seq`; true if that moved its mark. */
  peerRead(seq) {
    if (!Number.isSafeInteger(seq) || seq <= this.peerReadSeq) return false;
    this.peerReadSeq = seq;
    return true;
  }

  /**
   * Our newest message the peer has seen ("Seen" goes under it), or 0.
   * Private notes and events are nobody's message to the peer.
   */
  seenSeq() {
    for (let i = seqIndex(this.seqs, this.peerReadSeq + 1) - 1; i >= 0; i--) {
      const m = this.messages.get(this.seqs[i]);
      if (m.from === this.role && !m.private && !isEvent(m)) return this.seqs[i];
    }
    return 0;
  }
}
