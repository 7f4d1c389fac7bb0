import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError } from 'graphql-yoga';
import { DomainError } from '../errors.ts';

/**
 * The one place domain errors become GraphQL errors: their code goes to `extensions.code`, their
 * details beside it. Anything else is masked by Yoga ("Unexpected error.") and logged by it.
 */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof DomainError) {
    const graphQLError = error instanceof GraphQLError ? error : undefined;
    return new GraphQLError(original.message, {
      ...(graphQLError?.nodes ? { nodes: graphQLError.nodes } : {}),
      ...(graphQLError?.path ? { path: graphQLError.path } : {}),
      extensions: { ...original.details, code: original.code },
    });
  }
  return yogaMaskError(error, message, isDev);
}
