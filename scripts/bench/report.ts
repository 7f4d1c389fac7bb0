/*
 * The end of a run: one table of every figure (phase, what, figure, unit), and the same figures
 * with the run's conditions as JSON, in artifacts/bench/bench-<time>.json and
 * artifacts/bench/latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './common.ts';
import type { Figure } from './context.ts';

/** Three significant figures or so: 12,345 / 123 / 12.3 / 1.23 / 0.012. */
export function formatFigure(value: number | null): string {
  if (value === null) return '-';
  const a = Math.abs(value);
  const digits = a >= 100 || Number.isInteger(value) ? 0 : a >= 10 ? 1 : a >= 0.1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function table(figures: readonly Figure[], failures: readonly { phase: string; error: string }[]): string {
  const rows = figures.map((f) => [f.phase, f.what, formatFigure(f.value), f.unit]);
  const header = ['phase', 'what', 'figure', 'unit'];
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  const out = [line(header), width.map((w) => '-'.repeat(w)).join('  ')];
  let phase = '';
  for (const row of rows) {
    if (row[0] === phase) row[0] = '';
    else phase = row[0]!;
    out.push(line(row));
  }
  for (const f of failures) out.push(`FAILED ${f.phase}: ${f.error}`);
  return out.join('\n');
}

/** Writes the run's JSON; returns the path of the dated file. */
export function writeJson(report: { startedAt: string } & Record<string, unknown>): string {
  const dir = join(ROOT, 'artifacts/bench');
  mkdirSync(dir, { recursive: true });
  const text = JSON.stringify(report, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n';
  const file = join(dir, `bench-${report.startedAt.replace(/:/g, '-')}.json`);
  writeFileSync(file, text);
  writeFileSync(join(dir, 'latest.json'), text);
  return file;
}
