#!/usr/bin/env node
// Packs what a GPU machine WITHOUT internet needs to run this build: the Node runtime of this
// machine (stripped), the built app (dist/src, bin, models, config example), the production
// node_modules the app imports (linux-x64 binaries only), onnxruntime-node 1.30 beside the
// pinned 1.22 (so one GPU run compares them), libvulkan (WebGPU's loader), the crowd video, and,
// where this machine has them, GStreamer (no libav: openh264 for software decode, nvcodec for
// NVDEC) for a decode comparison there. Result: .gpu/lfr-gpu.tar.xz,
// at most 60 MiB (checked). scripts/gpu-run.sh unpacks and runs it.
//
//   npm run build && node scripts/gpu-pack.mjs [--no-ort130] [--no-gst] [--stage-only]
//
// Needs: strip (binutils), tar, xz; npm and the registry once for onnxruntime-node@1.30.0
// (kept in .gpu/cache, so later packs are offline).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const OUT_DIR = path.join(ROOT, '.gpu');
const STAGE = path.join(OUT_DIR, 'stage', 'lfr-gpu');
// onnxruntime-node 1.30 travels in a tarball of its own (unpacked into the same lfr-gpu/ tree),
// so a pack over the limit can leave it behind without compressing everything again.
const STAGE_ORT = path.join(OUT_DIR, 'stage-ort', 'lfr-gpu');
const TARBALL = path.join(OUT_DIR, 'lfr-gpu.tar.xz');
const TARBALL_ORT = path.join(OUT_DIR, 'lfr-gpu-ort130.tar.xz');
// The device call carries the working tree (tracked and untracked-not-ignored files) and the
// carried files together in 64 MiB: the pack gets what the tree leaves, at most 60 MiB.
function treeBytes() {
  const r = spawnSync('git', ['-C', ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) return 8 * 2 ** 20;
  let n = 0;
  for (const f of r.stdout.split('\0').filter(Boolean)) {
    try {
      n += statSync(path.join(ROOT, f)).size;
    } catch {
      // deleted in the tree
    }
  }
  return n;
}
const LIMIT = Math.min(60 * 2 ** 20, 64 * 2 ** 20 - treeBytes() - 2 ** 20);
const ORT_NEXT = '1.30.0';
const flags = new Set(process.argv.slice(2));

const say = (m) => process.stderr.write(`gpu-pack: ${m}\n`);
function fail(m) {
  say(`FAIL: ${m}`);
  process.exit(1);
}
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
for (const c of ['tar', 'xz']) if (!have(c)) fail(`${c} is not installed here`);
if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'entry.js'))) fail('no build: run `npm run build` first');

for (const d of ['stage', 'stage-ort']) rmSync(path.join(OUT_DIR, d), { recursive: true, force: true });
for (const f of [TARBALL, TARBALL_ORT]) rmSync(f, { force: true });
mkdirSync(STAGE, { recursive: true });

// ---- Node runtime: this machine's, without its debug symbols (99 MB -> 86 MB here).
mkdirSync(path.join(STAGE, 'node', 'bin'), { recursive: true });
const nodeOut = path.join(STAGE, 'node', 'bin', 'node');
if (have('strip')) execFileSync('strip', ['-o', nodeOut, process.execPath]);
else cpSync(process.execPath, nodeOut);

// ---- The app: what `lfr` needs at run time (no tests, no source maps).
const APP = path.join(STAGE, 'app');
const copy = (rel, filter = () => true) =>
  cpSync(path.join(ROOT, rel), path.join(APP, rel), { recursive: true, dereference: true, filter: (src) => !src.endsWith('.map') && filter(src) });
for (const rel of ['package.json', 'bin', 'dist/src', 'config/lfr.example.json', 'web', 'scripts/gpu-probe.mjs', 'scripts/rtsp-server.py']) copy(rel);
// The models the product can be configured with, minus the BlazeFace pair (not used live).
copy('models', (src) => !src.includes(`${path.sep}cache`) && !src.includes('barracuda'));

// ---- Production node_modules: the packages dist/src imports and everything they depend on.
const RUNTIME = ['better-sqlite3', 'cli-progress', 'commander', 'gstreamer-superficial', 'koffi', 'mqtt', 'onnxruntime-node', 'pino', 'protobufjs', 'sharp', 'sodium-native', 'systeminformation', 'zod'];
const NM = path.join(ROOT, 'node_modules');
function findPkg(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const cand = path.join(dir, 'node_modules', name);
    if (existsSync(path.join(cand, 'package.json'))) return realpathSync(cand);
    if (path.dirname(dir) === dir) return null;
  }
}
const closure = new Map(); // real dir -> path relative to node_modules
function visit(name, fromDir, optional) {
  const dir = findPkg(name, fromDir);
  if (!dir) {
    if (!optional) fail(`dependency ${name} not installed (run npm ci)`);
    return;
  }
  if (closure.has(dir)) return;
  const realNm = realpathSync(NM);
  if (!dir.startsWith(realNm + path.sep)) fail(`${name} resolves outside node_modules: ${dir}`);
  closure.set(dir, path.relative(realNm, dir));
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const d of Object.keys(pkg.dependencies ?? {})) visit(d, dir, false);
  for (const d of Object.keys(pkg.optionalDependencies ?? {})) visit(d, dir, true);
}
for (const n of RUNTIME) visit(n, ROOT, false);

// Files a linux-x64 run never opens: other platforms' binaries, native sources, build objects.
const OTHER_PLATFORM = /^\/(?:bin\/napi-v\d+\/(?:darwin|win32|linux\/arm64)|prebuilds\/(?!linux-x64)[^/]+)(?:\/|$)/;
const DEAD_DIR = /^\/(?:deps|src|examples|doc|docs|build\/Release\/(?:obj|obj\.target|\.deps))(?:\/|$)/;
const DEAD_FILE = /\.(?:map|md|ts|a|c|cc|cpp|h|gyp)$|test_extension\.node$/;
// Native packages whose src/ or deps/ is source only (they load build/Release/*.node).
const NATIVE_SOURCE = new Set(['better-sqlite3', 'gstreamer-superficial', 'sodium-native']);
function pruneFilter(pkgDir, rel) {
  return (src) => {
    const sub = src.slice(pkgDir.length).split(path.sep).join('/');
    if (sub === '') return true;
    if (OTHER_PLATFORM.test(sub) || DEAD_FILE.test(sub)) return false;
    if (/^\/(?:examples|doc|docs)(?:\/|$)/.test(sub)) return false;
    if (NATIVE_SOURCE.has(rel) && DEAD_DIR.test(sub)) return false;
    return true;
  };
}
for (const [dir, rel] of closure) cpSync(dir, path.join(APP, 'node_modules', rel), { recursive: true, dereference: true, filter: pruneFilter(dir, rel) });
// The demo photos (the benches' faces) live in a dev package: only the photos travel.
const demo = path.join(NM, '@vladmandic', 'face-api', 'demo');
if (!existsSync(demo)) fail('demo photos (@vladmandic/face-api/demo) not installed: run npm ci');
for (const f of readdirSync(demo).filter((n) => /^sample\d+\.jpg$/.test(n))) cpSync(path.join(demo, f), path.join(APP, 'node_modules', '@vladmandic', 'face-api', 'demo', f));
say(`node_modules: ${closure.size} packages`);

// ---- onnxruntime-node 1.30 beside 1.22: same API; bundles WebGPU; CUDA is still a download.
if (!flags.has('--no-ort130')) {
  const cache = path.join(OUT_DIR, 'cache');
  mkdirSync(cache, { recursive: true });
  const ORT_COMMON_NEXT = ORT_NEXT;
  for (const [name, ver] of [['onnxruntime-node', ORT_NEXT], ['onnxruntime-common', ORT_COMMON_NEXT]]) {
    const tgz = path.join(cache, `${name}-${ver}.tgz`);
    if (!existsSync(tgz)) {
      say(`fetching ${name}@${ver} into .gpu/cache (npm pack)`);
      const r = spawnSync('npm', ['pack', `${name}@${ver}`, '--pack-destination', cache], { stdio: ['ignore', 'ignore', 'inherit'] });
      if (r.status !== 0 || !existsSync(tgz)) fail(`npm pack ${name}@${ver} failed (no registry?): pack with --no-ort130`);
    }
    const dest = path.join(STAGE_ORT, 'ort130', 'node_modules', name);
    mkdirSync(dest, { recursive: true });
    execFileSync('tar', ['xzf', tgz, '-C', dest, '--strip-components=1', '--wildcards', '--exclude=package/bin/napi-v6/darwin*', '--exclude=package/bin/napi-v6/win32*', '--exclude=package/bin/napi-v6/linux/arm64*', '--exclude=*.map', '--exclude=*.ts', '--exclude=package/lib/*']);
  }
}

// ---- libvulkan: WebGPU (Dawn) dlopens it; a CUDA image often has the driver's ICD but no loader.
const LIBDIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/usr/lib64'];
const findLib = (name) => LIBDIRS.map((d) => path.join(d, name)).find((f) => existsSync(f));
// libGLdispatch (glvnd): the NVIDIA Vulkan driver's libGLX_nvidia.so.0 needs it.
for (const [dir, lib] of [['vulkan', 'libvulkan.so.1'], ['glvnd', 'libGLdispatch.so.0']]) {
  mkdirSync(path.join(STAGE, 'sys', dir), { recursive: true });
  const f = findLib(lib);
  if (f) cpSync(realpathSync(f), path.join(STAGE, 'sys', dir, lib));
  else say(`${lib} not on this machine: WebGPU there needs its own`);
}

// ---- The crowd video the live bench plays (../shared/data/video beside the checkout).
const video = [process.env.LFR_BENCH_VIDEO, path.resolve(ROOT, '..', 'shared', 'data', 'video', 'crowd_walk_1080p.mp4'), '/work/shared/data/video/crowd_walk_1080p.mp4'].find((f) => f && existsSync(f));
if (video) cpSync(video, path.join(STAGE, 'data', 'crowd_walk_1080p.mp4'));
else say('crowd_walk_1080p.mp4 not found: the live bench there will build a video of the demo photos (needs x264enc)');

// ---- GStreamer without libav (whose closure is 230 MB): core, base, mp4 demux, h264parse,
// openh264 (software H.264) and nvcodec (NVDEC), with their shared-library closure minus glibc
// and libstdc++, plus gst-launch-1.0 and gst-inspect-1.0: enough to compare NVDEC with software
// decode there. (`lfr bench live` also needs the RTSP test server, python3-gi, which cannot
// travel to another Python: gpu-run.sh runs it only where the machine has it.)
if (!flags.has('--no-gst')) {
  const gstDir = ['/usr/lib/x86_64-linux-gnu/gstreamer-1.0'].find((d) => existsSync(d));
  const PLUGINS = ['coreelements', 'app', 'videoconvertscale', 'videoconvert', 'videoscale', 'videorate', 'isomp4', 'typefindfunctions', 'openh264', 'videoparsersbad', 'nvcodec'];
  if (!gstDir || !have('gst-launch-1.0') || !have('gst-inspect-1.0')) say('GStreamer not on this machine: the pack carries none');
  else {
    const G = path.join(STAGE, 'gst');
    for (const d of ['lib', 'plugins', 'bin']) mkdirSync(path.join(G, d), { recursive: true });
    const bins = [];
    for (const p of PLUGINS) {
      const f = path.join(gstDir, `libgst${p}.so`);
      if (existsSync(f)) {
        cpSync(f, path.join(G, 'plugins', path.basename(f)));
        bins.push(f);
      }
    }
    const scanner = ['/usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner'].find((f) => existsSync(f));
    if (scanner) {
      cpSync(scanner, path.join(G, 'bin', 'gst-plugin-scanner'));
      bins.push(scanner);
    }
    for (const tool of ['gst-launch-1.0', 'gst-inspect-1.0']) {
      const f = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      cpSync(f, path.join(G, 'bin', tool));
      bins.push(f);
    }
    const SKIP = /\/(?:libc|libm|libdl|libpthread|librt|libresolv|libstdc\+\+|libgcc_s|ld-linux-x86-64)\.so/;
    const libs = new Set();
    for (const b of bins) {
      const r = spawnSync('ldd', [b], { encoding: 'utf8' });
      for (const m of (r.stdout ?? '').matchAll(/=> (\/\S+)/g)) if (!SKIP.test(m[1])) libs.add(m[1]);
    }
    for (const l of libs) cpSync(realpathSync(l), path.join(G, 'lib', path.basename(l)));
    say(`GStreamer: ${bins.length} binaries and plugins, ${libs.size} libraries`);
  }
}

writeFileSync(path.join(STAGE, 'PACK.json'), JSON.stringify({ packedAt: new Date().toISOString(), node: process.version, ortNext: flags.has('--no-ort130') ? null : ORT_NEXT, commit: spawnSync('git', ['-C', ROOT, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim() }, null, 1));

if (flags.has('--stage-only')) {
  say(`staged in ${path.relative(ROOT, STAGE)} (not compressed)`);
  process.exit(0);
}

// ---- Compress: xz -9 (a CUDA image has xz, and Python's lzma can read it where xz is missing).
const level = process.env.LFR_GPU_XZ_LEVEL ?? '9'; // a lower level only to try the scripts quickly
function compress(stage, tarball) {
  say(`compressing ${path.relative(ROOT, tarball)} (xz -${level}, minutes on a busy box)`);
  execFileSync('sh', ['-c', `tar -C "${path.dirname(stage)}" -cf - lfr-gpu | xz -${level} -T0 > "${tarball}.part" && mv "${tarball}.part" "${tarball}"`], { stdio: 'inherit' });
  return statSync(tarball).size;
}
const core = compress(STAGE, TARBALL);
const ortSize = existsSync(STAGE_ORT) ? compress(STAGE_ORT, TARBALL_ORT) : 0;
for (const d of ['stage', 'stage-ort']) rmSync(path.join(OUT_DIR, d), { recursive: true, force: true });
const mib = (n) => Number((n / 2 ** 20).toFixed(1));
if (core > LIMIT) fail(`${path.relative(ROOT, TARBALL)} is ${mib(core)} MiB, over the limit (${mib(LIMIT)} MiB: 64 MiB less the working tree less 1 MiB): pack again with --no-gst`);
const carry = [path.relative(ROOT, TARBALL)];
if (ortSize > 0 && core + ortSize <= LIMIT) carry.push(path.relative(ROOT, TARBALL_ORT));
else if (ortSize > 0) say(`${path.relative(ROOT, TARBALL_ORT)} (${mib(ortSize)} MiB) does not fit beside the core (${mib(core)} MiB) in ${mib(LIMIT)} MiB: carry the core alone (1.22 only)`);
say(`OK core ${mib(core)} MiB${ortSize ? `, onnxruntime-node ${ORT_NEXT} ${mib(ortSize)} MiB` : ''}; carry: ${carry.join(' ')}`);
process.stdout.write(`${JSON.stringify({ carry, coreMiB: mib(core), ort130MiB: mib(ortSize), totalMiB: mib(core + (carry.length > 1 ? ortSize : 0)) })}\n`);
