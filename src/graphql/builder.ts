import SchemaBuilder from '@pothos/core';
import type { GraphQLContext } from './context.ts';

/** The schema builder; types live one file each under `types/`, and `schema.ts` assembles them. */
export const builder = new SchemaBuilder<{
  Context: GraphQLContext;
  Scalars: { DateTime: { Input: Date; Output: Date | string } };
  DefaultFieldNullability: false;
}>({ defaultFieldNullability: false });
