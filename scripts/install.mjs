// npm install: load the prebuilt addon for this platform, or build it with node-gyp
// (node-gyp-build does both). node-gyp needs Node's C headers and downloads them unless it
// is told where they are (`nodedir`). Where this Node's own headers are installed beside it
// (Debian's and Fedora's nodejs packages with their -dev headers, the official tarballs,
// nvm), point node-gyp at them: the build then works offline, and for a user who has not
// got the machine owner's npm configuration. An explicit nodedir always wins.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const env = { ...process.env };
if (!env.npm_config_nodedir) {
  const prefix = dirname(dirname(process.execPath)); // /usr for /usr/bin/node
  if (sameVersion(join(prefix, 'include', 'node'))) env.npm_config_nodedir = prefix;
}
const bin = createRequire(import.meta.url).resolve('node-gyp-build/bin.js');
const r = spawnSync(process.execPath, [bin], { stdio: 'inherit', env });
process.exit(r.status ?? 1);

/** Whether `dir` holds the headers of exactly this Node (node_version.h says which). */
function sameVersion(dir) {
  const h = join(dir, 'node_version.h');
  if (!existsSync(h) || !existsSync(join(dir, 'node_api.h'))) return false;
  const text = readFileSync(h, 'utf8');
  const num = (name) => text.match(new RegExp(`#define ${name} (\\d+)`))?.[1];
  const [major, minor, patch] = process.versions.node.split('.');
  return num('NODE_MAJOR_VERSION') === major && num('NODE_MINOR_VERSION') === minor && num('NODE_PATCH_VERSION') === patch;
}
