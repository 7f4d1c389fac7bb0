import { z } from 'zod';
import { badInput } from '../errors.ts';

const uuid = z.uuid();

/** An id argument, lower-cased as the write side stores ids; BAD_USER_INPUT naming `field` otherwise. */
export function parseId(value: string | number, field: string): string {
  const parsed = uuid.safeParse(String(value));
  if (!parsed.success) throw badInput(`${field} must be an id.`, field);
  return parsed.data.toLowerCase();
}

/**
 * A resume point: a position (from a receipt, a change or `extensions.projection`), or a change's
 * `cursor` (`<position>:<seq>`); null when absent.
 */
export function parseResumePoint(value: string | null | undefined, field: string): { position: bigint; seq: number | null } | null {
  if (value === null || value === undefined) return null;
  const match = /^(\d{1,20})(?::(\d{1,15}))?$/.exec(value);
  if (!match) throw badInput(`${field} must be a position (a decimal number from a receipt or a change) or a change's cursor.`, field);
  return { position: BigInt(match[1]!), seq: match[2] === undefined ? null : Number(match[2]) };
}
