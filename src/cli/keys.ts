// `lfr keys generate --kind signing|van --out DIR`: make the force's Ed25519 signing key or a
// van's X25519 key pair. Private files are 0600 and never overwritten; the printed key id is what
// bundles, reports and the audit trail name.
import type { Command } from 'commander';
import { generateKeyFiles, KeyFileError, type KeyKind } from '../crypto/keys.js';
import { action, CliError, emit, EXIT } from './output.js';

export function register(program: Command): void {
  const keys = program.command('keys').description('generate signing keys (force) and van key pairs');
  keys
    .command('generate')
    .requiredOption('--kind <kind>', 'signing (Ed25519, the force signs bundles) or van (X25519, a van decrypts bundles)')
    .requiredOption('--out <dir>', 'folder for NAME.key (private, 0600) and NAME.pub (public)')
    .option('--name <name>', 'file name stem (default: the kind)')
    .option('--json', 'machine-readable output')
    .description('generate a key pair; the private file is written 0600 and never overwritten')
    .action(
      action((opts: { kind: string; out: string; name?: string; json?: boolean }) => {
        if (opts.kind !== 'signing' && opts.kind !== 'van') throw new CliError(`--kind must be "signing" or "van", not "${opts.kind}"`, EXIT.usage);
        let res;
        try {
          res = generateKeyFiles(opts.kind as KeyKind, opts.out, opts.name ?? opts.kind);
        } catch (err) {
          if (err instanceof KeyFileError) throw new CliError(err.message, EXIT.badInput);
          throw err;
        }
        emit(
          opts,
          () =>
            [
              `${res.kind} key ${res.keyId} generated`,
              `  private: ${res.privateFile} (0600: keep it on the ${res.kind === 'van' ? 'van' : 'signing workstation'} only)`,
              `  public:  ${res.publicFile} (${res.kind === 'van' ? 'give it to the station that builds bundles' : 'list it in watchlist.trustedSigningKeys on every van'})`,
            ].join('\n'),
          () => res,
        );
      }),
    );
}
