import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites that need Jupyter and chromium (bash scripts/setup-jupyter.sh) run with `npm run test:notebooks`.
    exclude: ['test/notebooks/**', 'test/kernel/figure.test.ts', 'node_modules/**'],
    // tfjs-node is a native addon: one process per test file keeps backends from colliding.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
