import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { GraphQLContext } from './context.ts';

/**
 * Read-your-writes for queries: waits until the views have applied the position the caller asked
 * for (`X-Consistent-With` or the `consistentWith` extension), with a bound, then reports in
 * `extensions.projection` which position the answer was read at and whether it is stale.
 */
export function useProjectionConsistency(): Plugin<GraphQLContext> {
  return {
    async onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const ctx = args.contextValue;
      const result = await ctx.services.projection.waitFor(ctx.consistentWith, ctx.services.consistencyTimeoutMs);
      return {
        onExecuteDone({ result: executionResult, setResult }) {
          if (!('data' in executionResult)) return;
          setResult({
            ...executionResult,
            extensions: {
              ...executionResult.extensions,
              projection: { position: result.position.toString(), stale: result.stale },
            },
          });
        },
      };
    },
  };
}
