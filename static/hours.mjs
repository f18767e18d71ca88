// Business hours: is the team in now, when does it open next, and the
// week in a few lines. DOM-free (tests/js/hours.test.mjs). The schedule
// comes from /widget/config: `time_zone` (IANA) and `days`, Monday first,
// each a list of [start, end) minutes of the day in that zone.

const WEEKDAYS = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** Whether this JavaScript engine knows the time zone `zone`. */
export function knownZone(zone) {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch (e) {
    return false;
  }
}

/** Weekday (Monday 0) and minute of the day of `date` in `zone`. */
export function zonedTime(date, zone) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(date);
  const part = (type) => parts.find((p) => p.type === type).value;
  return { day: WEEKDAYS[part('weekday')], minute: Number(part('hour')) * 60 + Number(part('minute')) };
}

/** Whether `hours` has the team in at `date`. */
export function isOpen(hours, date) {
  const { day, minute } = zonedTime(date, hours.time_zone);
  return (hours.days[day] || []).some(([start, end]) => minute >= start && minute < end);
}

/**
 * The next opening after `date` within a week: `{day, minute, inDays}`
 * (`inDays` 0 today, 1 tomorrow …), or `null` for a schedule with no hours.
 */
export function nextOpening(hours, date) {
  const now = zonedTime(date, hours.time_zone);
  for (let inDays = 0; inDays <= 7; inDays++) {
    const day = (now.day + inDays) % 7;
    const start = (hours.days[day] || [])
      .map(([s]) => s)
      .find((s) => inDays > 0 || s > now.minute);
    if (start !== undefined) return { day: day, minute: start, inDays: inDays };
  }
  return null;
}

/** `540` → `"09:00"`. */
export function clock(minute) {
  const pad = (n) => String(n).padStart(2, '0');
  return pad(Math.floor(minute / 60)) + ':' + pad(minute % 60);
}

/**
 * The week as rows of consecutive days with the same hours:
 * `[{from: 0, to: 4, ranges: [[540, 1020]]}, …]`; closed days are left out.
 */
export function weekRows(hours) {
  const rows = [];
  hours.days.forEach((ranges, day) => {
    const last = rows[rows.length - 1];
    const same = last && last.to === day - 1 && JSON.stringify(last.ranges) === JSON.stringify(ranges);
    if (!ranges.length) return;
    if (same) last.to = day;
    else rows.push({ from: day, to: day, ranges: ranges });
  });
  return rows;
}
