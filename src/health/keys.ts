// What protects the van key at rest (issue 21 item 2): sealed to this box as a systemd credential
// (TPM2, or the host key where the box has no TPM) is OK; a plain key file is a WARN (a copy of the
// disk decrypts every bundle sent to the van); no key at all is left to the watchlist check.
import type { Protection } from '../crypto/sealed.js';
import type { Check } from './types.js';

export function checkKeyProtection(p: Protection): Check {
  const name = 'keys.van';
  if (p.mode === 'missing') return { name, level: 'WARN', message: `no van key at ${p.file} (nor ${p.file}.cred): no watchlist can be opened` };
  if (p.mode === 'plain') return { name, level: 'WARN', message: `${p.label}: the van key ${p.file} is readable from a copy of the disk; seal it to this box (sudo /opt/lfr/scripts/install.sh converts it, docs/operations.md)` };
  if (p.plainLeft) return { name, level: 'WARN', message: `${p.label}, but a plain copy is still at ${p.plainLeft}: remove it (install.sh shreds it)` };
  // Host key only: the key file /var/lib/systemd/credential.secret sits on the same disk.
  const note = p.seal === 'host key' ? ' (no TPM2: a copy of the whole disk, host key included, still opens it; hardware/README.md)' : '';
  return { name, level: 'OK', message: `${p.label}${note}` };
}
