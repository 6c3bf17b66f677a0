import { defineConfig } from 'vitest/config';

export default defineConfig({
  // npm run test:unprivileged keeps vite's cache in its own copy (node_modules is shared).
  ...(process.env.NSBIND_TEST_CACHE_DIR ? { cacheDir: process.env.NSBIND_TEST_CACHE_DIR } : {}),
  test: {
    include: ['test/**/*.test.ts'],
    // Fails the run when a test leaves a temporary directory behind (test/temp-dirs.ts).
    globalSetup: ['test/temp-dirs.ts'],
    setupFiles: ['test/temp-dirs.ts'],
    // Sandboxes are processes: forks isolate each file's leaks from the others.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
