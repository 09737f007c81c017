// The `lfr` command. One file per command group, registered here explicitly (no discovery by
// scanning: GUIDE "things to avoid"). Commands are thin: parse, call a service, print.
import { Command } from 'commander';
import { register as registerConfig } from './config-cmd.js';
import { register as registerFaces } from './faces.js';
import { register as registerCompare } from './compare.js';
import { register as registerKeys } from './keys.js';
import { register as registerWatchlist } from './watchlist.js';
import { register as registerModels } from './models.js';
import { register as registerBench } from './bench.js';
import { register as registerEval } from './eval.js';
import { register as registerHealth } from './health.js';
import { register as registerStatus } from './status.js';
import { register as registerDeployment } from './deployment.js';
import { register as registerRun } from './run.js';
import { register as registerDemo } from './demo.js';
import { register as registerAlerts } from './alerts.js';
import { register as registerAudit } from './audit.js';
import { register as registerOfficers } from './officers.js';
import { register as registerHq } from './hq.js';
import { EXIT, reportError, takeExitCode } from './output.js';

export function buildProgram(): Command {
  const program = new Command('lfr')
    .description('lfr-edge: live facial recognition for a police LFR van')
    .version('0.1.0')
    .option('-c, --config <file>', 'config file (default: $LFR_CONFIG or /etc/lfr/lfr.json, else built-in defaults)')
    .showHelpAfterError('(run "lfr --help" for usage)');
  program.exitOverride();
  registerConfig(program);
  registerFaces(program);
  registerCompare(program);
  registerKeys(program);
  registerWatchlist(program);
  registerModels(program);
  registerEval(program);
  registerBench(program);
  registerHealth(program);
  registerStatus(program);
  registerDeployment(program);
  registerRun(program);
  registerDemo(program);
  registerAlerts(program);
  registerAudit(program);
  registerOfficers(program);
  registerHq(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
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
