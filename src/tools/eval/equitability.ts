// `lfr eval equitability`: the 1:N protocol of `lfr eval watchlist`, with FNIR and FPIR split by
// the demographic group of each probe, the way the NPL equitability study reports NeoFace (false
// alerts and missed matches per group at the operating threshold). The gallery is the whole
// watchlist, mixed as a real one is; only the probes are grouped.
//
// Two rules keep the figures honest:
// - a rate is never printed without its count: each group says how many mated and non-mated probes
//   it has, every rate comes with a 95 % Wilson interval, and a group with fewer than MIN_PROBES
//   probes of a kind is "too few to measure" for that rate (no figure at all);
// - the data that chooses a threshold does not report it: with --target-fpir the non-mated
//   identities are split in two halves by a hash of their name; the threshold is set on one half
//   and FPIR is reported on the other (mated probes play no part in choosing it, so all count).
import { basename, dirname } from 'node:path';
import { fnirAt, matedHit, thresholdAtFalseRate } from './protocol.js';
import type { MatedProbe, NonMatedProbe, WatchlistSearches } from './watchlist.js';

/** Below this many probes of a kind, a group's rate for that kind is not reported. */
export const MIN_PROBES = 20;

/** z for a two-sided 95 % interval. */
const Z95 = 1.959964;

/**
 * Wilson score interval for a binomial proportion x/n (95 %). Unlike the normal approximation it
 * stays inside [0, 1] and is meaningful at x = 0, which FPIR at 1e-3 often is.
 */
export function wilsonInterval(x: number, n: number, z = Z95): [number, number] {
  if (n <= 0) return [NaN, NaN];
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0 (or n) events the bound is exactly 0 (or 1); rounding would leave a 1e-19 there.
  return [x === 0 ? 0 : Math.max(0, centre - half), x === n ? 1 : Math.min(1, centre + half)];
}

export class GroupError extends Error {}

export interface GroupSpec {
  name: string;
  /** Label file, for messages. */
  file: string;
  /** Image file names (base names, as in ../shared/data/lfw/sex/*.txt). */
  images: string[];
}

/** NAME=FILE from the command line. */
export function parseGroupOption(value: string): { name: string; file: string } {
  const eq = value.indexOf('=');
  const name = eq > 0 ? value.slice(0, eq) : '';
  const file = eq > 0 ? value.slice(eq + 1) : '';
  if (!/^[A-Za-z0-9_-]{1,32}$/.test(name) || file === '') throw new GroupError(`--group must be NAME=FILE with NAME of letters, digits, - or _ (at most 32), not "${value}"`);
  return { name, file };
}

/** A labels file: one image file name a line (a path is reduced to its base name); # comments. */
export function parseLabelList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => basename(l));
}

export interface GroupAssignment {
  /** Probe base name -> group name. */
  groupOf: Map<string, string>;
  warnings: string[];
}

/**
 * Which group each dataset image belongs to. An image listed in two groups belongs to neither (its
 * label is contradictory); a listed image that is not in the dataset is a warning (a labels file
 * for another copy of the data, or a typo), unless its identity was deliberately excluded.
 */
export function assignGroups(groups: readonly GroupSpec[], datasetImages: ReadonlySet<string>, excludedIdentities: ReadonlySet<string> = new Set()): GroupAssignment {
  const names = new Set<string>();
  for (const g of groups) {
    if (names.has(g.name)) throw new GroupError(`group "${g.name}" is given twice`);
    names.add(g.name);
  }
  const seen = new Map<string, string>();
  const conflicted = new Set<string>();
  const warnings: string[] = [];
  for (const g of groups) {
    for (const img of new Set(g.images)) {
      const other = seen.get(img);
      if (other !== undefined && other !== g.name) {
        conflicted.add(img);
        warnings.push(`${img} is listed in groups ${other} and ${g.name}: left out of both`);
      } else seen.set(img, g.name);
      if (!datasetImages.has(img) && !excludedIdentities.has(identityOfImage(img))) warnings.push(`${g.file}: ${img} is not an image of the dataset`);
    }
  }
  for (const c of conflicted) seen.delete(c);
  return { groupOf: seen, warnings };
}

/** LFW file names are <Identity>_NNNN.jpg: the identity is everything before the last "_". */
function identityOfImage(img: string): string {
  const stem = img.replace(/\.[^.]+$/, '');
  const us = stem.lastIndexOf('_');
  return us > 0 ? stem.slice(0, us) : stem;
}

/** FNV-1a of a name: a fixed, seedless split into calibration and evaluation halves. */
export function calibrationHalf(identity: string): boolean {
  let h = 0x811c9dc5;
  for (let i = 0; i < identity.length; i++) {
    h ^= identity.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h & 1) === 0;
}

export interface GroupFigures {
  name: string;
  mated: number;
  nonMated: number;
  /** null when fewer than MIN_PROBES mated probes: "too few to measure". */
  fnir: number | null;
  fnirCi: [number, number] | null;
  fpir: number | null;
  fpirCi: [number, number] | null;
  misses: number;
  falseAlerts: number;
  matedFailures: number;
  nonMatedFailures: number;
  status: 'measured' | 'too few to measure' | 'partly measured';
}

export interface EquitabilityReport {
  threshold: number;
  groups: GroupFigures[];
  thresholdFrom: { kind: 'given'; value: number } | { kind: 'target-fpir'; target: number; calibrationNonMated: number; reachedFpir: number };
  /** Highest group rate over the lowest, among measured groups; null when a rate is 0 or fewer than 2 groups are measured. */
  fnirRatio: number | null;
  fpirRatio: number | null;
  unlabelled: { mated: number; nonMated: number };
  /** Every probe, labelled or not: the figure each lever is also judged by (it must not buy equality with more misses for all). */
  overall: { mated: number; misses: number; fnir: number; nonMated: number; falseAlerts: number; fpir: number };
  gallery: number;
  warnings: string[];
}

export type ThresholdChoice = { threshold: number } | { targetFpir: number };

function ratio(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null);
  if (v.length < 2) return null;
  const lo = Math.min(...v);
  return lo > 0 ? Math.max(...v) / lo : null;
}

/** Per-group figures from the probe-by-probe searches (pure: tested on synthetic scores). */
export function equitability(s: Pick<WatchlistSearches, 'mated' | 'nonMated' | 'gallery'>, assignment: GroupAssignment, groupNames: readonly string[], choice: ThresholdChoice): EquitabilityReport {
  let threshold: number;
  let thresholdFrom: EquitabilityReport['thresholdFrom'];
  let reported: NonMatedProbe[];
  if ('threshold' in choice) {
    threshold = choice.threshold;
    thresholdFrom = { kind: 'given', value: threshold };
    reported = s.nonMated;
  } else {
    const cal: number[] = [];
    reported = [];
    for (const p of s.nonMated) {
      if (calibrationHalf(basename(dirname(p.file)) || identityOfImage(basename(p.file)))) {
        if (!p.failed) cal.push(p.best);
      } else reported.push(p);
    }
    const op = thresholdAtFalseRate(cal, choice.targetFpir);
    if (!op) throw new GroupError('no usable non-mated probe to set a threshold from');
    threshold = op.threshold;
    thresholdFrom = { kind: 'target-fpir', target: choice.targetFpir, calibrationNonMated: cal.length, reachedFpir: op.falseRate };
  }
  const matedBy = new Map<string, MatedProbe[]>(groupNames.map((g) => [g, []]));
  const nonMatedBy = new Map<string, NonMatedProbe[]>(groupNames.map((g) => [g, []]));
  const unlabelled = { mated: 0, nonMated: 0 };
  for (const m of s.mated) {
    const list = matedBy.get(assignment.groupOf.get(basename(m.file)) ?? '');
    if (list) list.push(m);
    else unlabelled.mated++;
  }
  for (const n of reported) {
    const list = nonMatedBy.get(assignment.groupOf.get(basename(n.file)) ?? '');
    if (list) list.push(n);
    else unlabelled.nonMated++;
  }
  const groups = groupNames.map((name): GroupFigures => {
    const mated = matedBy.get(name)!;
    const nm = nonMatedBy.get(name)!;
    const usable = nm.filter((p): p is Extract<NonMatedProbe, { failed: false }> => !p.failed);
    const misses = mated.filter((m) => !matedHit(m, threshold)).length;
    const falseAlerts = usable.filter((p) => p.best >= threshold).length;
    const fnirOk = mated.length >= MIN_PROBES;
    const fpirOk = usable.length >= MIN_PROBES;
    return {
      name,
      mated: mated.length,
      // Non-mated failures cannot alert: left out of the FPIR denominator, as in lfr eval watchlist.
      nonMated: usable.length,
      fnir: fnirOk ? fnirAt(mated, threshold) : null,
      fnirCi: fnirOk ? wilsonInterval(misses, mated.length) : null,
      fpir: fpirOk ? falseAlerts / usable.length : null,
      fpirCi: fpirOk ? wilsonInterval(falseAlerts, usable.length) : null,
      misses,
      falseAlerts,
      matedFailures: mated.filter((m) => m.failed).length,
      nonMatedFailures: nm.length - usable.length,
      status: fnirOk && fpirOk ? 'measured' : fnirOk || fpirOk ? 'partly measured' : 'too few to measure',
    };
  });
  const warnings = [...assignment.warnings];
  for (const g of groups) {
    if (g.fnir === null) warnings.push(`group ${g.name}: ${g.mated} mated probes, fewer than ${MIN_PROBES}: FNIR too few to measure`);
    if (g.fpir === null) warnings.push(`group ${g.name}: ${g.nonMated} non-mated probes, fewer than ${MIN_PROBES}: FPIR too few to measure`);
  }
  const usableAll = reported.filter((p): p is Extract<NonMatedProbe, { failed: false }> => !p.failed);
  const allMisses = s.mated.filter((m) => !matedHit(m, threshold)).length;
  const allFalse = usableAll.filter((p) => p.best >= threshold).length;
  return {
    threshold,
    groups,
    thresholdFrom,
    overall: { mated: s.mated.length, misses: allMisses, fnir: s.mated.length ? allMisses / s.mated.length : NaN, nonMated: usableAll.length, falseAlerts: allFalse, fpir: usableAll.length ? allFalse / usableAll.length : NaN },
    fnirRatio: ratio(groups.map((g) => g.fnir)),
    fpirRatio: ratio(groups.map((g) => g.fpir)),
    unlabelled,
    gallery: s.gallery,
    warnings,
  };
}

/** Thresholds a model pack's statement is measured at: wide enough for any operating point. */
export function statementGrid(extra: readonly number[] = []): number[] {
  const grid = new Set<number>();
  for (let i = 30; i <= 80; i++) grid.add(i / 100);
  for (const t of extra) grid.add(Number(t.toFixed(4)));
  return [...grid].sort((a, b) => a - b);
}

/**
 * The statement's rows: per-group figures at each threshold of the grid, over ALL non-mated
 * probes (a fixed threshold is not chosen from the data, so no half needs holding out). Groups
 * under MIN_PROBES keep their counts and a null rate, as in the report.
 */
export function statementRows(s: Pick<WatchlistSearches, 'mated' | 'nonMated' | 'gallery'>, assignment: GroupAssignment, groupNames: readonly string[], thresholds: readonly number[]): StatementRow[] {
  return thresholds.map((threshold) => {
    const r = equitability(s, assignment, groupNames, { threshold });
    return {
      threshold,
      groups: r.groups.map((g) => ({ name: g.name, mated: g.mated, misses: g.misses, fnir: g.fnir, fnirCi: g.fnirCi, nonMated: g.nonMated, falseAlerts: g.falseAlerts, fpir: g.fpir, fpirCi: g.fpirCi })),
      fnirRatio: r.fnirRatio,
      fpirRatio: r.fpirRatio,
    };
  });
}

export interface StatementRow {
  threshold: number;
  groups: Array<Pick<GroupFigures, 'name' | 'mated' | 'misses' | 'fnir' | 'fnirCi' | 'nonMated' | 'falseAlerts' | 'fpir' | 'fpirCi'>>;
  fnirRatio: number | null;
  fpirRatio: number | null;
}
