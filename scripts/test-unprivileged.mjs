// npm run test:unprivileged: the test suite as an unprivileged user (uid/gid 65534), the
// way most users run it. Needs root to switch users: the checkout is copied to a
// directory of that user's (tests write beside themselves), the packages in node_modules
// are shared read-only, and the copy is removed afterwards. Extra arguments go to vitest.
import { spawnSync } from 'node:child_process';
import { chownSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const UID = 65534;
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = ['run', ...process.argv.slice(2)];

if (process.geteuid() !== 0) {
  // Already unprivileged: nothing to switch, run in place.
  process.exit(spawnSync(process.execPath, [vitest, ...args], { cwd: root, stdio: 'inherit' }).status ?? 1);
}

// dist/ as `npm test` builds it first: tests load it in child processes, and a copy whose
// dist/ is older than lib/ would rebuild it inside a test (test/helpers/index.ts).
const build = spawnSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const work = mkdtempSync(join(tmpdir(), 'nsbind-unprivileged-'));
let status = 1;
try {
  for (const f of readdirSync(root)) {
    if (f === 'node_modules' || f === '.git' || f === 'prebuilds') continue;
    // Timestamps kept: tests rebuild dist/ when lib/ looks newer (test/helpers/index.ts),
    // and a copy made in readdir order would always look so (a tsc run inside a test).
    cpSync(join(root, f), join(work, f), { recursive: true, preserveTimestamps: true });
  }
  chownTree(work);
  // node_modules: the user's own directory (vite writes its temporary config bundle
  // there) of links to the shared packages, which stay root's and read-only.
  mkdirSync(join(work, 'node_modules'));
  for (const f of readdirSync(join(root, 'node_modules'))) {
    if (!f.startsWith('.vite')) symlinkSync(join(root, 'node_modules', f), join(work, 'node_modules', f));
  }
  chownSync(join(work, 'node_modules'), UID, UID);
  const r = spawnSync(process.execPath, [vitest, ...args], {
    cwd: work,
    uid: UID,
    gid: UID,
    stdio: 'inherit',
    // vitest's cache would go under the shared node_modules: keep it in the copy.
    // npm's cache too (`npm run` exports root's as npm_config_cache): the user's own.
    env: { ...process.env, PATH: searchablePath(), HOME: work, NSBIND_TEST_CACHE_DIR: join(work, '.cache'), npm_config_cache: join(work, '.npm') },
  });
  status = r.status ?? 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(status);

// The PATH such a user would have: root's own directories (/root/...) left out, since
// execvp reports EACCES for a PATH entry it may not search, as it should.
function searchablePath() {
  const searchable = (d) => {
    for (let p = d; p !== '/'; p = dirname(p)) {
      try {
        if ((statSync(p).mode & 0o001) === 0) return false;
      } catch {
        return false;
      }
    }
    return true;
  };
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').filter((d) => d.startsWith('/') && searchable(d)).join(':');
}

function chownTree(p) {
  chownSync(p, UID, UID);
  if (lstatSync(p).isDirectory()) for (const f of readdirSync(p)) chownTree(join(p, f));
}
