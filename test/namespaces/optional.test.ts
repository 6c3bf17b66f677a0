// `optional: true` (SPEC 2.1): created where the kernel and policy allow, else left out,
// and SandboxProcess.isolation says which. Refusals are made real, not mocked: a user
// namespace of the test's own whose user.max_<type>_namespaces is 0 (those limits are per
// user namespace, so the host is untouched) makes the kernel refuse that type.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { MAIN, hasCommand, isRoot, ownNs, root, runAsNobody } from '../helpers/index.js';

/** Runs a Node script (nsbind as `nsbind`) where the kernel refuses `type` namespaces. */
function whereRefused(type: string, script: string): string {
  const code = `const nsbind = require(${JSON.stringify(join(root, 'dist', 'index.js'))});\n(async () => {\n${script}\n})().catch((e) => { console.log(JSON.stringify({ error: e.code, message: e.message })); });`;
  return execFileSync('unshare', ['--user', '--map-root-user', '--fork', 'sh', '-c',
    `echo 0 > /proc/sys/user/max_${type}_namespaces && exec "${process.execPath}" -e "$0"`, code], { encoding: 'utf8', timeout: 60_000 });
}

const canRefuse = hasCommand('unshare');
const reason = canRefuse ? '' : ' (skipped: needs unshare to make the refusing user namespace)';

describe('optional namespaces', () => {
  it('are created where allowed, and listed in isolation', async () => {
    const p = sandbox().net({ optional: true }).uts({ hostname: 'opt', optional: true }).spawn('sh', ['-c', 'readlink /proc/self/ns/net; hostname']);
    let out = '';
    p.stdout!.on('data', (c) => (out += c));
    await p.exited;
    expect(p.isolation.sort()).toEqual(['net', 'user', 'uts']);
    const [net, host] = out.trim().split('\n');
    expect(net).not.toBe(ownNs('net'));
    expect(host).toBe('opt');
  });

  it('all({ optional: true }) gets every type this kernel allows', async () => {
    const p = sandbox().all({ optional: true }).spawn('true');
    await p.exited;
    expect(new Set(p.isolation)).toEqual(new Set(['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time']));
  });

  it.skipIf(!canRefuse)(`a refused optional net namespace is left out; the rest is applied${reason}`, () => {
    const out = whereRefused('net', `
      const fs = require('fs');
      const sb = nsbind.sandbox().net({ optional: true }).uts({ hostname: 'still' });
      const p = sb.spawn('sh', ['-c', 'readlink /proc/self/ns/net; hostname']);
      let text = ''; p.stdout.on('data', (c) => (text += c));
      const r = await p.exited;
      let required;
      try { await nsbind.sandbox().net().uts().run('true'); required = 'ran'; } catch (e) { required = e.code; }
      console.log(JSON.stringify({ isolation: p.isolation, text, mine: fs.readlinkSync('/proc/self/ns/net'), code: r.code, required }));`);
    const res = JSON.parse(out);
    expect(res.isolation.sort()).toEqual(['user', 'uts']);
    expect(res.code).toBe(0);
    const [net, host] = res.text.trim().split('\n');
    expect(net).toBe(res.mine); // the program stayed in its parent's network namespace
    expect(host).toBe('still');
    expect(res.required).toBe('ENOSPC'); // without optional, the same refusal is an error
  });

  it.skipIf(!canRefuse)(`a refused optional user namespace is left out (uid stays as it was)${reason}`, () => {
    const out = whereRefused('user', `
      const fs = require('fs');
      const r = await nsbind.sandbox().user({ optional: true, uid: 1000 }).ipc().run('sh', ['-c', 'readlink /proc/self/ns/user; readlink /proc/self/ns/ipc; id -u']);
      const p = nsbind.sandbox().user({ optional: true }).ipc().spawn('true'); await p.exited;
      console.log(JSON.stringify({ isolation: p.isolation, out: r.stdout, user: fs.readlinkSync('/proc/self/ns/user'), ipc: fs.readlinkSync('/proc/self/ns/ipc') }));`);
    const res = JSON.parse(out);
    expect(res.isolation).toEqual(['ipc']);
    const [user, ipc, uid] = res.out.trim().split('\n');
    expect(user).toBe(res.user);
    expect(ipc).not.toBe(res.ipc);
    expect(uid).toBe('0');
  });

  it.skipIf(!canRefuse)(`nsbind run --net-try runs without a refused network namespace; --net fails with 125${reason}`, () => {
    const out = whereRefused('net', `
      const { execFileSync } = require('child_process');
      const fs = require('fs');
      const run = (args) => execFileSync(process.execPath, [${JSON.stringify(MAIN)}, 'run', ...args], { encoding: 'utf8' });
      const tried = run(['--net-try', '--uts', '--hostname', 'tried', '--', 'sh', '-c', 'readlink /proc/self/ns/net; hostname']);
      let status = 0;
      try { run(['--net', '--', 'true']); } catch (e) { status = e.status; }
      console.log(JSON.stringify({ tried, mine: fs.readlinkSync('/proc/self/ns/net'), status }));`);
    const res = JSON.parse(out);
    expect(res.tried).toBe(`${res.mine}\ntried\n`);
    expect(res.status).toBe(125);
  });

  it.skipIf(!canRefuse)(`nsbind run --unshare-user-try runs without a refused user namespace${reason}`, () => {
    const out = whereRefused('user', `
      const { execFileSync } = require('child_process');
      const fs = require('fs');
      const tried = execFileSync(process.execPath, [${JSON.stringify(MAIN)}, 'run', '--unshare-user-try', '--unshare-ipc', '--',
        'sh', '-c', 'readlink /proc/self/ns/user; readlink /proc/self/ns/ipc'], { encoding: 'utf8' });
      console.log(JSON.stringify({ tried, user: fs.readlinkSync('/proc/self/ns/user'), ipc: fs.readlinkSync('/proc/self/ns/ipc') }));`);
    const res = JSON.parse(out);
    const [user, ipc] = res.tried.trim().split('\n');
    expect(user).toBe(res.user);
    expect(ipc).not.toBe(res.ipc);
  });

  it.skipIf(!isRoot)('unprivileged: optional namespaces bring the user namespace they need', () => {
    const r = runAsNobody(`
      const p = nsbind.sandbox().net({ optional: true }).spawn('true'); await p.exited;
      console.log(JSON.stringify(p.isolation.sort()));`);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(['net', 'user']);
  });

  it.skipIf(!canRefuse)(`a type a filesystem step needs is never dropped, even when marked optional${reason}`, () => {
    const out = whereRefused('mnt', `
      const { resolveOptional } = require(${JSON.stringify(join(root, 'dist', 'optional.js'))});
      const alone = { namespaces: { mnt: { optional: true }, uts: {} } };
      const needed = { namespaces: { mnt: { optional: true }, uts: {} }, fs: [{ op: 'tmpfs', dst: '/tmp' }] };
      console.log(JSON.stringify({ alone: resolveOptional(alone), needed: resolveOptional(needed) === needed }));`);
    const res = JSON.parse(out);
    expect(res.alone).toEqual({ namespaces: { uts: {} } });
    expect(res.needed).toBe(true);
  });
});
