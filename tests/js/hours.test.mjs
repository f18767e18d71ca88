// Business hours in the team's time zone, whatever the visitor's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { knownZone, zonedTime, isOpen, nextOpening, clock, weekRows } from '../../static/hours.mjs';

const WEEKDAYS = [[[540, 1020]], [[540, 1020]], [[540, 1020]], [[540, 1020]], [[540, 1020]], [[600, 840]], []];
const berlin = { time_zone: 'Europe/Berlin', days: WEEKDAYS };

test('the time is read in the team\'s zone', () => {
  // Wednesday 2026-12-02 07:30 UTC is 08:30 in Berlin (winter time).
  assert.deepEqual(zonedTime(new Date('2026-12-02T07:30:00Z'), 'Europe/Berlin'), { day: 2, minute: 510 });
  // Sunday 23:30 UTC is already Monday in Tokyo.
  assert.deepEqual(zonedTime(new Date('2026-12-06T23:30:00Z'), 'Asia/Tokyo'), { day: 0, minute: 510 });
});

test('open inside a range, closed at its end and outside', () => {
  assert.equal(isOpen(berlin, new Date('2026-12-02T08:00:00Z')), true); // Wed 09:00
  assert.equal(isOpen(berlin, new Date('2026-12-02T07:59:00Z')), false); // Wed 08:59
  assert.equal(isOpen(berlin, new Date('2026-12-02T16:00:00Z')), false); // Wed 17:00
  assert.equal(isOpen(berlin, new Date('2026-12-06T12:00:00Z')), false); // Sunday
  // Summer time moves the hours with the zone: 09:00 in Berlin is 07:00 UTC.
  assert.equal(isOpen(berlin, new Date('2026-07-01T07:00:00Z')), true);
});

test('the next opening is later today, tomorrow, or after the weekend', () => {
  assert.deepEqual(nextOpening(berlin, new Date('2026-12-02T06:00:00Z')), { day: 2, minute: 540, inDays: 0 });
  assert.deepEqual(nextOpening(berlin, new Date('2026-12-02T17:00:00Z')), { day: 3, minute: 540, inDays: 1 });
  assert.deepEqual(nextOpening(berlin, new Date('2026-12-05T14:00:00Z')), { day: 0, minute: 540, inDays: 2 });
  assert.equal(nextOpening({ time_zone: 'UTC', days: [[], [], [], [], [], [], []] }, new Date()), null);
});

test('the week is summarised by runs of equal days', () => {
  assert.deepEqual(weekRows(berlin), [
    { from: 0, to: 4, ranges: [[540, 1020]] },
    { from: 5, to: 5, ranges: [[600, 840]] },
  ]);
  assert.equal(clock(540), '09:00');
  assert.equal(clock(1440), '24:00');
});

test('unknown zones are told apart', () => {
  assert.equal(knownZone('Europe/Berlin'), true);
  assert.equal(knownZone('Mars/Olympus'), false);
});
