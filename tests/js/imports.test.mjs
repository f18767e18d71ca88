// The page modules as a graph (static/*.js, *.mjs): the server serves
// static/ flat (/static/{file}), so every import must name a file right
// there; and no module may import itself back through others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';

const dir = new URL('../../static/', import.meta.url);
const modules = readdirSync(dir).filter((name) => /\.m?js$/.test(name));
const IMPORT = /^\s*import\s[^'"]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

function importsOf(name) {
  const source = readFileSync(new URL(name, dir), 'utf8');
  return [...source.matchAll(IMPORT)].map((m) => m[1] || m[2]);
}

const graph = new Map(modules.map((name) => [name, importsOf(name)]));

test('every import names a module served from /static/', () => {
  for (const [name, imports] of graph) {
    for (const spec of imports) {
      assert.match(spec, /^\.\/[\w.-]+\.m?js$/, `${name} imports ${spec}: only ./file.js or ./file.mjs is served`);
      assert.ok(graph.has(spec.slice(2)), `${name} imports ${spec}, which is not in static/`);
    }
  }
});

test('the split modules are imported (no file left behind)', () => {
  const imported = new Set([...graph.values()].flat().map((spec) => spec.slice(2)));
  for (const name of modules.filter((n) => /^(chat-view-|console-)/.test(n))) {
    assert.ok(imported.has(name), `${name} is imported by no module`);
  }
});

test('no module imports itself back through others', () => {
  const state = new Map(); // name -> 'visiting' | 'done'
  const visit = (name, path) => {
    if (state.get(name) === 'done') return;
    assert.notEqual(state.get(name), 'visiting', `import cycle: ${[...path, name].join(' -> ')}`);
    state.set(name, 'visiting');
    for (const spec of graph.get(name) || []) visit(spec.slice(2), [...path, name]);
    state.set(name, 'done');
  };
  for (const name of modules) visit(name, []);
});
