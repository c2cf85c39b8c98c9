// Runs the built CLI's main() on many command lines in one process, for tests that try hundreds
// of them: node cli-many.mjs <dist/cli/run.js> <cases.json> <results.json>. Each case is an argv
// array; each result { argv, code, stdout, stderr }, with code "threw" if main() itself threw.
// Standard input is whatever this process has (the tests give it /dev/null). Outputs are cut at
// 4000 characters unless CLI_MANY_FULL is set.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [runJs, casesFile, resultsFile] = process.argv.slice(2);
// Each output is kept to its first 4000 characters, or whole with CLI_MANY_FULL=1 (JSON reports).
const LIMIT = process.env.CLI_MANY_FULL ? Infinity : 4000;
const { main } = await import(pathToFileURL(runJs).href);
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
const results = [];
const { write: outWrite } = process.stdout;
const { write: errWrite } = process.stderr;
const exit = process.exit;
for (const argv of cases) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = (chunk) => ((stdout += String(chunk)), true);
  process.stderr.write = (chunk) => ((stderr += String(chunk)), true);
  // Only --help and --version exit by themselves; a case must not end the run.
  process.exit = (c) => {
    throw new Error(`process.exit(${c}) called`);
  };
  process.exitCode = undefined;
  let code;
  try {
    code = await main(argv);
  } catch (e) {
    code = 'threw';
    stderr += String(e?.stack ?? e);
  } finally {
    process.stdout.write = outWrite;
    process.stderr.write = errWrite;
    process.exit = exit;
  }
  results.push({ argv, code, stdout: stdout.slice(0, LIMIT), stderr: stderr.slice(0, LIMIT) });
}
process.exitCode = 0;
writeFileSync(resultsFile, JSON.stringify(results));
