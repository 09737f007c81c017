// The deployment layer's own refusals. DeploymentService says WHAT went wrong in its own words
// (a kind and a plain message for the operator); how that crosses the control socket (a wire
// code, an exit status in the CLI) is control/'s business (src/control/wire-errors.ts). Before
// this file the service threw the control socket's error type: the one import from a lower layer
// up into the transport.

/**
 * - invalid:      the request itself is wrong (missing field, time passed, no watchlist loaded).
 * - conflict:     the request is fine but the van's state forbids it (a deployment is running,
 *                 a different bundle is loaded than the one sent).
 * - not_ready:    the van is not ready (camera not live, broker down) and no --allow-degraded.
 * - not_running:  the request needs a running deployment and there is none.
 * - start_failed: the deployment was recorded but analysis could not start; it was ended.
 */
export type DeploymentErrorKind = 'invalid' | 'conflict' | 'not_ready' | 'not_running' | 'start_failed';

export class DeploymentError extends Error {
  constructor(
    message: string,
    readonly kind: DeploymentErrorKind,
  ) {
    super(message);
    this.name = 'DeploymentError';
  }
}
