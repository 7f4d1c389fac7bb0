import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { DomainError } from '../errors.ts';

/**
 * The one place domain errors become GraphQL errors: their code goes to `extensions.code`, their
 * details beside it. Anything else is masked by Yoga ("Unexpected error.") and logged by it.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  // Duck-typed, so that a second copy of graphql (ESM beside CommonJS) cannot break the mapping.
  const graphQLError = isGraphQLError(error) ? error : undefined;
  const original = graphQLError ? graphQLError.originalError : error;
  if (original instanceof DomainError) {
    return new GraphQLError(original.message, {
      ...(graphQLError?.nodes ? { nodes: graphQLError.nodes } : {}),
      ...(graphQLError?.path ? { path: graphQLError.path } : {}),
      extensions: { ...original.details, code: original.code },
    });
  }
  return yogaMaskError(error, message, isDev);
}

function isGraphQLError(error: unknown): error is GraphQLError {
  return error instanceof Error && error.name === 'GraphQLError';
}
