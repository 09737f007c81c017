#!/usr/bin/env node
// Import throughput benchmark: builds a watchlist bundle of N subjects (one LFW photo each) and
// times `lfr watchlist import` through the real CLI process and the real models.
//
//   node scripts/bench-import.mjs [--lfw ../shared/data/lfw] [--subjects 1000] [--build dist]
//
// The photos are copied to a temp folder (deleted at the end), never into the repository.
// Prints one human summary and, as the last line, one JSON object.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const lfw = path.resolve(arg('lfw', path.join(root, '..', 'shared', 'data', 'lfw')));
const n = Number(arg('subjects', '1000'));
const build = path.resolve(root, arg('build', 'dist'));
const entry = path.join(build, 'src', 'cli', 'entry.js');
if (!existsSync(path.join(lfw, 'images'))) {
  console.error(`LFW not found at ${lfw} (give --lfw DIR)`);
  process.exit(2);
}
if (!existsSync(entry)) {
  console.error(`no CLI build at ${entry} (run npm run build, or give --build .build/NAME)`);
  process.exit(2);
}

const dir = mkdtempSync(path.join(tmpdir(), 'lfr-bench-import-'));
try {
  const images = path.join(dir, 'images');
  mkdirSync(images);
  const people = readdirSync(path.join(lfw, 'images')).sort().slice(0, n);
  if (people.length < n) throw new Error(`LFW has only ${people.length} identities`);
  const rows = ['subject_ref,category,reason,images'];
  people.forEach((p, i) => {
    const first = readdirSync(path.join(lfw, 'images', p)).filter((f) => f.endsWith('.jpg')).sort()[0];
    const name = `${String(i).padStart(5, '0')}.jpg`;
    cpSync(path.join(lfw, 'images', p, first), path.join(images, name));
    // Pseudonymous references only; categories cycle so the composition report has several.
    rows.push(`BENCH-${String(i).padStart(5, '0')},${['wanted', 'missing person', 'court order'][i % 3]},benchmark,${name}`);
  });
  writeFileSync(path.join(dir, 'wl.csv'), `${rows.join('\n')}\n`);
  const lfr = (args) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [entry, ...args], { encoding: 'utf8', env: { ...process.env, LFR_CONFIG: '' }, maxBuffer: 64 << 20 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`lfr ${args.slice(0, 2).join(' ')} failed (${r.status}): ${r.stderr}`);
    return { s, json: JSON.parse(r.stdout.trim().split('\n').pop()) };
  };
  lfr(['keys', 'generate', '--kind', 'signing', '--out', path.join(dir, 'keys'), '--name', 'force', '--json']);
  lfr(['keys', 'generate', '--kind', 'van', '--out', path.join(dir, 'keys'), '--name', 'van', '--json']);
  const bundle = path.join(dir, 'wl.lfrwl');
  const b = lfr(['watchlist', 'build', '--csv', path.join(dir, 'wl.csv'), '--images', images, '--sign-key', path.join(dir, 'keys', 'force.key'), '--to', path.join(dir, 'keys', 'van.pub'), '--out', bundle, '--json']);
  const imp = lfr(['watchlist', 'import', bundle, '--van-key', path.join(dir, 'keys', 'van.key'), '--trust', path.join(dir, 'keys', 'force.pub'), '--store', path.join(dir, 'run', 'watchlist.db'), '--json']);
  const rep = imp.json;
  const result = {
    subjects: n,
    enrolled: rep.composition.subjects,
    rejectedImages: rep.rejected.length,
    rejectedByCode: rep.rejected.reduce((a, r) => ((a[r.code] = (a[r.code] ?? 0) + 1), a), {}),
    bundleBytes: b.json.bytes,
    buildSeconds: +b.s.toFixed(2),
    importSecondsProcess: +imp.s.toFixed(2),
    importSecondsPipeline: +rep.seconds.toFixed(2),
    importCpuSeconds: +rep.cpuSeconds.toFixed(2),
    subjectsPerSecondProcess: +(n / imp.s).toFixed(1),
    subjectsPerSecondPipeline: +(n / rep.seconds).toFixed(1),
    subjectsPerCpuSecond: +(n / rep.cpuSeconds).toFixed(1),
    loadAverage1m: +loadavg()[0].toFixed(2),
    models: rep.composition.models,
    cpus: cpus().length,
  };
  console.log(
    `import of ${n} subjects (${result.bundleBytes} byte bundle): ${result.enrolled} enrolled, ${result.rejectedImages} images rejected ${JSON.stringify(result.rejectedByCode)}\n` +
      `  whole CLI process ${result.importSecondsProcess} s = ${result.subjectsPerSecondProcess} subjects/s; verify+decrypt+enrol+store ${result.importSecondsPipeline} s = ${result.subjectsPerSecondPipeline} subjects/s\n` +
      `  CPU ${result.importCpuSeconds} s = ${result.subjectsPerCpuSecond} subjects per CPU-second (load average ${result.loadAverage1m} on ${result.cpus} cores)\n` +
      `  (build at the station: ${result.buildSeconds} s)`,
  );
  console.log(JSON.stringify(result));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
