// npm pack / npm publish: a package that installs without a compiler. Builds dist/ afresh
// (no leftovers of older builds, no source maps pointing at .ts files the package does
// not ship) and the linux-x64 and linux-arm64 prebuilds; any failure stops the pack.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
run('npm', ['run', 'build:ts']);
run(process.execPath, [join(root, 'scripts', 'prebuild.mjs')]);
