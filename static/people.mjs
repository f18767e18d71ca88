// Who wrote a message or is typing, as a page names them (PROTOCOL.md:
// agent messages and typing frames carry `author`, an agent's welcome
// carries `me`). No DOM: tests/js/people.test.mjs tests it in Node.

/** A well-formed `{id, name}` from the server, or null. */
export function agentOf(value) {
  if (!value || typeof value !== 'object') return null;
  const { id, name } = value;
  return Number.isSafeInteger(id) && typeof name === 'string' && name.trim() ? { id, name } : null;
}

/**
 * How a page of `viewerRole` (acting as agent `me`, or null) names the
 * writer of a message `from` a side with `author`: `{ me: true }` for its
 * own, `{ name }` for a named agent, `{ role }` otherwise. On an agent page,
 * a colleague's reply is named; a reply with no author (older than names)
 * or a page that does not know who it is counts as its own.
 */
export function senderOf(from, author, viewerRole, me) {
  const writer = agentOf(author);
  if (from === viewerRole) {
    const mine = from === 'customer' || !writer || !me || writer.id === me.id;
    return mine ? { me: true } : { name: writer.name };
  }
  return from === 'agent' && writer ? { name: writer.name } : { role: from };
}

/**
 * Whose typing a page of `viewerRole` shows for a typing frame: `{ name }`
 * or `{ role }`, or null when it is not for this page (its own side, for a
 * customer; an agent sees colleagues too, who always have an author).
 */
export function typistOf(frame, viewerRole) {
  const writer = agentOf(frame.author);
  if (frame.role === viewerRole) {
    return viewerRole === 'agent' && writer ? { name: writer.name } : null;
  }
  if (frame.role !== 'agent' && frame.role !== 'customer') return null;
  return writer ? { name: writer.name } : { role: frame.role };
}
