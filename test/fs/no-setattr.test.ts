// Filesystem steps on a kernel without mount_setattr (before 5.12; Debian ships none, so
// NSBIND_TEST_KERNEL_RELEASE makes this kernel take that path): binds, masks and read-only
// steps set their mount flags with mount(MS_REMOUNT | MS_BIND) on each mount of the tree
// after attaching it (native/fs_remount.cc), and idmapped binds are not made.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, type NsbindError } from '../../lib/index.js';
import { release } from 'node:os';
import { atLeast, noMountSetattr } from '../../lib/fs/kernel.js';
import { compile } from '../../lib/plan.js';
import { Op } from '../../lib/plan/layout.js';
import { scratch, sh, runNode } from '../helpers/index.js';

const OLD = '5.11.0-49-generic';
const root = process.getuid?.() === 0;

afterEach(() => {
  delete process.env.NSBIND_TEST_KERNEL_RELEASE;
});

/** The op kinds of a compiled sandbox's plan. */
function opKinds(sb: ReturnType<typeof sandbox>): number[] {
  const plan = compile(sb.options, { file: 'true', args: [], env: {}, nfds: 3 });
  const buf = plan.request.plan;
  const out: number[] = [];
  for (let i = 0; i < buf.readUInt32LE(8); i++) out.push(buf.readUInt32LE(16 + i * 48));
  return out;
}

/**
 * A shell function printing "VIS <path> <mount id> <options>" for the mount each path is
 * really on (its descriptor's mnt_id in fdinfo: mountinfo alone lists hidden mounts too).
 */
const VIS = `vis() { for p; do (exec 3<"$p") 2>/dev/null || continue; exec 3<"$p"; id=$(sed -n 's/^mnt_id:[[:space:]]*//p' /proc/self/fdinfo/3); exec 3<&-; echo "VIS $p $id $(grep "^$id " /proc/self/mountinfo | cut -d' ' -f6)"; done; }; `;

function visible(out: string): Map<string, { id: string; opts: string[] }> {
  const m = new Map<string, { id: string; opts: string[] }>();
  for (const l of out.split('\n')) {
    const f = l.split(' ');
    if (f[0] === 'VIS' && f.length === 4) m.set(f[1]!, { id: f[2]!, opts: f[3]!.split(',') });
  }
  return m;
}

describe('the interface by kernel release', () => {
  it('mount_setattr from 5.12; before (and when unknown) the remount path', () => {
    for (const rel of ['5.11.22', '5.4.0-150-generic', '4.18.0-513.el8.x86_64', 'weird']) expect(noMountSetattr(rel)).toBe(true);
    for (const rel of ['5.12.0', '5.14.0-362.el9.x86_64', '6.1.0-57-amd64', '6.18.44-fc-v1272']) expect(noMountSetattr(rel)).toBe(false);
  });

  it('the plan switches the child to mount(2) before the first filesystem op, only on such kernels', () => {
    const sb = sandbox().roBind('/usr').tmpfs('/tmp');
    process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
    const old = opKinds(sb).filter((k) => k >= 16 && k <= 39 && k !== Op.DIE_WITH_PARENT);
    expect(old[0]).toBe(Op.FS_NO_SETATTR);
    expect(old.filter((k) => k === Op.FS_NO_SETATTR)).toHaveLength(1);
    process.env.NSBIND_TEST_KERNEL_RELEASE = '6.1.0-57-amd64';
    expect(opKinds(sb)).not.toContain(Op.FS_NO_SETATTR);
    // No filesystem step, no switch.
    process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
    expect(opKinds(sandbox())).not.toContain(Op.FS_NO_SETATTR);
  });
});

// /dev has submounts everywhere nsbind runs (/dev/pts, /dev/shm, often /dev/mqueue), with
// nosuid/noexec flags of their own: a recursive read-only bind of it covers each one.
const script = `${VIS} vis /mnt /mnt/shm /mnt/pts /mnt/mqueue /etc/hostname; touch /mnt/shm/nsbind-x 2>/dev/null && echo WROTE; (echo > /etc/hostname) 2>/dev/null && echo WROTE2; echo "SIZE $(wc -c < /etc/hostname)"`;

function checkReadOnlyTree(out: string, masked = true): void {
  expect(out).not.toContain('WROTE');
  const v = visible(out);
  const mnt = v.get('/mnt')!;
  const subs = ['/mnt/shm', '/mnt/pts', '/mnt/mqueue'].filter((p) => v.has(p) && v.get(p)!.id !== mnt.id);
  expect(subs.length, out).toBeGreaterThan(0);  // a submount was really covered
  for (const p of ['/mnt', ...subs]) expect(v.get(p)!.opts, p).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev']));
  if (!masked) return;
  // The masked file: an empty file on a read-only mount.
  expect(v.get('/etc/hostname')!.opts).toEqual(expect.arrayContaining(['ro', 'nosuid', 'nodev', 'noexec']));
  expect(out).toContain('SIZE 0');
}

describe.skipIf(!root)('without mount_setattr, as root', () => {
  it('a read-only bind is read-only in every submount, and a mask is a read-only empty file', async () => {
    process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
    checkReadOnlyTree(await sh(sandbox().roBind('/dev', '/mnt').mask('/etc/hostname'), script));
  });

  it('.readonly() covers the submounts of a path', async () => {
    process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
    checkReadOnlyTree(await sh(sandbox().bind('/dev', '/mnt').readonly('/mnt'), script), false);
  });

  describe('idmapped binds need 5.12', () => {
    let dir: string;
    beforeAll(() => {
      dir = scratch();
      mkdirSync(join(dir, 'w'));
      writeFileSync(join(dir, 'w', 'f'), 'x');
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a writable bind is a plain one (as { idmap: false }): no idmapping on its mount', async () => {
      const sb = sandbox().bind(join(dir, 'w'), '/mnt');
      // On this kernel (5.12+) the same bind is idmapped: the check below can fail.
      const script = `${VIS} vis /mnt`;
      const now = visible(await sh(sb, script)).get('/mnt')!;
      process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
      const old = visible(await sh(sb, script)).get('/mnt')!;
      expect(old.opts).not.toContain('idmapped');
      expect(old.opts).toContain('rw');
      // The same bind through mount_setattr is idmapped (tmpfs, a usual /tmp, from 6.3).
      if (atLeast(release(), 6, 3)) expect(now.opts).toContain('idmapped');
    });

    it('{ idmap: true } is refused before anything runs, naming the option', async () => {
      process.env.NSBIND_TEST_KERNEL_RELEASE = OLD;
      const e = (await sandbox().bind(join(dir, 'w'), '/mnt', { idmap: true }).run('/bin/true').catch((x: NsbindError) => x)) as NsbindError;
      expect(e).toMatchObject({ code: 'ENOSYS', option: 'bind.idmap', syscall: 'mount_setattr' });
      expect(e.message).toContain('5.12');
      expect(e.hint).toContain('idmap');
    });
  });
});

describe.skipIf(!root)('without mount_setattr, rootless', () => {
  it('the flags the kernel locked in the user namespace (nosuid, noexec...) are kept, and read-only is added', () => {
    const r = runNode(`
      const sb = nsbind.sandbox().roBind('/dev', '/mnt').mask('/etc/hostname');
      const out = await sb.run('/bin/sh', ['-c', ${JSON.stringify(script)}]);
      console.log(JSON.stringify(out));
    `, { nobody: true, env: { NSBIND_TEST_KERNEL_RELEASE: OLD } });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { code: number; stdout: string; stderr: string };
    expect(out).toMatchObject({ code: 0 });
    checkReadOnlyTree(out.stdout);
  });
});
