// Signing and checking the fleet envelope (src/mqtt/topics.ts, FleetEnvelope). The van signs with
// its audit anchor key (derived from the van key: crypto/van-derived.ts), so the one public key a
// force registers at HQ (`lfr audit anchor-key` on the van, `lfr hq vans add` at HQ) checks both
// the reports and the audit heads they carry. The signature covers the kind and the van id as well
// as the body: a signed head cannot be replayed as a report, nor one van's report as another's.
import { readVanSecretKey } from '../crypto/keys.js';
import { anchorSigningKey } from '../crypto/van-derived.js';
import { signDetached, verifyDetached } from '../crypto/sign.js';
import { FLEET_KINDS, FLEET_SCHEMA, MAX_FLEET_BYTES, VAN_ID_RE, type FleetEnvelope, type FleetKind } from '../mqtt/topics.js';

const message = (kind: FleetKind, vanId: string, body: string): Buffer => Buffer.from(`lfr-fleet/1:${kind}:${vanId}:${body}`, 'utf8');

/** A signer holding the anchor key for the daemon's lifetime (read once; destroy() wipes it). */
export class FleetSigner {
  private readonly key: ReturnType<typeof anchorSigningKey>;

  constructor(vanKeyFile: string, private readonly vanId: string) {
    const van = readVanSecretKey(vanKeyFile);
    try {
      this.key = anchorSigningKey(van);
    } finally {
      van.secretKey.destroy();
    }
  }

  get keyId(): string {
    return this.key.keyId;
  }

  sign(kind: FleetKind, body: unknown, sentAt: Date): FleetEnvelope {
    const text = JSON.stringify(body);
    const sig = signDetached(message(kind, this.vanId, text), this.key.secretKey).toString('base64url');
    return { schema: FLEET_SCHEMA, kind, vanId: this.vanId, sentAt: sentAt.toISOString(), keyId: this.key.keyId, body: text, sig };
  }

  destroy(): void {
    this.key.secretKey.destroy();
  }
}

/** A strict parse of an envelope (shape only; the signature is checked by verifyEnvelope). */
export function parseEnvelope(raw: Buffer): FleetEnvelope | string {
  if (raw.length > MAX_FLEET_BYTES) return `message too large (${raw.length} bytes, limit ${MAX_FLEET_BYTES})`;
  let v: unknown;
  try {
    v = JSON.parse(raw.toString('utf8'));
  } catch {
    return 'not valid JSON';
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
  const o = v as Record<string, unknown>;
  const allowed = ['schema', 'kind', 'vanId', 'sentAt', 'keyId', 'body', 'sig'];
  if (Object.keys(o).some((k) => !allowed.includes(k))) return `unknown field(s); allowed: ${allowed.join(', ')}`;
  if (o.schema !== FLEET_SCHEMA) return `unsupported schema (HQ speaks fleet schema ${FLEET_SCHEMA})`;
  if (typeof o.kind !== 'string' || !(FLEET_KINDS as readonly string[]).includes(o.kind)) return `kind must be one of ${FLEET_KINDS.join(', ')}`;
  if (typeof o.vanId !== 'string' || !VAN_ID_RE.test(o.vanId)) return 'vanId missing or malformed';
  if (typeof o.sentAt !== 'string' || Number.isNaN(Date.parse(o.sentAt)) || !/^\d{4}-\d{2}-\d{2}T/.test(o.sentAt)) return 'sentAt must be an ISO-8601 time';
  if (typeof o.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(o.keyId)) return 'keyId missing or malformed';
  if (typeof o.body !== 'string') return 'body must be the signed JSON text';
  if (typeof o.sig !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(o.sig)) return 'sig missing or malformed';
  return o as unknown as FleetEnvelope;
}

/** True when `env.sig` is the van's signature (publicKey: base64, 32 bytes) over kind, van and body. */
export function verifyEnvelope(env: FleetEnvelope, publicKeyB64: string): boolean {
  const pk = Buffer.from(publicKeyB64, 'base64');
  const sig = Buffer.from(env.sig, 'base64url');
  if (pk.length !== 32 || sig.length !== 64) return false;
  return verifyDetached(sig, message(env.kind, env.vanId, env.body), pk);
}
