// Process entry of the CLI (bin/lfr.js imports this; tests spawn it directly).
import { main } from './main.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`lfr: ${(err as Error)?.message ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
