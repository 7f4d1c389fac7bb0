import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: ['./src/db/schema/write.ts', './src/db/schema/read.ts'],
  out: './drizzle',
  schemaFilter: ['write', 'read'],
});
