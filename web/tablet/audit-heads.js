// The tablet as a witness of the van's audit trail (src/audit/witness.ts): every signed audit head
// the van publishes in its status is kept here, in this browser's localStorage, so that a van
// whose log was later cut and re-chained can be caught with `lfr audit verify --head VALUE`
// (VALUE is SEQ:HASH:SIGNATURE). Only the head (numbers and a signature) is kept: never an alert,
// a face, a name or an officer's input. The newest KEEP heads are kept, oldest dropped.
const KEY = 'lfr.auditHeads';
export const KEEP = 50;

/** The heads this tablet has seen, oldest first: [{ value, keyId, signedAt, seenAt }]. */
export function seenHeads(storage = globalThis.localStorage) {
  try {
    const v = JSON.parse(storage?.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((h) => h && typeof h.value === 'string') : [];
  } catch {
    return [];
  }
}

/** Keep a head from the status message (ignored unless it looks like one). Returns the list. */
export function keepHead(head, now = Date.now(), storage = globalThis.localStorage) {
  if (!head || typeof head.value !== 'string' || !/^\d{1,15}:[0-9a-f]{64}:[A-Za-z0-9_-]{80,90}$/.test(head.value)) return seenHeads(storage);
  const list = seenHeads(storage);
  if (list.length && list[list.length - 1].value === head.value) return list;
  list.push({ value: head.value, keyId: String(head.keyId ?? ''), signedAt: String(head.signedAt ?? ''), seenAt: new Date(now).toISOString() });
  const kept = list.slice(-KEEP);
  try {
    storage?.setItem(KEY, JSON.stringify(kept));
  } catch {
    /* storage full or disabled: the page still works; the van's reports remain witnesses */
  }
  return kept;
}
