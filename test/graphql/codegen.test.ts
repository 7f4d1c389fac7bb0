import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../../codegen.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STALE = 'test/generated/ is stale: run `npm run codegen` and commit the result';

describe('generated client types (test/generated/)', () => {
  it('are what codegen.ts makes from schema.graphql and test/operations/ now', async () => {
    // Generates in memory only (saveToFile = false): the same validation of every operation against
    // schema.graphql as `npm run codegen`, so an operation the schema no longer allows fails here too.
    // (generate() is typed `FileOutput[] | any` because of watch mode; this call does not watch.)
    const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: root, silent: true }, false);
    const generated = new Map(outputs.map((o) => [o.filename.replace(/^\.?\//, ''), o.content]));
    const committedFiles = (await readdir(new URL('../generated/', import.meta.url))).map((f) => `test/generated/${f}`);
    expect(committedFiles.sort(), `${STALE}; delete the files it does not write`).toEqual([...generated.keys()].sort());
    const differing: string[] = [];
    for (const [filename, content] of generated) {
      if ((await readFile(new URL(`../../${filename}`, import.meta.url), 'utf8')) !== content) differing.push(filename);
    }
    expect(differing, STALE).toEqual([]);
  });
});
