// `graceful run`'s entry, bundled alone into dist/run.cjs: the command line read by
// config/args.ts's own parser and, when it takes it as it is, the run command. Nothing else
// of graceful is in that file (no commander, no other command, no stack file's parser), so a
// supervisor holds only the code it runs: V8 keeps a bundle's whole source in memory, and
// reading the smaller one's code cache grows the heap less (bench/analysis.md, "graceful
// run's own bundle"). Any other command line (--help, an unknown option, a missing value) is handed
// over, untouched, to the whole CLI (main.ts, dist/cli.cjs), which reads it with commander
// and says what is wrong: nothing here has run but the parse.
import { helpHint } from './config/errors.js';
import { parseRunArgs } from './config/args.js';
import { RUN_SPECS } from './config/options.js';
import { adoptEnvironment, failed, finish, runCommand, withSystem } from './entry.js';

const argv = process.argv;
const plain = argv[2] === 'run' ? parseRunArgs(argv.slice(3), RUN_SPECS) : null;

/** Read by bin/graceful.js once this file has run: true when dist/cli.cjs is to read the command line. */
export const handOver = plain === null;

if (plain) {
  adoptEnvironment();
  runCommand(withSystem(plain))
    .catch((error: unknown) => failed(argv, error, helpHint(argv.slice(2))))
    .then(finish);
}
