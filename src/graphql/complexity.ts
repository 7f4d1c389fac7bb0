import { complexityFromQuery, ComplexityErrorKind, type ComplexityErrorFn, type ComplexityResult } from '@pothos/plugin-complexity';
import { Kind, type DocumentNode, type GraphQLResolveInfo } from 'graphql';
import { DomainError } from '../errors.ts';
import { MAX_PAGE_SIZE } from '../read/pagination.ts';

/**
 * What one operation may ask for, counted before it runs (@pothos/plugin-complexity): every field
 * costs 1, and what a connection holds counts `first` times, so nested pages multiply. The feed
 * page of test/operations costs 4,301 with `first: 100`; 100 posts each with a page of 20
 * comments and their authors about 25,000; 100 friends with 100 friends each about 30,000;
 * friends of friends of friends, 100 a page, two million (a million rows): refused. Introspection
 * costs nothing here (GraphiQL and codegen send deep introspection queries).
 */
export const QUERY_LIMITS = {
  /** Fields counted with their multipliers. */
  complexity: 50_000,
  /** Nested selections. */
  depth: 15,
  /** Fields selected in all. */
  breadth: 500,
} as const satisfies ComplexityResult;

/** A connection field's cost: its page size (`first`, default 20) multiplies what each item selects. */
export const pageComplexity = (args: { first?: number | null }) => ({
  field: 1,
  multiplier: Math.min(Math.max(args.first ?? 20, 0), MAX_PAGE_SIZE),
});

const WHAT: Record<ComplexityErrorKind, [keyof ComplexityResult, string]> = {
  [ComplexityErrorKind.Complexity]: ['complexity', 'asks for too much at once: ask for smaller pages or fewer nested lists'],
  [ComplexityErrorKind.Depth]: ['depth', 'is nested too deeply'],
  [ComplexityErrorKind.Breadth]: ['breadth', 'selects too many fields'],
};

/** BAD_USER_INPUT naming the measure, its value and the limit (extensions.complexity). */
export const tooComplex: ComplexityErrorFn = (kind, result) => {
  const [measure, why] = WHAT[kind];
  const limit = QUERY_LIMITS[measure];
  return new DomainError('BAD_USER_INPUT', `The operation ${why} (${measure} ${result[measure]}, at most ${limit}).`, {
    complexity: { measure, value: result[measure], limit },
  });
};

/**
 * The plugin counts when a query's or mutation's root field resolves, and a subscription's only
 * when a message is resolved: a subscription is counted here, when it starts, instead.
 */
export function checkSubscriptionComplexity(ctx: object, info: GraphQLResolveInfo): void {
  const document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [info.operation, ...Object.values(info.fragments)] };
  const result = complexityFromQuery(document, { schema: info.schema, ctx, variables: info.variableValues });
  const kind =
    result.depth > QUERY_LIMITS.depth
      ? ComplexityErrorKind.Depth
      : result.breadth > QUERY_LIMITS.breadth
        ? ComplexityErrorKind.Breadth
        : result.complexity > QUERY_LIMITS.complexity
          ? ComplexityErrorKind.Complexity
          : null;
  if (kind) throw tooComplex(kind, result, info);
}
