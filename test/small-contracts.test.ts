// Small contracts users rely on: the same symlink twice is fine (as in
// bubblewrap >= 0.9), a masked file cannot be written (EROFS, not a silent /dev/null),
// and a root whose /proc or /dev is a symlink is refused. Plus the option names errors
// carry, that the CLI prints a hint once, and setgroups 'allow' honoured or refused.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { namespaces, netns, NsbindError, sandbox } from '../lib/index.js';
import { nsbind, isRoot, runAsNobody } from './helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'nsbind-fsdetails-'));
chmodSync(dir, 0o755); // the unprivileged creator reads it too
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('symlink', () => {
  it('the same link twice is fine; a different target or a file in the way stays EEXIST', async () => {
    const r = await sandbox().tmpfs('/mnt').symlink('/x', '/mnt/l').symlink('/x', '/mnt/l').run('readlink', ['/mnt/l']);
    expect(r.stdout).toBe('/x\n');
    await expect(sandbox().tmpfs('/mnt').symlink('/x', '/mnt/l').symlink('/y', '/mnt/l').run('true')).rejects.toMatchObject({
      code: 'EEXIST',
      step: 'symlink /mnt/l -> /y',
    });
    await expect(sandbox().tmpfs('/mnt').file('/mnt/l', '/x').symlink('/x', '/mnt/l').run('true')).rejects.toMatchObject({ code: 'EEXIST' });
  });
});

describe('mask', () => {
  const secret = join(dir, 'secret');
  writeFileSync(secret, 'host secret\n', { mode: 0o666 });
  const script = `cat ${secret} | wc -c; echo changed > ${secret} 2>/dev/null; echo rc=$?; cat ${secret} | wc -c`;

  it('a masked file reads empty and a write fails with EROFS, as root and unprivileged; the host file is untouched', async () => {
    for (const sb of [sandbox().mask(secret), sandbox().user().mask(secret)]) {
      const r = await sb.run('sh', ['-c', script]);
      expect(r.stdout.split('\n').map((l) => l.trim())).toEqual(['0', 'rc=2', '0', '']);
      const e = await sb.run('sh', ['-c', `echo x > ${secret}`]);
      expect(e.stderr).toMatch(/Read-only file system/);
    }
    const nobody = runAsNobody(`const r = await nsbind.sandbox().user().mask(${JSON.stringify(secret)}).run('sh', ['-c', ${JSON.stringify(`echo x > ${secret}`)}]);\nconsole.log(r.stderr);`);
    expect(nobody.stdout).toMatch(/Read-only file system/);
    expect(readFileSync(secret, 'utf8')).toBe('host secret\n');
  });

  it('what the old mask did, a read-only /dev/null over the file, takes the write silently: the check above can fail', async () => {
    const r = await sandbox().bind('/dev/null', secret, { readonly: true, devices: true }).run('sh', ['-c', `echo changed > ${secret}; echo rc=$?`]);
    expect(r.stdout).toBe('rc=0\n');
    expect(readFileSync(secret, 'utf8')).toBe('host secret\n');
  });
});

describe('root(dir)', () => {
  it('a root whose /proc or /dev is a symlink is refused before anything runs', () => {
    for (const name of ['proc', 'dev']) {
      const rootfs = join(dir, `root-${name}`);
      mkdirSync(rootfs);
      symlinkSync('/tmp', join(rootfs, name));
      let err: unknown;
      try {
        sandbox().root(rootfs);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NsbindError);
      expect(err).toMatchObject({ code: 'ERR_NSBIND_INVALID', option: 'root.dir' });
      expect((err as Error).message).toContain(`${name} is a symlink`);
    }
    const fine = join(dir, 'root-ok');
    mkdirSync(join(fine, 'proc'), { recursive: true });
    expect(() => sandbox().root(fine)).not.toThrow();
  });
});

describe('option names (SPEC 8)', () => {
  it("netns.add.name, netns.delete.name, namespaces.of.pid", async () => {
    await expect(netns.add('a/b')).rejects.toMatchObject({ option: 'netns.add.name' });
    await expect(netns.delete('')).rejects.toMatchObject({ option: 'netns.delete.name' });
    expect(() => namespaces.of(-1)).toThrow(expect.objectContaining({ option: 'namespaces.of.pid' }));
    expect(() => namespaces.of('1' as never)).toThrow(expect.objectContaining({ option: 'namespaces.of.pid' }));
  });

  it('the CLI prints a hint once (the message already holds it)', () => {
    const r = nsbind(['run', '--', '/nonexistent/program']);
    expect(r.stderr.match(/hint:/g)).toHaveLength(1);
  });
});

describe("user({ setgroups: 'allow' })", () => {
  it.skipIf(!isRoot)(`as root: honoured${isRoot ? '' : ' (skipped: needs root)'}`, async () => {
    const r = await sandbox().user({ setgroups: 'allow' }).run('cat', ['/proc/self/setgroups']);
    expect(r.stdout).toBe('allow\n');
  });

  it('unprivileged with only its own gid mapped: a typed error, never a sandbox that says deny', () => {
    const r = runAsNobody(
      "try { await nsbind.sandbox().user({ setgroups: 'allow' }).run('cat', ['/proc/self/setgroups']).then((x) => console.log('ran', x.stdout.trim())); }\ncatch (e) { console.log(e.code, e.option); }",
    );
    // Without newgidmap the error is the missing helper's; with it, setgroups' own.
    expect(r.stdout.trim()).toMatch(/^(ERR_NSBIND_SETGROUPS|ERR_NSBIND_NO_IDMAP_HELPER) user\.setgroups$/);
  });
});
