// Saved replies in the composer, without any DOM: typing `/` and then a
// shortcut or part of a name offers the team's saved replies.

/**
 * What follows a leading `/` in the composer (a single word, maybe empty),
 * or null when the composer is not asking for a saved reply.
 */
export function slashQuery(value) {
  const match = /^\/(\S*)$/.exec(value);
  return match ? match[1].toLowerCase() : null;
}

/**
 * The replies matching `query`, best first: shortcuts that start with it,
 * then names that contain it (any case); at most `max`.
 */
export function suggest(replies, query, max = 8) {
  const q = query.toLowerCase();
  const valid = (Array.isArray(replies) ? replies : [])
    .filter((r) => r && typeof r.shortcut === 'string' && typeof r.text === 'string');
  const byShortcut = valid.filter((r) => r.shortcut.toLowerCase().startsWith(q));
  const byName = valid.filter((r) => !byShortcut.includes(r)
    && typeof r.name === 'string' && r.name.toLowerCase().includes(q));
  return byShortcut.concat(byName).slice(0, max);
}
