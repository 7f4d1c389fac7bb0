/**
 * Does a change to schema.graphql break clients? Compares two versions of the SDL with graphql-js
 * (`findBreakingChanges`, `findDangerousChanges`), prints every change, and exits
 *   0  no breaking change (dangerous ones are printed, they do not fail),
 *   1  at least one breaking change,
 *   2  nothing could be compared (unknown ref, no schema.graphql at the ref, unreadable or invalid SDL, bad arguments).
 *
 *   npm run schema:breaking                                   # the default base, see below
 *   npm run schema:breaking -- --base origin/main             # against a branch, tag or commit
 *   npm run schema:breaking -- --base v1.2.0 --new other.graphql
 *   npm run schema:breaking -- --old their-copy.graphql       # against a file instead of a git ref
 *
 * The new side is the working copy of schema.graphql unless `--new <file>` names another. Without
 * `--base` or `--old`, the old side is chosen for the question being asked at that moment:
 *   1. the new side differs from HEAD's schema.graphql: base HEAD (an uncommitted change, before committing it);
 *   2. else, on a branch whose merge base with origin/main is behind HEAD: that merge base (what the
 *      branch changes, as a pull request's CI asks);
 *   3. else HEAD~1 (what the last commit changed, as CI on main asks after a merge).
 * The chosen base and the reason are printed first. A shallow clone may lack the base: fetch it
 * (e.g. `fetch-depth: 0` in GitHub Actions) or name one with `--base`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildSchema, findBreakingChanges, findDangerousChanges } from 'graphql';

export interface SchemaChange {
  /** graphql-js's change type, e.g. FIELD_REMOVED, REQUIRED_ARG_ADDED, VALUE_ADDED_TO_ENUM. */
  type: string;
  description: string;
}

export interface SchemaComparison {
  /** Changes that can make a valid client operation fail or misread a result. */
  breaking: SchemaChange[];
  /** Changes that can surprise a client without failing its operations (e.g. a new enum value). */
  dangerous: SchemaChange[];
}

/** Compares two SDL texts. Pure: no files, no git. Throws a GraphQLError on SDL that does not build. */
export function compareSchemas(oldSdl: string, newSdl: string): SchemaComparison {
  const [oldSchema, newSchema] = [buildSchema(oldSdl), buildSchema(newSdl)];
  const plain = ({ type, description }: SchemaChange) => ({ type, description });
  return {
    breaking: findBreakingChanges(oldSchema, newSchema).map(plain),
    dangerous: findDangerousChanges(oldSchema, newSchema).map(plain),
  };
}

/** One line per change, then a count; what the command prints. */
export function formatComparison({ breaking, dangerous }: SchemaComparison): string {
  const width = Math.max(0, ...[...breaking, ...dangerous].map((c) => c.type.length));
  const lines = [
    ...breaking.map((c) => `BREAKING   ${c.type.padEnd(width)}  ${c.description}`),
    ...dangerous.map((c) => `DANGEROUS  ${c.type.padEnd(width)}  ${c.description}`),
  ];
  const plural = (n: number, word: string) => `${n} ${word} change${n === 1 ? '' : 's'}`;
  lines.push(`${plural(breaking.length, 'breaking')}, ${plural(dangerous.length, 'dangerous')}.`);
  return lines.join('\n') + '\n';
}

/** Why nothing could be compared: exit code 2. */
class CannotCompare extends Error {}

const projectRoot = fileURLToPath(new URL('..', import.meta.url));
const SCHEMA = 'schema.graphql';

function git(args: string[]): string | null {
  try {
    return execFileSync('git', ['-C', projectRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch {
    return null;
  }
}

/** schema.graphql as committed at `ref` (relative to this project's folder, wherever the repository's root is). */
export function schemaAt(ref: string): string {
  if (git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]) === null) {
    throw new CannotCompare(`git does not know the ref "${ref}" (a typo, or a shallow clone without it: fetch more history or pass --base).`);
  }
  const text = git(['show', `${ref}:./${SCHEMA}`]);
  if (text === null) throw new CannotCompare(`${ref} has no ${SCHEMA}: nothing to compare with (pass --base with a ref that has it, or --old <file>).`);
  return text;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CannotCompare(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/** The default old side; see the header comment. */
function defaultBase(newSdl: string): { ref: string; why: string } {
  const head = git(['show', `HEAD:./${SCHEMA}`]);
  if (head !== null && head !== newSdl) return { ref: 'HEAD', why: `the new ${SCHEMA} differs from HEAD's` };
  const mergeBase = git(['merge-base', 'HEAD', 'origin/main'])?.trim();
  const headCommit = git(['rev-parse', 'HEAD'])?.trim();
  if (mergeBase && headCommit && mergeBase !== headCommit) {
    return { ref: mergeBase, why: 'the merge base of HEAD and origin/main: what this branch changes' };
  }
  return { ref: 'HEAD~1', why: 'what the last commit changed' };
}

interface Options {
  base?: string;
  old?: string;
  new?: string;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--base' || flag === '--old' || flag === '--new') {
      const value = inline ?? argv[++i];
      if (!value) throw new CannotCompare(`${flag} needs a value`);
      options[flag.slice(2) as keyof Options] = value;
    } else if (flag === '--help' || flag === '-h') {
      process.stdout.write('usage: npm run schema:breaking -- [--base <git ref> | --old <file>] [--new <file>]\n');
      process.exit(0);
    } else {
      throw new CannotCompare(`unknown argument ${arg} (try --help)`);
    }
  }
  if (options.base && options.old) throw new CannotCompare('pass either --base or --old, not both');
  return options;
}

export function main(argv: string[]): number {
  try {
    const options = parseArgs(argv);
    const newPath = options.new ?? `${projectRoot}${SCHEMA}`;
    const newSdl = readText(newPath, 'the new schema');
    let oldSdl: string;
    let oldName: string;
    if (options.old) {
      oldSdl = readText(options.old, 'the old schema');
      oldName = options.old;
    } else {
      const { ref, why } = options.base ? { ref: options.base, why: '--base' } : defaultBase(newSdl);
      oldSdl = schemaAt(ref);
      oldName = `${ref}:${SCHEMA} (${why})`;
    }
    process.stdout.write(`old: ${oldName}\nnew: ${options.new ?? SCHEMA}\n`);
    let comparison: SchemaComparison;
    try {
      comparison = compareSchemas(oldSdl, newSdl);
    } catch (error) {
      throw new CannotCompare(`a schema does not build: ${(error as Error).message}`);
    }
    process.stdout.write(formatComparison(comparison));
    return comparison.breaking.length > 0 ? 1 : 0;
  } catch (error) {
    if (!(error instanceof CannotCompare)) throw error;
    process.stderr.write(`schema:breaking: ${error.message}\n`);
    return 2;
  }
}

/** Whether this file is the program (`tsx scripts/schema-breaking.ts`), not a module imported by a test. */
function isMain(): boolean {
  try {
    return !!process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = main(process.argv.slice(2));
