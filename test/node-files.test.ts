// What fork binds so that node runs where the sandbox hides the host's files: the ELF
// reader against the running process and readelf, the file list against a real chroot
// that holds nothing else, and which paths the filesystem steps hide (pure).
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readElfDeps } from '../lib/elf.js';
import { hiddenPaths, mountPointMissing, outermost, packageDir, preloadFiles, runtimeFiles } from '../lib/node-files.js';
import { hasCommand, isRoot, root } from './helpers/index.js';

describe('readElfDeps', () => {
  it.skipIf(!hasCommand('readelf'))('reads what readelf reads (skipped: readelf not installed)', () => {
    const deps = readElfDeps(process.execPath);
    const program = execFileSync('readelf', ['-lW', process.execPath], { encoding: 'utf8' });
    const dynamic = execFileSync('readelf', ['-dW', process.execPath], { encoding: 'utf8' });
    expect(deps.interpreter).toBe(/Requesting program interpreter: ([^\]]+)\]/.exec(program)?.[1]);
    expect(deps.needed).toEqual([...dynamic.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]));
  });

  it('refuses a file that is not ELF', () => {
    expect(() => readElfDeps(join(root, 'package.json'))).toThrow(/not an ELF/);
  });
});

describe('runtimeFiles', () => {
  it('lists the executable, its interpreter and the libraries this very node has loaded', () => {
    const files = runtimeFiles(process.execPath);
    expect(files[0]).toBe(process.execPath);
    const mapped = new Set(
      readFileSync('/proc/self/maps', 'utf8')
        .split('\n')
        .map((l) => l.slice(l.indexOf('/')))
        .filter((p) => p.startsWith('/')),
    );
    // Every library node loaded at start (as DT_NEEDED says) is among the files, by real path.
    const real = new Set(files.map((f) => realpathSync(f)));
    for (const name of readElfDeps(process.execPath).needed) {
      const loaded = [...mapped].find((p) => p.endsWith(`/${name}`) || realpathSync(p) === realpathSync(files.find((f) => f.endsWith(`/${name}`)) ?? p));
      expect(loaded, name).toBeDefined();
      expect(real.has(realpathSync(loaded!)), name).toBe(true);
    }
  });

  it.skipIf(!isRoot)('are enough for node to run in a root holding nothing else (skipped: chroot needs root)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-noderoot-'));
    try {
      for (const f of runtimeFiles(process.execPath)) {
        mkdirSync(join(dir, dirname(f)), { recursive: true });
        copyFileSync(f, join(dir, f));
      }
      // chroot(8) as the oracle: the host's mounts are not touched.
      const r = spawnSync('chroot', [dir, process.execPath, '-e', 'process.stdout.write(String(6 * 7))'], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('42');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what fork binds', () => {
  const needs = ['/usr/bin/node', '/lib64/ld-linux-x86-64.so.2', '/home/me/proj'];

  it('binds nothing when no step hides anything', () => {
    expect(hiddenPaths([], needs)).toEqual([]);
    expect(hiddenPaths([{ op: 'tmpfs', dst: '/tmp' }, { op: 'readonly', path: '/' }], needs)).toEqual([]);
  });

  it('binds everything after a change of root, except what the caller bound in at the same path', () => {
    expect(hiddenPaths([{ op: 'root' }], needs)).toEqual(needs);
    expect(hiddenPaths([{ op: 'bind', src: '/home/me', dst: '/home/me' }, { op: 'chroot', dir: '/srv/r' }], needs)).toEqual(needs.slice(0, 2));
    // A bind from elsewhere onto the path does not show the host's files.
    expect(hiddenPaths([{ op: 'root' }, { op: 'bind', src: '/opt/x', dst: '/usr' }], needs)).toEqual(needs);
  });

  it('binds what a tmpfs, mask or foreign bind covers, unless a later bind shows it again', () => {
    expect(hiddenPaths([{ op: 'tmpfs', dst: '/home' }], needs)).toEqual(['/home/me/proj']);
    expect(hiddenPaths([{ op: 'mask', path: '/usr/bin/node' }], needs)).toEqual(['/usr/bin/node']);
    expect(hiddenPaths([{ op: 'bind', src: '/empty', dst: '/lib64' }], needs)).toEqual(['/lib64/ld-linux-x86-64.so.2']);
    expect(hiddenPaths([{ op: 'tmpfs', dst: '/home' }, { op: 'bind', src: '/home/me', dst: '/home/me', readonly: true }], needs)).toEqual([]);
    // A prefix of the name is not a parent directory.
    expect(hiddenPaths([{ op: 'tmpfs', dst: '/home/m' }], needs)).toEqual([]);
  });

  it('says when a mount point cannot exist in the new root', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsbind-root-'));
    try {
      mkdirSync(join(dir, 'usr/bin'), { recursive: true });
      expect(mountPointMissing([{ op: 'root', dir }], '/usr/bin')).toBe(false);
      expect(mountPointMissing([{ op: 'root', dir }], '/usr/bin/node')).toBe(true);
      expect(mountPointMissing([{ op: 'root', dir }, { op: 'tmpfs', dst: '/usr' }], '/usr/bin/node')).toBe(false);
      expect(mountPointMissing([{ op: 'root' }], '/usr/bin/node')).toBe(false); // a fresh tmpfs root
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('binds the module\'s package directory and preloaded files, once each', () => {
    expect(packageDir(join(root, 'test', 'fixtures', 'fork-child.cjs'))).toBe(root);
    expect(preloadFiles(['--require', './test/fixtures/fork-preload.cjs', '--import=node:fs', '--conditions', 'x'], root)).toEqual([
      join(root, 'test/fixtures/fork-preload.cjs'),
    ]);
    // A bare specifier resolves from the caller's cwd, as node resolves it.
    expect(preloadFiles(['-r', 'typescript'], root)).toEqual([require.resolve('typescript', { paths: [root] })]);
    expect(outermost([root, join(root, 'test'), root, '/usr/bin/node'])).toEqual([root, '/usr/bin/node']);
  });
});
