// Usage errors exit 2 (docs/cli.md): a missing required option, an unknown option or command.
// Through the real `lfr` process; no daemon needed.
import test from 'ava';
import { runCli } from '../helpers/cli.js';

test('a missing required option, an unknown option and an unknown command exit 2 with the usage hint', async (t) => {
  const missing = await runCli(['deployment', 'start', '--location', 'x']);
  t.is(missing.code, 2, missing.stderr);
  t.regex(missing.stderr, /required option '--authorisation <ref>' not specified/);
  const unknownOpt = await runCli(['status', '--no-such-flag']);
  t.is(unknownOpt.code, 2, unknownOpt.stderr);
  const unknownCmd = await runCli(['no-such-command']);
  t.is(unknownCmd.code, 2, unknownCmd.stderr);
  t.regex(unknownCmd.stderr, /lfr --help/);
  t.is((await runCli(['--version'])).code, 0);
});
