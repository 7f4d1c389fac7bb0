/*
 * Summarizes a V8 CPU profile (.cpuprofile, as `node --cpu-prof` writes; read.ts --cpu-prof DIR
 * runs the server that way): self time by function and by package or source folder, and the
 * inclusive time of a few frames worth watching (by function name).
 *
 *   npx tsx scripts/bench/profile.ts FILE.cpuprofile [--top 30] [--inclusive name1,name2,...]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from './common.ts';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file || file.startsWith('--')) throw new Error('usage: profile.ts FILE.cpuprofile [--top 30] [--inclusive a,b]');
const args = parseArgs(process.argv.slice(3));
const TOP = Number(args.get('top') ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const say = (line = '') => process.stdout.write(line + '\n');

// Time per node from the samples (each sample's delta is the time until the next one).
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  const next = profile.timeDeltas[i + 1] ?? 0;
  selfUs.set(profile.samples[i]!, (selfUs.get(profile.samples[i]!) ?? 0) + next);
}
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = profile.nodes.filter((n) => ['(idle)', '(program)', '(garbage collector)'].includes(n.callFrame.functionName));
const idleUs = (name: string) => idle.filter((n) => n.callFrame.functionName === name).reduce((a, n) => a + (selfUs.get(n.id) ?? 0), 0);
const busy = total - idleUs('(idle)');

function where(url: string): string {
  if (!url) return '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (url.startsWith('node:')) return url;
  const src = url.indexOf('/src/');
  if (src >= 0) return 'src/' + url.slice(src + 5).split('/').slice(0, -1).join('/');
  return url.split('/').slice(-2).join('/');
}

const pct = (us: number) => ((100 * us) / busy).toFixed(1).padStart(5) + '%';
say(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s not idle (percentages below are of that);`);
say(`  (program) ${pct(idleUs('(program)'))}, (garbage collector) ${pct(idleUs('(garbage collector)'))}`);

const group = (key: (n: ProfileNode) => string) => {
  const sums = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') continue;
    const k = key(n);
    sums.set(k, (sums.get(k) ?? 0) + us);
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
};

say('\nself time by package / folder:');
for (const [k, us] of group((n) => where(n.callFrame.url)).slice(0, TOP)) say(`  ${pct(us)}  ${k}`);
say('\nself time by function:');
for (const [k, us] of group((n) => `${n.callFrame.functionName || '(anonymous)'}  ${where(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`).slice(0, TOP)) {
  say(`  ${pct(us)}  ${k}`);
}

// Inclusive time: a sample counts for a function if the function is anywhere on its stack (once).
const inclusiveNames = (args.get('inclusive') ?? '').split(',').filter(Boolean);
if (inclusiveNames.length) {
  say('\ninclusive time (function anywhere on the stack):');
  const stackHas = (id: number, name: string) => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      if (`${n.callFrame.functionName}` === name || `${n.callFrame.functionName}@${where(n.callFrame.url)}` === name) return true;
    }
    return false;
  };
  for (const name of inclusiveNames) {
    let us = 0;
    for (const [id, t] of selfUs) if (stackHas(id, name)) us += t;
    say(`  ${pct(us)}  ${name}`);
  }
}

// Inclusive time by package: any frame of the package on the stack.
say('\ninclusive time by package / folder (on the stack anywhere):');
const incl = new Map<string, number>();
for (const [id, t] of selfUs) {
  if (byId.get(id)!.callFrame.functionName === '(idle)') continue;
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) seen.add(where(byId.get(cur)!.callFrame.url));
  for (const k of seen) incl.set(k, (incl.get(k) ?? 0) + t);
}
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, TOP)) say(`  ${pct(us)}  ${k}`);

// Callers of a function (by name): self time of the function split by the frames above it.
const callersOf = (args.get('callers') ?? '').split(',').filter(Boolean);
const DEPTH = Number(args.get('depth') ?? 2);
for (const name of callersOf) {
  say(`\ncallers of ${name} (its self time, by the ${DEPTH} frames above it):`);
  const sums = new Map<string, number>();
  for (const [id, t] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName !== name) continue;
    const chain: string[] = [];
    for (let cur = parent.get(id), d = 0; cur !== undefined && d < DEPTH; cur = parent.get(cur), d++) {
      const c = byId.get(cur)!;
      chain.push(`${c.callFrame.functionName || '(anon)'}@${where(c.callFrame.url)}:${c.callFrame.lineNumber + 1}`);
    }
    const k = chain.join(' < ');
    sums.set(k, (sums.get(k) ?? 0) + t);
  }
  for (const [k, us] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, TOP)) say(`  ${pct(us)}  ${k}`);
}
