// What `lfr broker setup` checks on the box besides writing files (issue 20 item 11): things it
// does not create itself but the broker and the daemon need. Each returns a plain sentence, or
// null when all is well. They are warnings in the set-up's report, not refusals: a broker-only
// box and the tests (root, no lfr group, a pid-file folder made later by the mosquitto unit)
// still get a working broker, and the technician is told what will not work and why.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** Debian's mosquitto.service makes this folder (ExecStartPre) each time the broker starts. */
const DEBIAN_PID_DIR = '/run/mosquitto';

/** broker.user as the set-up sees it when running as root: mosquitto drops to it before it writes the pid file. */
export interface BrokerAccount {
  name: string;
  uid: number;
  /** Its primary group (supplementary groups are not looked at). */
  gid: number | null;
}

/**
 * mosquitto writes broker.pidFile AFTER it drops to broker.user (checked with mosquitto 2.0.11: a
 * root-owned 0755 folder gives "Error: Unable to write pid file." and exit 1), and refuses to run
 * when it cannot; `lfr officers add|remove` reads the file to make the broker reload its accounts.
 * broker: the account mosquitto drops to (the set-up runs as root); null when not root, where
 * mosquitto runs as the caller and the caller's own access decides.
 */
export function pidFolderProblem(pidFile: string, broker: BrokerAccount | null = null): string | null {
  const dir = path.dirname(path.resolve(pidFile));
  const consequence = 'mosquitto cannot write its pid file (it then refuses to start) and "lfr officers add|remove" cannot make it reload the accounts';
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `the folder of broker.pidFile (${dir}) cannot be checked (${code ?? 'error'}), so ${consequence} may fail`;
    const debian = dir === DEBIAN_PID_DIR ? ` (Debian's mosquitto.service makes ${DEBIAN_PID_DIR} when it starts the broker: start it, then run "lfr broker setup" again to check)` : '';
    return `the folder of broker.pidFile (${dir}) does not exist, so ${consequence}: create it (install -d${broker ? ` -o ${broker.name}` : ''} ${dir}) or set broker.pidFile${debian}`;
  }
  if (!st.isDirectory()) return `broker.pidFile ${pidFile}: ${dir} is not a folder, so ${consequence}; set broker.pidFile to a file in a folder`;
  if (broker) {
    if (!writableBy(st, broker)) return `the folder of broker.pidFile (${dir}) is not writable by ${broker.name} (broker.user; owner uid ${st.uid}, mode ${(st.mode & 0o777).toString(8)}), so ${consequence}: chown ${broker.name} ${dir}, or set broker.pidFile`;
    return null;
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    return `the folder of broker.pidFile (${dir}) is not writable (${(err as NodeJS.ErrnoException).code ?? 'error'}), so ${consequence}: fix its owner or mode, or set broker.pidFile`;
  }
  return null;
}

/** The classic owner / group / other permission check (no ACLs, primary group only). */
function writableBy(st: Stats, a: BrokerAccount): boolean {
  if (a.uid === 0) return true;
  if (st.uid === a.uid) return (st.mode & 0o200) !== 0;
  if (a.gid !== null && st.gid === a.gid) return (st.mode & 0o020) !== 0;
  return (st.mode & 0o002) !== 0;
}

/**
 * As root the set-up gives the daemon's broker password and the tablet page's key to
 * broker.daemonGroup (0640); without that group they stay root's alone (0600) and a daemon
 * running as lfr cannot connect to the broker or serve the tablet page.
 */
export function daemonGroupProblem(group: string, gid: number | null, root: boolean): string | null {
  if (!root || gid !== null) return null;
  return `the OS group "${group}" (broker.daemonGroup) does not exist: the daemon's broker password and the tablet page's key were left readable by root only, so a daemon running as ${group} cannot connect to the broker or serve the tablet page; create the service user and group (install.sh does: useradd --system --user-group ${group}) or set broker.daemonGroup, then run "lfr broker setup" again`;
}
