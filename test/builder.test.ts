// The builder without the kernel: immutability, options round trip, and bad input
// refused at once with ERR_NSBIND_INVALID naming the option.
import { describe, expect, it } from 'vitest';
import { NsbindError, sandbox } from '../lib/index.js';
import { invalidOption } from './helpers/index.js';


describe('builder', () => {
  it('is immutable: methods return new sandboxes and never change the base', () => {
    const base = sandbox().user();
    const a = base.net();
    const b = base.uts({ hostname: 'b' });
    expect(base.options.namespaces).toEqual({ user: {} });
    expect(Object.keys(a.options.namespaces!)).toEqual(['user', 'net']);
    expect(b.options.namespaces!.uts).toEqual({ hostname: 'b' });
    expect(Object.isFrozen(base.options)).toBe(true);
    expect(() => {
      (base.options.namespaces as Record<string, unknown>).pid = {};
    }).toThrow();
  });

  it('options are JSON and sandbox(options) rebuilds the same sandbox', () => {
    const sb = sandbox()
      .user({ uid: 1000, gid: 1000 })
      .pid({ init: false })
      .mount({ propagation: 'slave' })
      .uts({ hostname: 'box', domainname: 'example' })
      .net({ loopback: false })
      .time({ monotonic: -5, boottime: 7 })
      .env({ A: '1', HOME: undefined }, { inherit: false })
      .cwd('/tmp')
      .as({ uid: 1000, gid: 1000, groups: [] })
      .dieWithParent(false)
      .newSession(false)
      .umask(0o027);
    const json = JSON.parse(JSON.stringify(sb.options));
    expect(json).toEqual(sb.options);
    expect(sandbox(json).options).toEqual(sb.options);
    expect(json.env).toEqual({ A: '1', HOME: null });
  });

  it('all() adds every supported type, minus except', () => {
    const sb = sandbox().all({ except: ['net', 'mount' as never] });
    expect(Object.keys(sb.options.namespaces!).sort()).toEqual(['cgroup', 'ipc', 'pid', 'time', 'user', 'uts']);
  });

  it.each([
    ['user.uid', () => sandbox().user({ uid: -1 })],
    ['user.gid', () => sandbox().user({ gid: 2 ** 32 })],
    ['user.uidMap', () => sandbox().user({ uidMap: [{ inside: 0, outside: 0, count: 10 }, { inside: 5, outside: 100, count: 1 }] })],
    ['user.uidMap', () => sandbox().user({ uid: 0, uidMap: [{ inside: 0, outside: 0, count: 1 }] })],
    ['user.gidMap[0].count', () => sandbox().user({ gidMap: [{ inside: 0, outside: 0, count: 0 }] })],
    ['user.setgroups', () => sandbox().user({ setgroups: 'maybe' as never })],
    ['user.bogus', () => sandbox().user({ bogus: 1 } as never)],
    ['uts.hostname', () => sandbox().uts({ hostname: 'x'.repeat(65) })],
    ['uts.hostname', () => sandbox().uts({ hostname: 'a\0b' })],
    ['uts.domainname', () => sandbox().uts({ domainname: 42 as never })],
    ['time.monotonic', () => sandbox().time({ monotonic: 1.5 })],
    ['time.boottime', () => sandbox().time({ boottime: Infinity })],
    ['time.monotonic', () => sandbox().time({ monotonic: NaN })],
    ['mount.propagation', () => sandbox().mount({ propagation: 'weird' as never })],
    ['pid.init', () => sandbox().pid({ init: 'yes' as never })],
    ['all.except[0]', () => sandbox().all({ except: ['bogus' as never] })],
    ['cwd', () => sandbox().cwd('relative/dir')],
    ['cwd', () => sandbox().cwd('/a/../b')],
    ['cwd', () => sandbox().cwd('/proc/self/fd/3')],
    ['env.A', () => sandbox().env({ A: 'x\0y' })],
    ['env.A=B', () => sandbox().env({ 'A=B': 'x' })],
    ['as.uid', () => sandbox().as({ uid: 1.5 })],
    ['as.groups[1]', () => sandbox().as({ groups: [1, -2] })],
    ['umask', () => sandbox().umask(0o1000)],
    ['dieWithParent', () => sandbox().dieWithParent('no' as never)],
    ['spawn.file', () => sandbox().spawn('')],
    ['spawn.file', () => sandbox().spawn('a\0b')],
    ['spawn.args[1]', () => sandbox().spawn('true', ['ok', 'bad\0'])],
    ['spawn.timeout', () => sandbox().spawn('true', [], { timeout: -1 })],
    ['spawn.timeout', () => sandbox().spawn('true', [], { timeout: 1.5 })],
    ['spawn.killSignal', () => sandbox().spawn('true', [], { killSignal: 'SIGNOPE' as never })],
    ['spawn.stdio[1]', () => sandbox().spawn('true', [], { stdio: ['pipe', -1 as never, 'pipe'] })],
    ['bogus', () => sandbox({ bogus: 1 } as never)],
    ['namespaces.floppy', () => sandbox({ namespaces: { floppy: {} } as never })],
  ])('refuses bad input for %s', (option, fn) => {
    expect(invalidOption(fn)).toBe(option);
  });

  it('run() rejects (does not throw) for invalid arguments', async () => {
    const p = sandbox().run('', []);
    await expect(p).rejects.toMatchObject({ code: 'ERR_NSBIND_INVALID', option: 'spawn.file' });
  });

  it('an NsbindError message names step, syscall, code and description', async () => {
    const e = await sandbox().run('/nonexistent/program').catch((x) => x);
    expect(e).toBeInstanceOf(NsbindError);
    expect(e.message).toMatch(/^nsbind: execve \/nonexistent\/program: execve: ENOENT \(no such file or directory\)/);
    expect(e).toMatchObject({ code: 'ENOENT', errno: 2, syscall: 'execve', step: 'execve /nonexistent/program' });
    expect(e.hint).toMatch(/not found inside the sandbox/);
  });
});
