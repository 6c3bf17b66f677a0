import { cpus } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Test files that run alone, after the others (their own group, one worker): they race the
// kernel on purpose (the setup-window escape attempts), count on a quiet machine for what
// they measure (the IPC channel's memory bounds), or expect a dead process's cgroup to stay
// until *their* next call reclaims it (any file's limits() call beneath the same parent
// cgroup, which every vitest worker shares, reclaims it first: cgroup/reclaim.ts).
const ALONE = [
  'test/security/escape-spawn.test.ts',
  'test/ipc/bounds.test.ts',
  'test/die-with-parent.test.ts',
  'test/cgroup/limits.test.ts',
  'test/cgroup/cgroup.test.ts',
];

// The longest files start first, so that none is left to run alone at the end (vitest orders
// by the last run's durations when it has them, by file size otherwise: in a fresh clone,
// as in CI, these small files would start last).
const LONGEST = ['test/cli/bwrap.test.ts', 'test/package.test.ts', 'test/bench/smoke.test.ts', 'test/cli/oracle.test.ts'];

class LongestFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? LONGEST.length : i;
    };
    // Stable: within the same group order, the listed files first, the rest as vitest had them.
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => a.f.project.config.sequence.groupOrder - b.f.project.config.sequence.groupOrder || rank(a.f) - rank(b.f) || a.i - b.i)
      .map((x) => x.f);
  }
}

// Sandboxes are processes, and most of a test's time is spent waiting for them (and for
// Node's own start-up in CLI tests): one file per CPU leaves the CPUs idle much of the time
// (vitest's default is CPUs − 1, which is a single worker on a 2-CPU machine).
// NSBIND_TEST_WORKERS overrides.
const workers = Number(process.env.NSBIND_TEST_WORKERS) || Math.max(2, cpus().length + 1);

export default defineConfig({
  // npm run test:unprivileged keeps vite's cache in its own copy (node_modules is shared).
  ...(process.env.NSBIND_TEST_CACHE_DIR ? { cacheDir: process.env.NSBIND_TEST_CACHE_DIR } : {}),
  test: {
    // Fails the run when a test leaves a temporary directory behind (test/helpers/temp-dirs.ts).
    globalSetup: ['test/helpers/temp-dirs.ts'],
    setupFiles: ['test/helpers/temp-dirs.ts'],
    // Sandboxes are processes: forks isolate each file's leaks from the others.
    pool: 'forks',
    testTimeout: 30_000,
    // vitest's --hookTimeout does not reach projects (it is not among the CLI options they
    // take): the VM guest (test/vm/guest.sh) raises it through NSBIND_TEST_HOOK_TIMEOUT.
    hookTimeout: Number(process.env.NSBIND_TEST_HOOK_TIMEOUT) || 30_000,
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: 'nsbind', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: workers, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
