// Domain errors to wire codes: the lower layers (deployment/) throw their own error types and
// this table says which code each one carries over the control socket. The CLI picks its exit
// status from the code (src/cli/daemon-call.ts: bad_request and refused are the caller's bad
// input, exit 3; anything else a failure, exit 1), so these codes are part of the CLI's contract.
import { DeploymentError, type DeploymentErrorKind } from '../deployment/errors.js';
import { ControlError } from './protocol.js';

/** Every kind has a code: adding a kind without one does not compile. */
export const DEPLOYMENT_WIRE_CODES: Readonly<Record<DeploymentErrorKind, string>> = {
  invalid: 'bad_request',
  conflict: 'conflict',
  not_ready: 'degraded',
  not_running: 'not_running',
  start_failed: 'failed',
};

/** A domain error as the ControlError the server replies with; anything else unchanged. */
export function toWire(err: unknown): unknown {
  if (err instanceof DeploymentError) return new ControlError(err.message, DEPLOYMENT_WIRE_CODES[err.kind]);
  return err;
}

/** Runs fn and rethrows a domain error as its ControlError (sync or async). */
export function wired<T>(fn: () => T): T {
  let r: T;
  try {
    r = fn();
  } catch (err) {
    throw toWire(err);
  }
  if (r instanceof Promise) return r.catch((err: unknown) => Promise.reject(toWire(err))) as T;
  return r;
}
