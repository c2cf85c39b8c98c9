#!/usr/bin/env node
// Writes schemas/policy.schema.json from POLICY_SCHEMA (src/policy/schema.ts, built to dist/).
//
//   npm run schemas
//
// The output is deterministic; test/schemas.test.ts fails when the file and the source differ.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { POLICY_SCHEMA } = await import(join(root, 'dist', 'policy', 'schema.js'));
const { $schema, ...rest } = POLICY_SCHEMA;
const doc = { $schema, $id: 'urn:vmstate:schema:policy:1', ...rest };
writeFileSync(join(root, 'schemas', 'policy.schema.json'), JSON.stringify(doc, null, 2) + '\n');
