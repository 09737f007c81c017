// A witness the van cannot rewrite. The hash chain stops nobody who deletes the newest entries and
// re-chains the rest: everything ON the van then agrees again. So the van signs its audit head
// (anchor.ts: Ed25519, key derived from the van's private key) every audit.witnessIntervalSeconds
// when it has changed, and at once after every alert decision, and hands each signed head OUT: in
// the retained status every tablet receives (the page keeps the last heads it saw, in its
// localStorage: the head only, never an alert), and in each results report. `lfr audit verify
// --head VALUE` accepts any of them: a log whose entry SEQ no longer has that HASH was rewritten.
// What root can still rewrite unseen is only the tail signed by no head that left the van: at most
// one interval (default 120 s) of entries, and nothing before the last decision a tablet received.
//
// Signing is NOT itself audited (an entry per signature would change the head it signs, for ever).
import type { Logger } from '../log.js';
import type { Component } from '../lifecycle.js';
import type { AuditAnchor } from './anchor.js';

export interface WitnessDeps {
  /** Sign the current head (AuditLog.anchor); null when it cannot (no van key, empty log). */
  sign: () => AuditAnchor | null;
  intervalMs: number;
  log: Logger;
  clock: () => number;
  /** Called with each NEW signed head (publish it to the tablets). */
  onHead?: (h: SignedHead) => void;
}

export interface SignedHead extends AuditAnchor {
  /** When the van signed it (ISO). */
  signedAt: string;
}

export class AuditWitness implements Component {
  readonly name = 'audit-witness';
  private timer: NodeJS.Timeout | null = null;
  private last: SignedHead | null = null;

  constructor(private readonly d: WitnessDeps) {}

  async start(): Promise<void> {
    this.signNow();
    this.timer = setInterval(() => this.signNow(), this.d.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The newest signed head (for the status payload and reports), or null. */
  get latest(): SignedHead | null {
    return this.last;
  }

  /** Sign the head now if it moved since the last signature (an alert decision, the timer). */
  signNow(): SignedHead | null {
    let a: AuditAnchor | null;
    try {
      a = this.d.sign();
    } catch (err) {
      this.d.log.error({ err }, 'audit head could not be signed');
      return this.last;
    }
    if (!a || (this.last && this.last.seq === a.seq && this.last.hash === a.hash)) return this.last;
    this.last = { ...a, signedAt: new Date(this.d.clock()).toISOString() };
    try {
      this.d.onHead?.(this.last);
    } catch (err) {
      this.d.log.warn({ err }, 'signed audit head could not be handed out');
    }
    return this.last;
  }
}
