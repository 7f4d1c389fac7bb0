import { lexicographicSortSchema, printSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/scalars.ts';
import './types/receipt.ts';
import './types/user.ts';
import './types/connection.ts';
import './types/post.ts';
import './types/friend-request.ts';
import './types/session.ts';
import './queries.ts';
import './mutations.ts';
import './subscriptions.ts';

export const schema = builder.toSchema();

/** The SDL committed as `schema.graphql`: sorted, so a diff shows only real changes. */
export const printSchemaSDL = () => `${printSchema(lexicographicSortSchema(schema))}\n`;
