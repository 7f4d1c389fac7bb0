import { complexityFromQuery } from '@pothos/plugin-complexity';
import { GraphQLError, getOperationAST, Kind, parse, type ASTVisitor, type ExecutionArgs, type ExecutionResult, type OperationDefinitionNode, type ValidationContext } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { MAX_PAGE_SIZE } from '../read/pagination.ts';
import type { GraphQLContext } from './context.ts';

/**
 * What one operation may ask for. Complexity is counted before an operation runs, with its
 * variables (@pothos/plugin-complexity's count): every field costs 1, and what a connection holds
 * counts `first` times, its `pageInfo` included, so nested pages multiply. The feed page of
 * test/operations costs 4,301 at `first: 100`; friends of friends of friends at 100 a page
 * 2,020,202 (a million rows): refused. Introspection fields are not counted; a document may
 * introspect `__schema` once.
 */
export const QUERY_LIMITS = {
  /** Fields counted with their multipliers. */
  complexity: 50_000,
  /** Nested selections. */
  depth: 15,
  /** Fields selected in all. */
  breadth: 500,
  /**
   * Tokens in a document (graphql-js stops parsing beyond). It bounds the work done before the
   * count above can run: validation is quadratic in repeated fields (1,000 tokens of `me { handle }`
   * take about 0.1 s to validate, 4,000 tokens 1.7 s). test/operations/posts.graphql, all seven
   * operations with their fragments, is 418 tokens; GraphiQL's introspection query 184.
   */
  tokens: 1_000,
} as const;

type Measure = 'complexity' | 'depth' | 'breadth';

/** A connection field's cost: its page size (`first`, default 20) multiplies what each item selects. */
export const pageComplexity = (args: { first?: number | null }) => ({
  field: 1,
  multiplier: Math.min(Math.max(args.first ?? 20, 0), MAX_PAGE_SIZE),
});

const WHY: Record<Measure, string> = {
  complexity: 'asks for too much at once: ask for smaller pages or fewer nested lists',
  depth: 'is nested too deeply',
  breadth: 'selects too many fields',
};

/**
 * Operation limits as one Yoga plugin: documents parsed with a token limit (GRAPHQL_PARSE_FAILED
 * beyond), one `__schema` per document (GRAPHQL_VALIDATION_FAILED), and queries, mutations and
 * subscriptions counted before they run: over a limit, one BAD_USER_INPUT error, with
 * `extensions.complexity` { measure, value, limit }, and nothing read.
 */
export function useOperationLimits(): Plugin<GraphQLContext> {
  const refuseOverLimit = ({ args, setResultAndStopExecution }: { args: ExecutionArgs; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
    const error = overLimit(args);
    if (error) setResultAndStopExecution({ errors: [error] });
  };
  return {
    onParse({ setParseFn }) {
      setParseFn((source, options) => parse(source, { ...options, maxTokens: QUERY_LIMITS.tokens }));
    },
    onValidate({ addValidationRule }) {
      addValidationRule(introspectSchemaOnce);
    },
    onExecute: refuseOverLimit,
    onSubscribe: refuseOverLimit,
  };
}

/**
 * Counts per operation and variables, kept while the operation's document is (Yoga keeps the
 * parsed documents of recent queries): most requests repeat a document with the same variables,
 * and counting allocates a little for every selection. (No field's cost depends on the caller.)
 */
const counted = new WeakMap<OperationDefinitionNode, Map<string, Record<Measure, number>>>();
const COUNTS_PER_OPERATION = 100;

function overLimit(args: ExecutionArgs): GraphQLError | null {
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation) return null;
  const variables = (args.variableValues ?? {}) as Record<string, unknown>;
  const key = JSON.stringify(variables);
  let counts = counted.get(operation);
  let result = counts?.get(key);
  if (!result) {
    const fragments = args.document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    try {
      result = complexityFromQuery({ kind: Kind.DOCUMENT, definitions: [operation, ...fragments] }, { schema: args.schema, ctx: args.contextValue as object, variables });
    } catch (error) {
      // Variables that do not fit the operation: execution refuses them with its own message.
      if (error instanceof GraphQLError) return null;
      throw error;
    }
    if (!counts || counts.size >= COUNTS_PER_OPERATION) counted.set(operation, (counts = new Map()));
    counts.set(key, result);
  }
  for (const measure of ['depth', 'breadth', 'complexity'] as const) {
    const limit = QUERY_LIMITS[measure];
    if (result[measure] > limit) {
      return new GraphQLError(`The operation ${WHY[measure]} (${measure} ${result[measure]}, at most ${limit}).`, {
        extensions: { code: 'BAD_USER_INPUT', complexity: { measure, value: result[measure], limit } },
      });
    }
  }
  return null;
}

/** `__schema` at most once per document: its answer is the whole schema, and aliases repeat it. */
function introspectSchemaOnce(context: ValidationContext): ASTVisitor {
  let seen = 0;
  return {
    Field(node) {
      if (node.name.value === '__schema' && ++seen === 2) {
        context.reportError(new GraphQLError('A document may select __schema once.', { nodes: node }));
      }
    },
  };
}
