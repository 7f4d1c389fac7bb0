import SchemaBuilder from '@pothos/core';
import ComplexityPlugin from '@pothos/plugin-complexity';
import type { GraphQLContext } from './context.ts';

/** The schema builder; types live one file each under `types/`, and `schema.ts` assembles them. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
}>({
  defaultFieldNullability: false,
  plugins: [ComplexityPlugin],
  complexity: {
    defaultComplexity: 1,
    // A list's size is counted where it is chosen: on a connection field, by its `first`
    // (pageComplexity), so `edges` and `nodes` count once.
    defaultListMultiplier: 1,
    // The plugin would count at each root field; useOperationLimits (limits.ts) counts once per
    // operation, before it runs, subscriptions included.
    disabled: true,
  },
});
