// Child processes of a test (a node script run under `unshare`, or as another uid)
// load the compiled library from dist/. `npm test` builds it first; when a single test
// file is run by hand, build it here if lib/ is newer than dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(__dirname, '..', '..');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Absolute path of dist/<name>.js, built if stale. */
export function distModule(name: string): string {
  const out = join(root, 'dist', `${name}.js`);
  if (!existsSync(out) || newest(join(root, 'lib')) > newest(join(root, 'dist'))) {
    execFileSync('npm', ['run', 'build:ts'], { cwd: root, stdio: 'ignore' });
  }
  return out;
}
