import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const tsx = new URL('../node_modules/.bin/tsx', import.meta.url).pathname;
const main = new URL('../src/main.ts', import.meta.url).pathname;

async function start(env: Record<string, string>) {
  try {
    await run(tsx, [main], { env: { ...process.env, LOG_LEVEL: 'silent', ...env }, timeout: 30_000 });
    return { code: 0, stderr: '' };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('npm start', () => {
  it('says plainly, without a stack trace, when PostgreSQL cannot be reached', async () => {
    const { code, stderr } = await start({ DATABASE_URL: 'postgres://wall:secret@127.0.0.1:1/wall' });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^wall: Cannot reach PostgreSQL at postgres:\/\/wall:\*\*\*@127\.0\.0\.1:1\/wall/);
    expect(stderr).not.toContain('secret');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('names the setting that is wrong', async () => {
    const { code, stderr } = await start({ DATABASE_URL: 'not a url', PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr).toContain('DATABASE_URL');
    expect(stderr).toContain('PORT');
  });
});
