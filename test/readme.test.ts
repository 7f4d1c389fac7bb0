import { readFile } from 'node:fs/promises';
import { parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema.ts';

/*
 * The README and docs/ must not go stale: every GraphQL block in them is valid against the
 * schema (placeholders such as "<id>" sit in string values, so they parse), and every
 * `npm run <script>` they mention exists. The shell walkthrough itself is run by .ci/run.
 */
const documents = ['README.md', 'docs/clients.md'];

async function read(path: string) {
  return readFile(new URL(`../${path}`, import.meta.url), 'utf8');
}

describe.each(documents)('%s', (path) => {
  it('holds only GraphQL that the schema accepts', async () => {
    const text = await read(path);
    const blocks = [...text.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]!);
    for (const block of blocks) {
      // A block holds one operation per line or one operation over several lines.
      const operations = block.includes('\n{') || /^\s+/m.test(block) ? [block] : block.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
      for (const operation of operations) {
        let errors: readonly Error[];
        try {
          errors = validate(schema, parse(operation));
        } catch (error) {
          errors = [error as Error];
        }
        expect(errors.map((e) => e.message), operation).toEqual([]);
      }
    }
  });

  it('mentions only npm scripts that exist', async () => {
    const text = await read(path);
    const { scripts } = JSON.parse(await read('package.json')) as { scripts: Record<string, string> };
    const mentioned = [...text.matchAll(/npm run ([a-z:-]+)/g)].map((m) => m[1]!);
    for (const name of new Set(mentioned)) expect(Object.keys(scripts), `npm run ${name}`).toContain(name);
  });
});
