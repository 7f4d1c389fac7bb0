import { writeFile } from 'node:fs/promises';
import { printSchemaSDL } from '../src/graphql/schema.ts';

/** Regenerates schema.graphql (sorted SDL) from the Pothos schema; test/graphql/schema.test.ts checks it. */
const target = new URL('../schema.graphql', import.meta.url);
await writeFile(target, printSchemaSDL());
process.stdout.write(`wrote ${target.pathname}\n`);
