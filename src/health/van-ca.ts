// The van CA's life (issue 21: a short life instead of 10 years, src/mqtt/certs.ts). Nothing renews
// the CA behind the crew's back, since a new CA must be given to every tablet; this check is what
// tells them to: WARN in its last quarter (when `lfr broker setup` would renew it), FAIL once it
// has ended (tablets can no longer connect).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Check } from './types.js';

export interface VanCaFacts {
  file: string;
  /** Validity of the CA (ms since epoch); absent when it could not be read (`error`). */
  startsAtMs?: number;
  endsAtMs?: number;
  error?: string;
}

export function readVanCaFacts(file: string): VanCaFacts {
  try {
    const c = new X509Certificate(readFileSync(file));
    return { file, startsAtMs: Date.parse(c.validFrom), endsAtMs: Date.parse(c.validTo) };
  } catch (err) {
    return { file, error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : 'unreadable' };
  }
}

export function checkVanCa(f: VanCaFacts, now: number): Check {
  const name = 'tls.ca';
  const renew = `run "sudo lfr broker setup" and give every tablet the new ${f.file} (docs/mqtt.md, The van CA)`;
  if (f.error || f.startsAtMs === undefined || f.endsAtMs === undefined) return { name, level: 'WARN', message: `van CA ${f.file} ${f.error ?? 'unreadable'}: run "sudo lfr broker setup"` };
  const left = f.endsAtMs - now;
  const ends = new Date(f.endsAtMs).toISOString().slice(0, 16).replace('T', ' ');
  if (left <= 0) return { name, level: 'FAIL', message: `van CA ended ${ends} UTC: tablets cannot connect; ${renew}` };
  const days = Math.floor(left / 86_400_000);
  if (left < (f.endsAtMs - f.startsAtMs) / 4) return { name, level: 'WARN', message: `van CA ends ${ends} UTC (${days} d): ${renew}` };
  return { name, level: 'OK', message: `van CA ends ${ends} UTC (${days} d)` };
}
