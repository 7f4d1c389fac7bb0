import { z } from 'zod';
import { badInput } from '../errors.ts';

const uuid = z.uuid();

/** An id argument, lower-cased as the write side stores ids; BAD_USER_INPUT naming `field` otherwise. */
export function parseId(value: string | number, field: string): string {
  const parsed = uuid.safeParse(String(value));
  if (!parsed.success) throw badInput(`${field} must be an id.`, field);
  return parsed.data.toLowerCase();
}

/** A position argument (from a receipt, a change or `extensions.projection`); null when absent. */
export function parsePositionArg(value: string | null | undefined, field: string): bigint | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{1,20}$/.test(value)) throw badInput(`${field} must be a position (a decimal number from a receipt or a change).`, field);
  return BigInt(value);
}
