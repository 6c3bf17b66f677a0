// The published package: prebuilt binaries for x64 and arm64, installable and usable
// from ESM and CommonJS on a machine without a compiler, make or python.
// Everything happens in temporary copies: the checkout's own build is never touched.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCommand, inCI, root } from './helpers/index.js';

const hasCross = hasCommand('aarch64-linux-gnu-g++');
let work: string;
let tarball: string;
let packList: string[];

function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'nsbind-pack-'));
  const src = join(work, 'src');
  mkdirSync(src);
  for (const f of ['package.json', 'binding.gyp', 'native', 'lib', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'docs', 'bench']) {
    cpSync(join(root, f), join(src, f), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(src, 'node_modules'));
  if (hasCross) {
    // As a release does it: `npm pack` runs prepack (dist afresh, both prebuilds).
    const out = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work], src).replace(/^[^[]*/, ''));
    tarball = join(work, out[0].filename);
  } else {
    sh('npm', ['run', 'build:ts'], src);
    sh(process.execPath, ['scripts/prebuild.mjs'], src, { ...process.env, NSBIND_PREBUILD_ARCHS: 'x64' });
    const out = JSON.parse(sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], src));
    tarball = join(work, out[0].filename);
  }
  packList = sh('tar', ['tzf', tarball], work).split('\n').filter(Boolean).map((p) => p.replace(/^package\//, ''));
}, 900_000); // two native builds (x64, and arm64 cross-compiled) on a 2-core machine

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('packaging', () => {
  it('the tarball carries prebuilds, dist and types, and no tests, benches or build leftovers', () => {
    expect(packList).toContain('prebuilds/linux-x64/nsbind.glibc.node');
    expect(packList).toContain('prebuilds/linux-x64/nsbind-init');
    expect(packList).toContain('dist/index.js');
    expect(packList).toContain('dist/index.mjs');
    expect(packList).toContain('dist/index.d.ts');
    expect(packList).toContain('dist/index.d.mts');
    expect(packList).toContain('dist/syscalls.d.ts');
    // bench/README.md is the one file of bench/ the package ships: the README links to it.
    expect(packList.filter((p) => (/^(test|bench|build)\//.test(p) && p !== 'bench/README.md') || /\.o$|\.tgz$/.test(p))).toEqual([]);
  });

  it('ships a LICENSE, no source maps, and every file the README links to', () => {
    expect(packList).toContain('LICENSE');
    expect(packList.filter((p) => p.endsWith('.map'))).toEqual([]);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !packList.includes(l.replace(/^\.\//, '')))).toEqual([]);
  });

  it('prebuild fails loudly when a wanted architecture cannot be built', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'prebuild.mjs')], {
      cwd: work,
      encoding: 'utf8',
      env: { PATH: '/nonexistent', NSBIND_PREBUILD_ARCHS: process.arch === 'arm64' ? 'x64' : 'arm64' },
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/cannot build linux-(arm64|x64): no .*g\+\+ cross compiler/);
  });

  it.skipIf(!hasCross && !inCI)(`the arm64 addon is an aarch64 ELF exporting the N-API init symbol${hasCross ? '' : ' (skipped: no aarch64-linux-gnu-g++)'}`, () => {
    expect(packList).toContain('prebuilds/linux-arm64/nsbind.glibc.node');
    const dir = mkdtempSync(join(work, 'x-'));
    sh('tar', ['xzf', tarball, '-C', dir], dir);
    for (const f of ['nsbind.glibc.node', 'nsbind-init']) {
      const elf = readFileSync(join(dir, 'package/prebuilds/linux-arm64', f));
      expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
      expect(elf.readUInt16LE(18)).toBe(183); // e_machine: EM_AARCH64
    }
    const syms = sh('readelf', ['--dyn-syms', '-W', join(dir, 'package/prebuilds/linux-arm64/nsbind.glibc.node')], dir);
    expect(syms).toMatch(/FUNC\s+GLOBAL\s+DEFAULT\s+\d+\s+napi_register_module_v1/);
  });

  it('installs into an empty project with no compiler, make or python, and runs from ESM and CommonJS', () => {
    const app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    // A PATH with node, npm and sh only.
    const bin = join(work, 'bin');
    mkdirSync(bin);
    for (const [name, target] of [['node', process.execPath], ['sh', '/bin/sh']] as const) symlinkSync(target, join(bin, name));
    const npmCli = join(execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim(), 'npm', 'bin', 'npm-cli.js');
    writeFileSync(join(bin, 'npm'), `#!/bin/sh\nexec ${process.execPath} ${npmCli} "$@"\n`, { mode: 0o755 });
    const env = { HOME: process.env.HOME ?? '/root', PATH: bin, npm_config_nodedir: '', npm_config_prefer_offline: 'true' };
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      expect(spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env }).status, tool).not.toBe(0);
    }
    sh(join(bin, 'npm'), ['install', '--no-audit', '--no-fund', tarball], app, env);
    expect(existsSync(join(app, 'node_modules/nsbind/build'))).toBe(false); // nothing compiled
    const run = "sandbox().user().pid().uts({ hostname: 'packed' }).run('/bin/sh', ['-c', 'read h < /proc/sys/kernel/hostname; echo $h; echo $$'])";
    writeFileSync(join(app, 'esm.mjs'), `import { sandbox } from 'nsbind';\nconst r = await ${run};\nprocess.stdout.write(r.stdout);\n`);
    writeFileSync(join(app, 'cjs.cjs'), `const { sandbox } = require('nsbind');\n${run}.then((r) => process.stdout.write(r.stdout));\n`);
    expect(sh(process.execPath, ['esm.mjs'], app, env)).toBe('packed\n2\n');
    expect(sh(process.execPath, ['cjs.cjs'], app, env)).toBe('packed\n2\n');
    const syscalls = sh(process.execPath, ['-e', "console.log(typeof require('nsbind/syscalls').unshare)"], app, env);
    expect(syscalls.trim()).toBe('function');
    expect(readdirSync(join(app, 'node_modules/nsbind/prebuilds'))).toContain('linux-x64');
  });

  // vitest inlines a package it reaches through a symlink (a path install, `npm link`, a
  // workspace) and transforms it itself; the ESM entry must survive that in every pool.
  describe('a vitest test in the user project sees every export', () => {
    const pools = ['threads', 'forks', 'vmThreads'];
    const npmEnv = () => ({ ...cleanEnv(), npm_config_prefer_offline: 'true', npm_config_prefix: join(work, 'global') });
    function project(name: string): string {
      const app = join(work, name);
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }));
      return app;
    }
    function runVitest(app: string): Record<string, string> {
      // vitest itself comes from the checkout: the user's own copy, not what is tested.
      symlinkSync(join(root, 'node_modules', 'vitest'), join(app, 'node_modules', 'vitest'));
      mkdirSync(join(app, 'test'));
      writeFileSync(
        join(app, 'test', 'iso.test.ts'),
        [
          "import { sandbox, NsbindError, doctor } from 'nsbind';",
          "import * as sys from 'nsbind/syscalls';",
          "import { isolated, lab, unavailable } from 'nsbind/vitest';",
          "import { expect, test } from 'vitest';",
          "test('isolated', async () => {",
          "  expect([typeof sandbox, typeof NsbindError, typeof doctor, typeof sys.unshare, typeof isolated, typeof unavailable, typeof lab]).toEqual(Array(7).fill('function'));",
          "  const r = await sandbox().user().uts({ hostname: 'pool' }).run('/bin/sh', ['-c', 'cat /proc/sys/kernel/hostname']);",
          "  expect(r.stdout).toBe('pool\\n');",
          '});',
          // The lab's hub is a module of the installed package, forked into a sandbox.
          "test('lab', async () => {",
          "  const net = await lab({ nodes: ['one', 'two'] });",
          "  try {",
          "    const r = await net.node('two').sandbox.run('/bin/sh', ['-c', 'cat /proc/sys/kernel/hostname; grep -c eth0 /proc/net/dev']);",
          "    expect(r.stdout).toBe('two\\n1\\n');",
          "  } finally {",
          "    await net.close();",
          "  }",
          '});',
          '',
        ].join('\n'),
      );
      const out: Record<string, string> = {};
      for (const pool of pools) {
        const r = spawnSync(process.execPath, [join(app, 'node_modules', 'vitest', 'vitest.mjs'), 'run', `--pool=${pool}`], {
          cwd: app,
          env: cleanEnv(),
          encoding: 'utf8',
          timeout: 120_000,
        });
        out[pool] = r.status === 0 ? 'passed' : `status ${r.status}: ${r.stdout}${r.stderr}`;
      }
      return out;
    }
    const allPassed = Object.fromEntries(pools.map((p) => [p, 'passed']));

    it('installed by path (a symlink into the package directory)', () => {
      const app = project('by-path');
      sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', join(work, 'src')], app, npmEnv());
      expect(readlinkSync(join(app, 'node_modules', 'nsbind'))).toBeTruthy();
      expect(runVitest(app)).toEqual(allPassed);
    }, 300_000);

    it('installed with npm link', () => {
      const app = project('by-link');
      sh('npm', ['link', '--no-audit', '--no-fund', '--ignore-scripts'], join(work, 'src'), npmEnv());
      sh('npm', ['link', '--no-audit', '--no-fund', '--ignore-scripts', 'nsbind'], app, npmEnv());
      expect(readlinkSync(join(app, 'node_modules', 'nsbind'))).toBeTruthy();
      expect(runVitest(app)).toEqual(allPassed);
    }, 300_000);

    it('installed from the tarball', () => {
      const app = project('by-tarball');
      sh('npm', ['install', '--no-audit', '--no-fund', tarball], app, npmEnv());
      expect(runVitest(app)).toEqual(allPassed);
    }, 300_000);
  });
});

/** This process's environment without vitest's own variables (a nested vitest would read them). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(VITEST|VITE_|TEST$|NODE_ENV$|NODE_OPTIONS$)/.test(k)) env[k] = v;
  }
  return env;
}
