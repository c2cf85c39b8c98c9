#!/usr/bin/env node
/** The `vmstate` executable. */
import { hideBin } from 'yargs/helpers';
import { main } from './run.js';
import { installSignalHandlers } from './signals.js';
import { allowBlockingReads } from '../wire/blocking.js';
import { guardStdout } from './stdout.js';

installSignalHandlers();
// Reading is all this process does: blocking reads of pipes cost no one anything here.
allowBlockingReads();
const stdout = guardStdout();

main(hideBin(process.argv))
  .then(async (code) => {
    // Whatever went to standard output must have reached it.
    const failure = await stdout.settled();
    // Exit 2 already said what failed (a failed stream to standard output among them).
    if (failure && code !== 2) {
      process.stderr.write(`vmstate: ${failure}\n`);
      code = 2;
    }
    process.exitCode = code;
  });
