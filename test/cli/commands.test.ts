// nsbind exec / ls / netns / doctor, each against its util-linux or iproute2 oracle
// (nsenter, lsns, ip netns) and the library function it prints.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readlinkSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { libraryHas, nsbind, hasCommand, requires, root } from '../helpers/index.js';

const TYPES = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];
const lib = () => require(join(root, 'dist', 'index.js')) as Record<string, any>;
const skipNote = (name: string, has: boolean) => (has ? '' : ` (skipped: ${name} is not in this build of the library yet)`);

const hasEnter = libraryHas('enter');
const hasList = libraryHas('namespaces');
const hasNetns = libraryHas('netns');
const hasDoctor = libraryHas('doctor');

async function sleeper() {
  const p = sandbox().uts({ hostname: 'execbox' }).pid().mount().net().ipc().spawn('sleep', ['30'], { stdio: 'ignore' });
  await once(p, 'spawn');
  return p;
}

describe('a missing library part', () => {
  it('is a clear NsbindError (exit 125), not a crash', () => {
    const { libraryExport } = require(join(root, 'dist', 'cli', 'feature.js'));
    expect(() => libraryExport('noSuchPart')).toThrow(/^nsbind: noSuchPart\(\) is not available in this build of nsbind$/);
  });
});

describe.skipIf(!hasEnter)(`nsbind exec${skipNote('enter()', hasEnter)}`, () => {
  // nsenter, the oracle, joins a namespace owned by another user namespace only with the
  // privileges root has (an unprivileged user would add -U, which these cases do not test).
  requires('root');
  it('--target PID --all -- hostname prints the sandbox hostname, as nsenter does', async () => {
    const p = await sleeper();
    try {
      const r = nsbind(['exec', '--target', String(p.pid), '--all', '--', 'hostname']);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('execbox\n');
      expect(r.stdout).toBe(execFileSync('nsenter', ['--target', String(p.pid), '--all', 'hostname'], { encoding: 'utf8' }));
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });

  it('-t PID -n enters only the network namespace', async () => {
    const p = await sleeper();
    try {
      const script = `for t in ${TYPES.join(' ')}; do readlink /proc/self/ns/$t; done`;
      const r = nsbind(['exec', '-t', String(p.pid), '-n', '--', 'sh', '-c', script]);
      const theirs = execFileSync('nsenter', ['-t', String(p.pid), '-n', 'sh', '-c', script], { encoding: 'utf8' });
      expect(r.stdout).toBe(theirs);
      expect(r.stdout.split('\n')[5]).toBe(readlinkSync(`/proc/${p.pid}/ns/net`));
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });

  it('--net=FILE joins the namespace a file names; exit status is the program\'s', async () => {
    const p = await sleeper();
    try {
      const r = nsbind(['exec', `--net=/proc/${p.pid}/ns/net`, '--', 'sh', '-c', 'readlink /proc/self/ns/net; exit 4']);
      expect(r.status).toBe(4);
      expect(r.stdout).toBe(`${readlinkSync(`/proc/${p.pid}/ns/net`)}\n`);
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
});

describe.skipIf(!hasList)(`nsbind ls${skipNote('namespaces.list()', hasList)}`, () => {
  it('--json is lsns\'s format and agrees with namespaces.list()', async () => {
    const p = await sleeper();
    try {
      const r = nsbind(['ls', '--json']);
      expect(r.status).toBe(0);
      const ours = JSON.parse(r.stdout).namespaces as Record<string, unknown>[];
      const theirs = JSON.parse(execFileSync('lsns', ['--json'], { encoding: 'utf8' })).namespaces as Record<string, unknown>[];
      expect(Object.keys(ours[0])).toEqual(Object.keys(theirs[0]));
      const listed = (await lib().namespaces.list()) as { type: string; inode: number; nprocs: number }[];
      for (const t of TYPES) {
        const inode = Number(/\d+/.exec(readlinkSync(`/proc/${p.pid}/ns/${t}`))![0]);
        const mine = ours.find((e) => e.ns === inode && e.type === t);
        const fromLib = listed.find((e) => e.inode === inode && e.type === t);
        expect(mine, t).toBeDefined();
        expect(fromLib, t).toBeDefined();
        // The sandbox's own namespaces hold a fixed set of processes (the init and sleep);
        // the host's gain and lose processes between the two calls.
        if (['pid', 'mnt', 'uts', 'net', 'ipc'].includes(t)) expect(mine!.nprocs, t).toBe(fromLib!.nprocs);
        const lsns = theirs.find((e) => e.ns === inode && e.type === t);
        if (lsns) expect(mine!.type).toBe(lsns.type);
      }
    } finally {
      p.kill('SIGKILL');
      await p.exited;
    }
  });

  it('-t net lists only network namespaces; the table has lsns\'s header', () => {
    const j = JSON.parse(nsbind(['ls', '-t', 'net', '--json']).stdout).namespaces as { type: string }[];
    expect(j.length).toBeGreaterThan(0);
    expect(new Set(j.map((e) => e.type))).toEqual(new Set(['net']));
    const table = nsbind(['ls']).stdout.split('\n')[0];
    expect(table.trim().split(/\s+/)).toEqual(['NS', 'TYPE', 'NPROCS', 'PID', 'USER', 'COMMAND']);
  });
});

const hasIp = hasCommand('ip');
describe.skipIf(!hasNetns || !hasIp)(`nsbind netns${skipNote('netns', hasNetns)}${hasIp ? '' : ' (skipped: ip is not installed)'}`, () => {
  const ipList = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]);
  requires('root'); // named namespaces live in /run/netns, root's

  it('add / list / exec / delete round-trip with ip netns', () => {
    const name = `nsbind-cli-${process.pid}`;
    const other = `nsbind-cli-ip-${process.pid}`;
    try {
      expect(nsbind(['netns', 'add', name]).status).toBe(0);
      expect(ipList()).toContain(name);
      execFileSync('ip', ['netns', 'add', other]);
      const listed = nsbind(['netns', 'list']).stdout.split('\n');
      expect(listed).toContain(name);
      expect(listed).toContain(other);
      expect(JSON.parse(nsbind(['netns', 'list', '--json']).stdout)).toEqual(expect.arrayContaining([{ name }, { name: other }]));
      const inside = nsbind(['netns', 'exec', name, '--', 'readlink', '/proc/self/ns/net']);
      expect(inside.stdout).toBe(execFileSync('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }));
      expect(nsbind(['netns', 'exec', other, 'sh', '-c', 'exit 9']).status).toBe(9);
      expect(nsbind(['netns', 'delete', name]).status).toBe(0);
      expect(nsbind(['netns', 'delete', other]).status).toBe(0);
      expect(ipList()).not.toContain(name);
      expect(ipList()).not.toContain(other);
    } finally {
      for (const n of [name, other]) if (existsSync(`/run/netns/${n}`)) execFileSync('ip', ['netns', 'delete', n]);
    }
  });
});

describe.skipIf(!hasDoctor)(`nsbind doctor${skipNote('doctor()', hasDoctor)}`, () => {
  it('--json is the doctor() report of this machine', async () => {
    const r = nsbind(['doctor', '--json']);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.kernel).toContain(release());
    for (const t of TYPES) expect(report.namespaces[t].ok, t).toBe(existsSync(`/proc/self/ns/${t}`));
    expect(JSON.parse(JSON.stringify(await lib().doctor()))).toEqual(report);
  });

  it('prints a readable report by default', () => {
    const r = nsbind(['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toContain(release());
    expect(r.stdout).toMatch(/^ {2}(ok |NO ) userns/m);
  });
});
