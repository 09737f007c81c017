// `lfr config validate FILE` and `lfr config show`: check a config before a deployment.
import type { Command } from 'commander';
import { ConfigError, loadConfig, loadConfigFile } from '../config/load.js';
import { renderConfigDocs } from '../config/docs.js';
import { action, emit, EXIT } from './output.js';

export function register(program: Command): void {
  const cmd = program.command('config').description('check and show the configuration');

  cmd
    .command('validate')
    .argument('<file>', 'config file (JSON)')
    .option('--json', 'machine-readable output')
    .description('validate a config file: every problem with its path, value and reason')
    .action(
      action((file: string, opts: { json?: boolean }) => {
        try {
          loadConfigFile(file);
          emit(opts, () => `${file}: valid`, () => ({ file, valid: true, issues: [] }));
          return EXIT.ok;
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          emit(
            opts,
            () =>
              [`${file}: NOT valid: ${err.message}`, ...err.issues.map((i) => `  ${i.path}: ${i.reason} (value: ${i.hidden ? 'not shown' : (JSON.stringify(i.value) ?? 'missing')})`)].join('\n'),
            () => ({ file, valid: false, error: err.message, issues: err.issues }),
          );
          return EXIT.badInput;
        }
      }),
    );

  cmd
    .command('show')
    .description('print the effective configuration (defaults filled in; secrets are only file paths)')
    .action(
      action(() => {
        const cfg = loadConfig(program.opts<{ config?: string }>().config);
        process.stdout.write(`${JSON.stringify(cfg, null, 2)}\n`);
      }),
    );

  cmd
    .command('docs')
    .description('print the reference of every config field (Markdown; docs/config.md is this output)')
    .action(
      action(() => {
        process.stdout.write(renderConfigDocs());
      }),
    );
}
