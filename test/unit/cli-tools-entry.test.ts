// src/tools (benches, evaluation, the quantiser, the demo kit, test servers) is not the product:
// the daemon and the product's commands must not load it (issue 20, "the house around it"). This
// walks the STATIC import graph of the compiled code (what Node loads before any code runs; the
// tool command groups are reached only through import() in src/cli/main.ts) and checks that no
// file under src/tools is in it. Positive control: the same walk from a tool command group does
// reach src/tools, so a walk that follows nothing cannot pass.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandName } from '../../src/cli/main.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.resolve(here, '../../src');

/** Every module reached from `entry` by static imports and re-exports (relative specifiers). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  // `import x from './a.js'`, `import './a.js'`, `export * from './a.js'`; never `import('./a.js')`.
  const re = /(?:^|[\s;])(?:import|export)\s+(?:[^'"();]*?\s+from\s+)?['"](\.{1,2}\/[^'"]+)['"]/g;
  while (todo.length) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const next = path.resolve(path.dirname(file), m[1]!);
      if (existsSync(next)) todo.push(next);
    }
  }
  return seen;
}

const inTools = (files: Set<string>) => [...files].filter((f) => f.startsWith(path.join(src, 'tools') + path.sep)).map((f) => path.relative(src, f));

test('the daemon and the CLI entry load nothing from src/tools', (t) => {
  for (const entry of ['daemon.js', 'cli/entry.js', 'cli/run.js', 'hq/daemon.js']) {
    const graph = staticGraph(path.join(src, entry));
    t.true(graph.size > 20, `${entry} reaches ${graph.size} modules`);
    t.deepEqual(inTools(graph), [], `${entry} statically imports src/tools`);
  }
});

test('positive control: a tool command group does reach src/tools', (t) => {
  for (const entry of ['cli/bench.js', 'cli/eval.js', 'cli/demo.js', 'cli/models.js']) t.true(inTools(staticGraph(path.join(src, entry))).length > 0, entry);
});

test('the command named on the line, past the global --config option', (t) => {
  t.is(commandName(['node', 'lfr', 'run']), 'run');
  t.is(commandName(['node', 'lfr', '-c', '/etc/lfr/lfr.json', 'run', '--foreground']), 'run');
  t.is(commandName(['node', 'lfr', '--config', 'x.json', 'bench', 'vision']), 'bench');
  t.is(commandName(['node', 'lfr', '--config=x.json', 'status']), 'status');
  t.is(commandName(['node', 'lfr', '--help']), null);
});
