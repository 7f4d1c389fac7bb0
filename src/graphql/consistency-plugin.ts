import { getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ConsistencyResult } from '../read/consistency.ts';
import type { GraphQLContext } from './context.ts';

/**
 * Read-your-writes for queries: waits until the views have applied the position the caller asked
 * for (`X-Consistent-With` or the `consistentWith` extension), with a bound, then reports in
 * `extensions.projection` which position the answer was read at and whether it is stale.
 *
 * The position is taken before the query runs, so the answer reflects at least that much. A query
 * that asked for no position gets the newest position this process knows to be applied, when it
 * is recent (see ProjectionStatus), without a round trip to the database.
 */
export function useProjectionConsistency(): Plugin<GraphQLContext> {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'query') return;
      const ctx = args.contextValue;
      const { projection, consistencyTimeoutMs } = ctx.services;
      const recent = ctx.consistentWith === null ? projection.recent() : null;
      if (recent !== null) return report({ position: recent, stale: false });
      return projection.waitFor(ctx.consistentWith, consistencyTimeoutMs).then(report);
    },
  };
}

type OnExecute = NonNullable<Plugin<GraphQLContext>['onExecute']>;
type OnExecuteResult = Exclude<Awaited<ReturnType<OnExecute>>, void>;

function report(result: ConsistencyResult): OnExecuteResult {
  const projection = { position: result.position.toString(), stale: result.stale };
  return {
    onExecuteDone({ result: executionResult, setResult }) {
      if (!('data' in executionResult)) return;
      setResult({ ...executionResult, extensions: { ...executionResult.extensions, projection } });
    },
  };
}
