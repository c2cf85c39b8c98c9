#!/usr/bin/env node
/** The `vmstate` executable. */
import { hideBin } from 'yargs/helpers';
import { main } from './run.js';

main(hideBin(process.argv)).then((code) => {
  process.exitCode = code;
});
