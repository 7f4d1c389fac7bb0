import type { ObjectRef } from '@pothos/core';
import { MAX_PAGE_SIZE } from '../../read/pagination.ts';
import { builder } from '../builder.ts';

export interface PageInfoShape {
  hasNextPage: boolean;
  endCursor: string | null;
}

export interface ConnectionShape<Node> {
  edges: { cursor: string; node: Node }[];
  nodes: Node[];
  pageInfo: PageInfoShape;
}

const PageInfoRef = builder.objectRef<PageInfoShape>('PageInfo').implement({
  description: 'Where a page of a connection ends.',
  fields: (t) => ({
    hasNextPage: t.exposeBoolean('hasNextPage', { description: 'Whether more items follow this page.' }),
    endCursor: t.exposeString('endCursor', {
      nullable: true,
      description: 'Pass it as `after` for the next page; null on an empty page.',
    }),
  }),
});

/** A Relay-style connection type (`edges { cursor node }`, `nodes`, `pageInfo`) for `node`. */
export function connectionOf<Node>(name: string, node: ObjectRef<GraphQLContextFree, Node>, what: string) {
  const edge = builder.objectRef<{ cursor: string; node: Node }>(`${name}Edge`).implement({
    description: `One ${what} in a page, with its cursor.`,
    fields: (t) => ({
      cursor: t.exposeString('cursor', { description: `The position of this ${what}; pass it as \`after\` to continue after it.` }),
      node: t.field({ type: node, description: `The ${what}.`, resolve: (e) => e.node as never }),
    }),
  });
  return builder.objectRef<ConnectionShape<Node>>(`${name}Connection`).implement({
    description: `A page of ${what}s, newest first.`,
    fields: (t) => ({
      edges: t.field({ type: [edge], description: `The ${what}s of this page with their cursors.`, resolve: (c) => c.edges }),
      nodes: t.field({ type: [node], description: `The ${what}s of this page.`, resolve: (c) => c.nodes as never }),
      pageInfo: t.field({ type: PageInfoRef, description: 'Whether there is a next page, and where it starts.', resolve: (c) => c.pageInfo }),
    }),
  });
}

// Pothos's ObjectRef is generic over the schema types; the connection helper needs only the shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type GraphQLContextFree = any;

export const firstArgDescription = `How many items, at most ${MAX_PAGE_SIZE} (BAD_USER_INPUT above that).`;
export const afterArgDescription = 'Start after this cursor (a `pageInfo.endCursor` or an edge `cursor`).';
