// npm run prebuild: prebuilt binaries for linux-x64 and linux-arm64 into prebuilds/.
//
// Each directory holds the addon (prebuildify: N-API, stripped, libc-tagged) and
// nsbind-init, the sandboxes' PID 1 (static and libc-free, so one per architecture).
// arm64 is cross-compiled with Debian's g++-aarch64-linux-gnu; a wanted architecture
// that cannot be built fails the run (NSBIND_PREBUILD_ARCHS chooses them; default both).
// The host architecture is built last, so build/Release stays usable for development.
//
// Prebuilds are produced at release time (and by the packaging test), not committed:
// a fresh clone's `npm install` compiles with node-gyp; a published package carries
// prebuilds/ and needs no compiler.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const host = arch();
const cross = {
  arm64: { prefix: 'aarch64-linux-gnu-' },
  x64: { prefix: 'x86_64-linux-gnu-' },
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const wanted = (process.env.NSBIND_PREBUILD_ARCHS ?? 'x64,arm64').split(',');
const order = wanted.filter((a) => a !== host).concat(wanted.includes(host) ? [host] : []);

for (const a of order) {
  const env = { ...process.env };
  if (a !== host) {
    const p = cross[a]?.prefix;
    if (!p || !has(`${p}g++`)) {
      // Loudly: a package without an architecture's binary would compile on install
      // there (needing g++, make, python3), or fail where they are missing.
      console.error(`prebuild: cannot build linux-${a}: no ${p ?? '?'}g++ cross compiler (apt-get install g++-${a === 'arm64' ? 'aarch64' : 'x86-64'}-linux-gnu), or set NSBIND_PREBUILD_ARCHS to the architectures wanted`);
      process.exit(1);
    }
    Object.assign(env, { CC: `${p}gcc`, CXX: `${p}g++`, LINK: `${p}g++`, AR: `${p}ar`, PREBUILD_STRIP_BIN: `${p}strip` });
  }
  execFileSync(process.execPath, [join(root, 'node_modules/prebuildify/bin.js'), '--napi', '--strip', '--tag-libc', `--arch=${a}`, '--platform=linux'], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  const dir = join(root, 'prebuilds', `linux-${a}`);
  mkdirSync(dir, { recursive: true });
  const init = join(root, 'build', 'Release', 'nsbind-init');
  if (!existsSync(init)) throw new Error(`prebuild: ${init} was not built`);
  copyFileSync(init, join(dir, 'nsbind-init'));
  console.error(`prebuild: linux-${a} done`);
}
