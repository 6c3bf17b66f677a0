// The escape suite, identity part (SPEC 2.1, issue 14 items 3 and 4): a program is never
// host root unless asked, and every sandbox has a user namespace. Each attack must fail
// with nsbind's defaults and is shown working when the protection is off: for a root
// creator with an explicit map to host 0 (`.user({ uidMap: [{ inside: 0, outside: 0 }] })`),
// for an unprivileged creator with `.user(false)`.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import { sandbox, type Sandbox } from '../../lib/index.js';
import { hasCommand, isRoot, root, runAsNobody, escapeProbe } from '../helpers/index.js';

const haveCc = hasCommand('cc');
const HOST0 = { uidMap: [{ inside: 0, outside: 0, count: 1 }], gidMap: [{ inside: 0, outside: 0, count: 1 }] };

let dir = '';
let probe = '';

escapeProbe('nsbind-identity-', (d, p) => {
  dir = d;
  probe = p;
});

/**
 * Why the filesystem holding `path` cannot be idmapped here, or '' when it can (root only).
 * Where it cannot (tmpfs before Linux 6.3, for one), a writable bind stays a plain one by
 * design (README, "Writable binds stay writable").
 */
function idmapUnsupported(path: string): string {
  const b = native();
  const fd = b.openTree(path);
  if (fd < 0) return `open_tree ${path}: errno ${-fd}`;
  try {
    const r = b.idmapTree(fd, 0, 65534, 0, 65534);
    return r === -22 ? `this kernel cannot idmap the filesystem of ${path} (tmpfs needs Linux 6.3): binds there stay plain, as documented` : '';
  } finally {
    b.close(fd);
  }
}

/** /proc/PID/status of a sandboxed `sleep`, read from the host (the ids the kernel sees). */
async function hostStatus(sb: Sandbox): Promise<string> {
  const p = sb.spawn('sleep', ['30']);
  try {
    await once(p, 'spawn');
    return readFileSync(`/proc/${p.pid}/status`, 'utf8');
  } finally {
    p.kill('SIGKILL');
    await p.exited.catch(() => {});
  }
}

async function attack(sb: Sandbox, ...args: string[]): Promise<string> {
  const r = await sb.run(probe, args, { stdio: 'pipe' });
  expect(r.stderr).toBe('');
  return r.stdout.trim();
}

/** The addon the Node process has loaded. */
function addonPath(): string {
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n');
  const line = maps.find((l) => l.endsWith('.node') && l.includes(root));
  if (!line) throw new Error('the addon is not mapped');
  return line.slice(line.indexOf('/'));
}

describe.runIf(isRoot && haveCc)(`a root creator: the program is never host root unless asked${isRoot ? (haveCc ? '' : ' (skipped: no C compiler cc to build the probe)') : ' (skipped: needs root; the unprivileged creator is the next block)'}`, () => {
  it('cannot write a root-owned 0644 file (and can with an explicit map to host 0)', async () => {
    const file = join(dir, 'owned-by-root');
    writeFileSync(file, 'x');
    chmodSync(file, 0o644);
    expect(await attack(sandbox(), 'open-write', file)).toBe('errno 13');
    expect(await attack(sandbox().all(), 'open-write', file)).toBe('errno 13');
    expect(await attack(sandbox().user(), 'open-write', file)).toBe('errno 13');
    expect(await attack(sandbox().user(HOST0), 'open-write', file)).toBe('ok');
    expect(await attack(sandbox().user(false), 'open-write', file)).toBe('ok');
  });

  it("cannot open nsbind's addon for writing", async () => {
    const addon = addonPath();
    expect(statSync(addon).uid).toBe(0);
    expect(await attack(sandbox(), 'open-write', addon)).toBe('errno 13');
    expect(await attack(sandbox().user(HOST0), 'open-write', addon)).toBe('ok');
  });

  it('cannot write /proc/sys/kernel/hostname', async () => {
    // Opening is the attack; nothing is written (the host's hostname is never touched).
    expect(await attack(sandbox(), 'open-write', '/proc/sys/kernel/hostname')).toBe('errno 13');
    expect(await attack(sandbox().user(HOST0), 'open-write', '/proc/sys/kernel/hostname')).toBe('ok');
  });

  it('cannot move itself out of its limited cgroup', async () => {
    // The target: with cgroup v1 (pids), the sandbox cgroup's parent; with v2, a new
    // sibling (a v2 parent with controllers on holds no process). Never the root: the
    // script gives up if it cannot find its own cgroup.
    const escape = async (sb: Sandbox) => {
      const r = await sb.limits({ pids: 8 }).run('sh', ['-c', [
        'line=$(grep -E "^[0-9]+:pids:" /proc/self/cgroup)',
        'own=${line#*:pids:}',
        'if [ -n "$line" ] && [ "$own" != / ]; then base=/sys/fs/cgroup/pids; v=1',
        'else base=/sys/fs/cgroup; v=2; own=$(sed -n "s/^0:://p" /proc/self/cgroup); fi',
        '[ "$own" = / ] && { echo nocgroup; exit 0; }',
        'if [ $v = 1 ]; then target="$(dirname "$own")"; else target="$(dirname "$own")/escape-$$"; mkdir "$base$target" 2>/dev/null; fi',
        'echo "$v $base$target"',
        'if echo $$ > "$base$target/cgroup.procs" 2>/dev/null; then echo moved; else echo refused; fi',
        'line=$(grep -E "^[0-9]+:pids:" /proc/self/cgroup)',
        'if [ $v = 1 ]; then echo "${line#*:pids:}"; else sed -n "s/^0:://p" /proc/self/cgroup; fi',
        'echo "$target"',
      ].join('\n')], { stdio: 'pipe' });
      const [where, verdict, now, target] = r.stdout.trim().split('\n');
      const [v, path] = where.split(' ');
      // A v2 sibling goes once the program has exited (as root, here).
      for (let i = 0; v === '2' && path && i < 50; i++) {
        try {
          rmdirSync(path);
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
      return { verdict, moved: now === target };
    };
    expect(await escape(sandbox())).toEqual({ verdict: 'refused', moved: false });
    expect(await escape(sandbox().user(HOST0))).toEqual({ verdict: 'moved', moved: true });
  });

  it('a uidMap without .as() leaves the program with the mapped host ids, seen from outside', async () => {
    const range = [{ inside: 0, outside: 200000, count: 65536 }];
    const status = await hostStatus(sandbox().user({ uidMap: range, gidMap: range }));
    expect(status).toMatch(/^Uid:\t200000\t200000\t200000\t200000$/m);
    expect(status).toMatch(/^Gid:\t200000\t200000\t200000\t200000$/m);
    expect(status).toMatch(/^Groups:\s*$/m);
  });

  it('the default map: inside-root is host 65534 (no range for root in /etc/subuid here) or the subuid range', async () => {
    const p = sandbox().spawn('sleep', ['30']);
    try {
      await once(p, 'spawn');
      const status = readFileSync(`/proc/${p.pid}/status`, 'utf8');
      const uid = Number(/^Uid:\t(\d+)/m.exec(status)![1]);
      expect(uid).not.toBe(0);
      expect(readFileSync(`/proc/${p.pid}/uid_map`, 'utf8').trim().split(/\s+/)[0]).toBe('0');
    } finally {
      p.kill('SIGKILL');
      await p.exited.catch(() => {});
    }
    expect((await sandbox().run('id', ['-u'])).stdout).toBe('0\n');
    expect((await sandbox().as({ uid: 1000, gid: 1000 }).run('sh', ['-c', 'id -u; id -g; id -G'])).stdout).toBe('1000\n1000\n1000\n');
  });

  it('.as({ uid: 1000 }) runs as host uid 1000, as it reads', async () => {
    const status = await hostStatus(sandbox().as({ uid: 1000, gid: 1000, groups: [1001] }));
    expect(status).toMatch(/^Uid:\t1000\t1000\t1000\t1000$/m);
    expect(status).toMatch(/^Gid:\t1000\t1000\t1000\t1000$/m);
    expect(status).toMatch(/^Groups:\t1001 *$/m);
  });

  it('keeps its capabilities inside when asked, and has none by default', async () => {
    const caps = async (sb: Sandbox) => /^CapEff:\t(\w+)$/m.exec((await sb.run('cat', ['/proc/self/status'])).stdout)![1];
    expect(await caps(sandbox())).toBe('0000000000000000');
    expect(await caps(sandbox().capabilities('all'))).not.toBe('0000000000000000');
    // ... which are the user namespace's: still not host root's
    const file = join(dir, 'owned-by-root-caps');
    writeFileSync(file, 'x');
    chmodSync(file, 0o600);
    expect(await attack(sandbox().capabilities('all'), 'open-write', file)).toBe('errno 13');
  });

  it('a writable bind stays writable through an idmapped mount; what it creates belongs to the owner', async (ctx) => {
    const why = idmapUnsupported(dir);
    if (why) ctx.skip(why);
    const d = join(dir, 'bind');
    mkdirSync(d);
    const r = await sandbox().bind(d).run('sh', ['-c', `touch ${d}/x && id -u`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0\n');
    expect(statSync(join(d, 'x')).uid).toBe(0);
    // Without the idmap the program writes only what host 65534 may.
    const plain = await sandbox().bind(d, d, { idmap: false }).run('sh', ['-c', `touch ${d}/y`]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Permission denied/);
    // Through a new root too.
    const inRoot = await sandbox().root().roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/lib', '/lib')
      .roBind('/lib64', '/lib64', { optional: true }).bind(d, '/d').run('/usr/bin/sh', ['-c', 'touch /d/z']);
    expect(inRoot.stderr).toBe('');
    expect(statSync(join(d, 'z')).uid).toBe(0);
  });

  it("a writable tree of another owner (0755, not the sandbox map's) is writable as that owner, through .bind() and .files()", async (ctx) => {
    const why = idmapUnsupported(dir);
    if (why) ctx.skip(why);
    // The idmap is the owner's (native/idmap.cc): with the sandbox's own map, host 1000's
    // directory would show an unmapped owner, and the kernel refuses writes to it.
    const d = join(dir, 'owned-by-1000');
    mkdirSync(d);
    chmodSync(d, 0o755);
    chownSync(d, 1000, 1001);
    const other = join(d, 'root-file');
    writeFileSync(other, 'r\n');
    chmodSync(other, 0o666);
    const script = `touch ${d}/b && echo wrote; { echo x >> ${other}; } 2>/dev/null || echo other-owner-ro; stat -c %u:%g ${d}`;
    for (const sb of [sandbox().bind(d), sandbox().files({ write: { allow: [d] } })]) {
      rmSync(join(d, 'b'), { force: true });
      const r = await sb.run('sh', ['-c', script]);
      expect(r.stderr).toBe('');
      // Inside, the tree is the program's own (inside 0); a file of another owner in it is
      // not writable however open its mode: that owner is not mapped on this mount.
      expect(r.stdout).toBe('wrote\nother-owner-ro\n0:0\n');
      expect(statSync(join(d, 'b'))).toMatchObject({ uid: 1000, gid: 1001 });
    }
    // Without the idmap the program writes only what host 65534 may: nothing here.
    const plain = await sandbox().bind(d, d, { idmap: false }).run('sh', ['-c', `touch ${d}/y`]);
    expect(plain.stderr).toMatch(/Permission denied/);
  });
});

describe.runIf(haveCc)('an unprivileged creator: every sandbox has a user namespace', () => {
  // Node (uid 65534) spawns the probe in a sandbox with no namespace asked for; the
  // program's parent is that Node process. Each attack prints its verdict.
  const script = (sb: string) => `
    const probe = ${JSON.stringify('PROBE')};
    const out = {};
    for (const a of ['read-size /proc/PID/environ', 'open-rw /proc/PID/mem', 'vm-readv PID', 'pidfd-getfd PID', 'ptrace PID']) {
      const [cmd, arg] = a.split(' ');
      const r = await nsbind.${sb}.run(probe, [cmd, arg.replace('PID', String(process.pid))], { stdio: 'pipe' });
      out[cmd] = (r.stdout + r.stderr).trim();
    }
    console.log(JSON.stringify(out));`;
  const verdicts = (sb: string) => {
    const r = runAsNobody(script(sb).replace('"PROBE"', JSON.stringify(probe)), 120_000);
    expect(r.stderr).toBe('');
    return JSON.parse(r.stdout) as Record<string, string>;
  };

  it("cannot read Node's environ or memory, process_vm_readv, pidfd_getfd or ptrace it", () => {
    const safe = verdicts('sandbox()');
    expect(safe['read-size']).toBe('errno 13');
    expect(safe['open-rw']).toBe('errno 13');
    expect(safe['vm-readv']).toBe('errno 1');
    expect(safe['pidfd-getfd']).toBe('errno 1');
    expect(safe.ptrace).toBe('errno 1');
  });

  it('the same attacks succeed with .user(false)', () => {
    const unsafe = verdicts('sandbox().user(false)');
    expect(Number(unsafe['read-size'])).toBeGreaterThan(0);
    expect(unsafe['open-rw']).toBe('ok');
    expect(unsafe['vm-readv']).toBe('ok');
    expect(unsafe['pidfd-getfd']).toBe('ok');
    expect(unsafe.ptrace).toBe('ok');
  });

  it("a bare sandbox() says 'user' in its isolation, and runs as root inside", () => {
    const r = runAsNobody(`
      const p = nsbind.sandbox().spawn('sh', ['-c', 'id -u; cat /proc/self/uid_map'], { stdio: 'pipe' });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      await p.exited;
      console.log(JSON.stringify({ isolation: p.isolation, out }));`);
    expect(r.stderr).toBe('');
    const { isolation, out } = JSON.parse(r.stdout) as { isolation: string[]; out: string };
    expect(isolation).toEqual(['user']);
    expect(out.split('\n')[0]).toBe('0');
    expect(out.split('\n')[1].trim().split(/\s+/)).toEqual(['0', '65534', '1']);
  });
});
