import { defineConfig } from 'vitest/config';

/** Tests of the notebook toolchain: a real Jupyter (nbconvert + tslab kernel) and headless chromium (figures, reports). */
export default defineConfig({
  test: {
    include: ['test/notebooks/**/*.test.ts', 'test/kernel/figure.test.ts'],
    pool: 'forks',
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
