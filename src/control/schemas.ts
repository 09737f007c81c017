// Every control-socket request's params, parsed by a schema (zod) instead of hand-written checks:
// a request either matches exactly (unknown fields refused) or is refused with a reason built from
// the SCHEMA (field names it defines, types it expects), never from what was sent: a reason is
// audited (control.refused), and echoing a payload would let any local program write free text,
// even a person's name, into the trail.
import { z } from 'zod';

const text = z.string().max(1000);
/** A bundle's bytes follow the request line (protocol.ts UploadHandler); the server checks the count. */
const bytes = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const NoParams = z.object({}).strict();

export const StartParams = z
  .object({
    authorisationRef: text,
    location: text,
    endsAt: z.number().finite(),
    threshold: z.number().finite().optional(),
    targetFpir: z.number().finite().optional(),
    expectBundleSha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
    authorisingOfficer: text.optional(),
    reason: text.optional(),
    allowDegraded: z.boolean().optional(),
    bytes: bytes.optional(),
  })
  .strict()
  .refine((p) => p.threshold !== undefined || p.targetFpir !== undefined, { message: '"threshold" or "targetFpir" is required' });

export const ImportParams = z
  .object({
    bytes: bytes.optional(),
    /** What the client says it is; audited as claimedSource, never as the source (holder.ts). */
    source: z.enum(['cli', 'usb']).optional(),
  })
  .strict();

/** One plain reason from the schema's side of each problem; never a value or a key that was sent. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const parts = issues.slice(0, 5).map((i) => {
    const at = i.path.length ? `"${i.path.map(String).join('.')}"` : 'the request';
    switch (i.code) {
      case 'invalid_type':
        return `${at} must be ${i.expected === 'undefined' ? 'absent' : i.expected}`;
      case 'unrecognized_keys':
        return `${i.keys.length} unknown field(s)`;
      case 'invalid_value':
        return `${at} must be one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
      case 'too_small':
      case 'too_big':
        return `${at} is out of range`;
      case 'invalid_format':
        return `${at} has the wrong format`;
      case 'custom':
        return i.message; // our own refine messages: fixed text
      default:
        return `${at} is not valid`;
    }
  });
  return parts.join('; ');
}
