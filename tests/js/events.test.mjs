// Events and notes as the pages show them (static/events.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventText, itemKind } from '../../static/events.mjs';
import { STRINGS } from '../../static/strings.mjs';

const fill = (lang) => (key, vars = {}) => STRINGS[lang][key].replace(/\{(\w+)\}/g, (_, k) => vars[k]);
const ana = { id: 1, name: 'Ana' };
const ben = { id: 2, name: 'Ben' };

test('every event kind reads as a sentence in both languages', () => {
  const events = [
    [{ kind: 'assigned', by: ana, to: ben }, 'Ana assigned this to Ben'],
    [{ kind: 'assigned', by: ana, to: ana }, 'Ana took this conversation'],
    [{ kind: 'assigned', by: null, to: ben }, 'Assigned to Ben automatically'],
    [{ kind: 'transferred', by: ana, from: ana, to: ben }, 'Ana transferred this to Ben'],
    [{ kind: 'transferred', by: ben, from: ana, to: ben }, 'Ben transferred this from Ana to Ben'],
    [{ kind: 'unassigned', by: null, from: ben }, 'Ben went offline; back in the queue'],
    [{ kind: 'resolved', by: ana }, 'Resolved by Ana'],
    [{ kind: 'reopened', by: null }, 'Reopened: the customer wrote again'],
    [{ kind: 'joined', agent: ben }, 'Ben joined the conversation'],
  ];
  for (const [e, en] of events) {
    assert.equal(eventText(e, fill('en')), en);
    const zh = eventText(e, fill('zh'));
    assert.ok(zh && !zh.includes('{'), `${e.kind} in Chinese: ${zh}`);
  }
  assert.equal(eventText({ kind: 'from-the-future' }, fill('en')), null);
});

test('items are messages, private notes or events', () => {
  assert.equal(itemKind({ seq: 1, text: 'hi' }), 'message');
  assert.equal(itemKind({ seq: 2, text: 'psst', private: true }), 'note');
  assert.equal(itemKind({ seq: 3, text: 'Resolved', private: true, event: { kind: 'resolved' } }), 'event');
});
