import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareSchemas, formatComparison } from '../../scripts/schema-breaking.ts';

const BASE = `
  enum Mood { HAPPY SAD }
  type User { id: ID! handle: String! mood: Mood }
  type Query { user(handle: String!): User }
`;

const types = (changes: { type: string }[]) => changes.map((c) => c.type);

describe('compareSchemas', () => {
  it('finds nothing between equal schemas, and nothing in a new output field', () => {
    expect(compareSchemas(BASE, BASE)).toEqual({ breaking: [], dangerous: [] });
    expect(compareSchemas(BASE, BASE.replace('mood: Mood', 'mood: Mood bio: String'))).toEqual({ breaking: [], dangerous: [] });
  });

  it('a removed field is breaking', () => {
    const result = compareSchemas(BASE, BASE.replace('handle: String!', ''));
    expect(result.breaking).toEqual([{ type: 'FIELD_REMOVED', description: 'User.handle was removed.' }]);
    expect(result.dangerous).toEqual([]);
  });

  it('an added optional argument is safe: not breaking (graphql-js lists it as dangerous)', () => {
    const result = compareSchemas(BASE, BASE.replace('user(handle: String!)', 'user(handle: String!, exact: Boolean)'));
    expect(result.breaking).toEqual([]);
    expect(types(result.dangerous)).toEqual(['OPTIONAL_ARG_ADDED']);
  });

  it('an added required argument is breaking', () => {
    const result = compareSchemas(BASE, BASE.replace('user(handle: String!)', 'user(handle: String!, exact: Boolean!)'));
    expect(result.breaking).toEqual([{ type: 'REQUIRED_ARG_ADDED', description: 'A required arg exact on Query.user was added.' }]);
  });

  it('an added enum value is dangerous, not breaking', () => {
    const result = compareSchemas(BASE, BASE.replace('HAPPY SAD', 'HAPPY SAD BORED'));
    expect(result.breaking).toEqual([]);
    expect(result.dangerous).toEqual([{ type: 'VALUE_ADDED_TO_ENUM', description: 'BORED was added to enum type Mood.' }]);
  });

  it('a field that became nullable is breaking; formatComparison prints each change and a count', () => {
    const result = compareSchemas(BASE, BASE.replace('handle: String!', 'handle: String').replace('HAPPY SAD', 'HAPPY SAD BORED'));
    expect(types(result.breaking)).toEqual(['FIELD_CHANGED_KIND']);
    expect(formatComparison(result)).toBe(
      'BREAKING   FIELD_CHANGED_KIND   User.handle changed type from String! to String.\n' +
        'DANGEROUS  VALUE_ADDED_TO_ENUM  BORED was added to enum type Mood.\n' +
        '1 breaking change, 1 dangerous change.\n',
    );
  });

  it('throws on SDL that does not build', () => {
    expect(() => compareSchemas(BASE, 'type Query {')).toThrow(/Syntax Error/);
  });
});

describe('npm run schema:breaking (the script)', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  let dir: string;
  let withoutPostCount: string;
  let headCopy: string;

  const run = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)('npx', ['tsx', 'scripts/schema-breaking.ts', ...args], { cwd: root });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wall-schema-'));
    // HEAD's schema (not the working copy, which someone may be changing) without User.postCount.
    const head = execFileSync('git', ['show', 'HEAD:./schema.graphql'], { cwd: root, encoding: 'utf8' });
    const removed = head.replace(/\n {2}"""[^"]*"""\n {2}postCount: Int!\n/, '\n');
    expect(removed).not.toBe(head);
    withoutPostCount = join(dir, 'without-post-count.graphql');
    headCopy = join(dir, 'head.graphql');
    await writeFile(withoutPostCount, removed);
    await writeFile(headCopy, head);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 1 and names the change when a field is removed', async () => {
    const result = await run('--base', 'HEAD', '--new', withoutPostCount);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^old: HEAD:schema\.graphql \(--base\)\n/);
    expect(result.stdout).toMatch(/^BREAKING {3}FIELD_REMOVED {2}User\.postCount was removed\.$/m);
    expect(result.stdout).toMatch(/^1 breaking change, 0 dangerous changes\.$/m);
    expect(result.code).toBe(1);
  });

  it('compares with HEAD by default when the new schema differs from it; exits 0 without breaking changes', async () => {
    const removal = await run('--new', withoutPostCount);
    expect(removal.stdout).toMatch(/^old: HEAD:schema\.graphql \(the new schema\.graphql differs from HEAD's\)$/m);
    expect(removal.code).toBe(1);
    // The other way round, postCount is added: safe.
    const addition = await run('--old', withoutPostCount, '--new', headCopy);
    expect(addition.stdout).toMatch(/^0 breaking changes, 0 dangerous changes\.$/m);
    expect(addition.code).toBe(0);
  });

  it('exits 2 with a clear message for an unknown ref', async () => {
    const result = await run('--base', 'no-such-ref-anywhere');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/git does not know the ref "no-such-ref-anywhere"/);
  });

  // The repository's first commit came before schema.graphql.
  const firstCommit = execFileSync('git', ['rev-list', '--max-parents=0', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim().split('\n')[0]!;
  const firstHasSchema = execFileSync('git', ['ls-tree', '--name-only', firstCommit, './schema.graphql'], { cwd: root, encoding: 'utf8' }) !== '';

  it.skipIf(firstHasSchema)('exits 2 with a clear message for a ref without schema.graphql', async () => {
    const result = await run('--base', firstCommit);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`schema:breaking: ${firstCommit} has no schema.graphql: nothing to compare with (pass --base with a ref that has it, or --old <file>).\n`);
    expect(result.stdout).toBe('');
  });
});
