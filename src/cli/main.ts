#!/usr/bin/env node
/** The `vmstate` executable. */
import { hideBin } from 'yargs/helpers';
import { main } from './run.js';

// A reader that went away (`vmstate regs f | head`) ends us like SIGPIPE would.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(141);
  throw e;
});

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
