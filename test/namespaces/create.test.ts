// Each namespace type alone and all together: the child's /proc/self/ns/<type> differs
// from ours for the requested types and equals ours for the others, and
// SandboxProcess.namespaces reports the same ids. Asserted from inside the child.
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sandbox, type Sandbox } from '../../lib/index.js';
import type { NamespaceType } from '../../lib/options.js';
import { ownNs } from '../helpers/index.js';

const TYPES: NamespaceType[] = ['user', 'pid', 'mnt', 'uts', 'ipc', 'net', 'cgroup', 'time'];
const METHOD: Record<NamespaceType, (sb: Sandbox) => Sandbox> = {
  user: (sb) => sb.user(),
  pid: (sb) => sb.pid(),
  mnt: (sb) => sb.mount(),
  uts: (sb) => sb.uts(),
  ipc: (sb) => sb.ipc(),
  net: (sb) => sb.net(),
  cgroup: (sb) => sb.cgroup(),
  time: (sb) => sb.time(),
};

// The program prints its own namespace links, one "type:[inode]" per line.
const SCRIPT = `for t in ${TYPES.join(' ')}; do readlink /proc/self/ns/$t; done; sleep 0.2`;

function inodeOf(link: string): number {
  return Number(/\[(\d+)\]/.exec(link)![1]);
}

async function childView(sb: Sandbox) {
  const p = sb.spawn('sh', ['-c', SCRIPT]);
  let out = '';
  p.stdout!.on('data', (c) => (out += c));
  const r = await p.exited;
  expect(r).toMatchObject({ code: 0, reason: 'exit' });
  const lines = out.trim().split('\n');
  return { links: Object.fromEntries(TYPES.map((t, i) => [t, lines[i]])) as Record<NamespaceType, string>, proc: p };
}

describe('creating namespaces', () => {
  for (const type of TYPES) {
    it(`${type} alone: only ${type} (and user) differ`, async () => {
      const { links, proc } = await childView(METHOD[type](sandbox()));
      // Every sandbox has a user namespace (SPEC 2.1), root's included; nothing else is implied.
      for (const t of TYPES) {
        if (t === type || t === 'user') expect(links[t], t).not.toBe(ownNs(t));
        else expect(links[t], t).toBe(ownNs(t));
      }
      expect(new Set(proc.isolation)).toEqual(new Set([type, 'user']));
      // The sandbox's top process is in the same namespaces the program reports.
      // (With a pid namespace the top process is nsbind's init, in the same namespaces.)
      expect(proc.namespaces?.[type].inode).toBe(inodeOf(links[type]));
      expect(proc.namespaces?.[type].dev).toBe(statSync(`/proc/self/ns/${type}`).dev);
    });
  }

  it('all eight together', async () => {
    const { links, proc } = await childView(sandbox().all());
    for (const t of TYPES) expect(links[t], t).not.toBe(ownNs(t));
    expect(new Set(proc.isolation)).toEqual(new Set(TYPES));
    for (const t of TYPES) expect(proc.namespaces?.[t].inode, t).toBe(inodeOf(links[t]));
  });

  it('all except net keeps the host network namespace', async () => {
    const { links } = await childView(sandbox().all({ except: ['net'] }));
    expect(links.net).toBe(ownNs('net'));
    expect(links.uts).not.toBe(ownNs('uts'));
  });

  it('no namespace asked for: a user namespace only', async () => {
    const { links, proc } = await childView(sandbox());
    for (const t of TYPES) {
      if (t === 'user') expect(links[t]).not.toBe(ownNs(t));
      else expect(links[t]).toBe(ownNs(t));
    }
    expect(proc.isolation).toEqual(['user']);
  });

  it('.user(false): everything is shared', async () => {
    const { links, proc } = await childView(sandbox().user(false));
    for (const t of TYPES) expect(links[t]).toBe(ownNs(t));
    expect(proc.isolation).toEqual([]);
  });
});
