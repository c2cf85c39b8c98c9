#!/usr/bin/env node
// After `tsc`: the CLI entry must start with its shebang and be executable, so that
// `node_modules/.bin/vmstate` and a direct `./dist/cli/main.js` both run it.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
const SHEBANG = '#!/usr/bin/env node\n';
const text = readFileSync(bin, 'utf8');
if (!text.startsWith(SHEBANG)) writeFileSync(bin, SHEBANG + text.replace(/^#![^\n]*\n/, ''));
chmodSync(bin, 0o755);
