import { z } from 'zod';
import { badInput } from '../errors.ts';

const uuid = z.uuid();
const isIsoInstant = (text: string) => {
  const date = new Date(text);
  return !Number.isNaN(date.getTime()) && date.toISOString() === text;
};

/** Where a page ends: the sort key of its last row (a time, then an id to break ties). */
export interface Cursor {
  at: string;
  id: string;
}

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** Cursors are opaque to clients: base64url of the last row's sort key. */
export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined): Cursor | null {
  if (cursor == null) return null;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && typeof id === 'string' && isIsoInstant(at) && uuid.safeParse(id).success) return { at, id };
  } catch {
    // fall through to the refusal
  }
  throw badInput('after must be a cursor returned by this connection (pageInfo.endCursor).', 'after');
}

export function pageSize(first: number | null | undefined): number {
  const size = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(size) || size < 0 || size > MAX_PAGE_SIZE) {
    throw badInput(`first must be between 0 and ${MAX_PAGE_SIZE}.`, 'first');
  }
  return size;
}

/**
 * A Relay connection from `size + 1` fetched rows: the extra row only says there is a next page.
 * Edges and cursors are made when asked for (most pages ask for `nodes` and perhaps the end cursor only).
 */
export function toConnection<Row, Node>(rows: Row[], size: number, key: (row: Row) => { at: Date; id: string }, node: (row: Row) => Node) {
  const page = rows.length > size ? rows.slice(0, size) : rows;
  const cursorOf = (row: Row) => {
    const k = key(row);
    return encodeCursor(k.at, k.id);
  };
  const nodes = page.map(node);
  let edges: { node: Node; readonly cursor: string }[] | undefined;
  const last = page.at(-1);
  return {
    get edges() {
      return (edges ??= page.map((row, i) => ({
        node: nodes[i]!,
        get cursor(): string {
          return cursorOf(row);
        },
      })));
    },
    nodes,
    pageInfo: {
      hasNextPage: rows.length > size,
      get endCursor(): string | null {
        return last === undefined ? null : cursorOf(last);
      },
    },
  };
}

export type Connection<Node> = ReturnType<typeof toConnection<unknown, Node>>;
