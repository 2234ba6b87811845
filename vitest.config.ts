import { defineConfig } from 'vitest/config';

// Workspace packages are imported from source through the `@wal/source`
// export condition, so `pnpm test` needs no build.
export default defineConfig({
  ssr: {
    resolve: {
      conditions: ['@wal/source', 'module', 'node', 'development|production'],
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    testTimeout: 30_000,
  },
});
