// The `lfr` command. One file per command group, registered here explicitly (no discovery by
// scanning: GUIDE "things to avoid"). Commands are thin: parse, call a service, print.
import { Command } from 'commander';
import { register as registerConfig } from './config-cmd.js';
import { register as registerFaces } from './faces.js';
import { register as registerCompare } from './compare.js';
import { register as registerKeys } from './keys.js';
import { register as registerWatchlist } from './watchlist.js';
import { register as registerHealth } from './health.js';
import { register as registerStatus } from './status.js';
import { register as registerDeployment } from './deployment.js';
import { register as registerRun } from './run.js';
import { register as registerAlerts } from './alerts.js';
import { register as registerAudit } from './audit.js';
import { register as registerOfficers } from './officers.js';
import { register as registerHq } from './hq.js';
import { EXIT, reportError, takeExitCode } from './output.js';

type Register = (program: Command) => void;

/**
 * The command groups, in the order `lfr --help` lists them. The product's are imported above; the
 * groups that are NOT the product (model tooling, evaluation, benches, the demo kit) import
 * src/tools, so they are loaded only when the command line names one of them, names nothing, or
 * names something unknown (help and "did you mean" list every command). `lfr run`, the daemon,
 * and every other product command never load src/tools (test/unit/cli-tools-entry.test.ts).
 */
const GROUPS: Array<[name: string, register: Register | (() => Promise<Register>)]> = [
  ['config', registerConfig],
  ['faces', registerFaces],
  ['compare', registerCompare],
  ['keys', registerKeys],
  ['watchlist', registerWatchlist],
  ['models', async () => (await import('./models.js')).register],
  ['eval', async () => (await import('./eval.js')).register],
  ['bench', async () => (await import('./bench.js')).register],
  ['health', registerHealth],
  ['status', registerStatus],
  ['deployment', registerDeployment],
  ['run', registerRun],
  ['demo', async () => (await import('./demo.js')).register],
  ['alerts', registerAlerts],
  ['audit', registerAudit],
  ['officers', registerOfficers],
  ['hq', registerHq],
];

/** Tool groups (loaded lazily): their register is a loader, not the function itself. */
export const TOOL_GROUPS = ['models', 'eval', 'bench', 'demo'] as const;

/** The command the line names (the first word that is not a global option or its value), or null. */
export function commandName(argv: readonly string[]): string | null {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-c' || a === '--config') {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return null;
}

export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('lfr')
    .description('lfr-edge: live facial recognition for a police LFR van')
    .version('0.1.0')
    .option('-c, --config <file>', 'config file (default: $LFR_CONFIG or /etc/lfr/lfr.json, else built-in defaults)')
    .showHelpAfterError('(run "lfr --help" for usage)');
  program.exitOverride();
  const name = commandName(argv);
  const product = new Set(GROUPS.map(([n]) => n).filter((n) => !(TOOL_GROUPS as readonly string[]).includes(n)));
  // A product command loads the product only; anything else (a tool, help, a typo) loads all.
  const withTools = name === null || !product.has(name);
  for (const [n, reg] of GROUPS) {
    const isTool = (TOOL_GROUPS as readonly string[]).includes(n);
    if (isTool && !withTools) continue;
    const fn = isTool ? await (reg as () => Promise<Register>)() : (reg as Register);
    fn(program);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const code = (err as { code?: string; exitCode?: number }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.version' || code === 'commander.help') return 0;
    // Every parse error (a missing required option, an unknown option or command) is a usage error:
    // exit 2 as docs/cli.md says (commander's own exitCode is 1 for these).
    if (typeof code === 'string' && code.startsWith('commander.')) return EXIT.usage;
    return reportError(err);
  }
  return takeExitCode();
}
