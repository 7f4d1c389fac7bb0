import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed client documents for the operations in test/operations/, generated from schema.graphql
 * (the committed contract, not the running server: no network, no database).
 *
 *   npm run codegen      rewrites test/generated/ (committed; test/graphql/codegen.test.ts fails when it is stale)
 *
 * Every operation is validated against the schema while generating, so an operation that the
 * schema no longer allows fails here, and a changed result type fails `npm run typecheck`.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/operations/**/*.graphql'],
  // Fail, rather than write an empty folder, when the glob finds nothing.
  ignoreNoDocuments: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: {
        // Plain result types: fragments are spread into the operations' types, not masked.
        fragmentMasking: false,
      },
      config: {
        scalars: { DateTime: 'string' },
        // `import type` for type-only imports (tsconfig has verbatimModuleSyntax).
        useTypeImports: true,
        // String unions instead of TypeScript enums (none today; keeps the output free of runtime code).
        enumsAsTypes: true,
        // Only the schema types that operations use (inputs, enums, scalars), not every object type.
        onlyOperationTypes: true,
      },
    },
  },
  // Relative imports between the generated files end in .js, as NodeNext resolution requires.
  emitLegacyCommonJSImports: false,
};

export default config;
