// History items that are not chat messages, without any DOM: events (a
// change of assignee or status) as a line in the page's language, and the
// kind of bubble an item gets (PROTOCOL.md, "Private notes and events").

const name = (who) => (who && typeof who.name === 'string' ? who.name : '?');

/** The line of event `e` (the `event` field of an item), through `t`. */
export function eventText(e, t) {
  const by = e.by ? name(e.by) : null;
  switch (e.kind) {
    case 'joined': return t('eventJoined', { agent: name(e.agent) });
    case 'assigned':
      if (!by) return t('eventAssignedAuto', { to: name(e.to) });
      return by === name(e.to) ? t('eventTook', { by }) : t('eventAssigned', { by, to: name(e.to) });
    case 'transferred':
      if (!by) return t('eventMovedAuto', { from: name(e.from), to: name(e.to) });
      if (by === name(e.from)) return t('eventHandedOver', { by, to: name(e.to) });
      return t('eventTransferred', { by, from: name(e.from), to: name(e.to) });
    case 'unassigned':
      return by ? t('eventUnassigned', { by, from: name(e.from) }) : t('eventUnassignedAuto', { from: name(e.from) });
    case 'resolved': return by ? t('eventResolved', { by }) : t('eventResolvedAuto');
    case 'reopened': return by ? t('eventReopened', { by }) : t('eventReopenedAuto');
    default: return null; // a newer server's event: its `text` is shown
  }
}

/** 'event', 'note' (a private note) or 'message': how an item is shown. */
export function itemKind(m) {
  if (m && m.event && typeof m.event.kind === 'string') return 'event';
  return m && m.private === true ? 'note' : 'message';
}
