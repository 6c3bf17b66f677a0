// The bench's same-work floor (bench/same-work.cc) must do what nsbind does for
// `sandbox().all()`, or the bench compares nsbind with a floor that does other work. The
// same probe script runs under nsbind and under the floor; what each program sees (its
// namespaces, credentials, capabilities, no_new_privs, seccomp, NOFILE, cwd, session)
// must match.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { sandbox } from '../lib/index.js';
import { hasCommand, isRoot, root } from './helpers.js';

/** bench/same-work.mjs, which is plain JavaScript (the bench runs without a build step). */
interface SameWorkModule {
  buildSameWork(bin: string): void;
  sameWorkArgs(planFile: string): { args?: string[]; ops?: string[]; problem?: string };
}

const PROBE = [
  "grep -E '^(NSpid|Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status",
  'for t in user pid mnt uts ipc net cgroup time; do echo "ns $t $(readlink /proc/self/ns/$t)"; done',
  'echo "nofile $(ulimit -Sn) $(ulimit -Hn)"',
  'echo "cwd $PWD"',
  // the shell reads its own stat (a builtin): session leader and parent, in host pids
  'read -r _ _ _ ppid _ sid _ < /proc/self/stat; echo "session $sid parent $ppid"',
].join('; ');

/** The probe's output with what differs between any two sandboxes taken out. */
function normalise(out: string): string[] {
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const ns = /^ns (\w+) (\w+:\[\d+\])$/.exec(line);
      if (ns) return `ns ${ns[1]} ${ns[2] === readlinkSync(`/proc/self/ns/${ns[1]}`) ? 'the host\'s' : 'new'}`;
      if (line.startsWith('NSpid:')) return `NSpid in the sandbox: ${line.split(/\s+/).at(-1)}`;
      const s = /^session (\d+) parent (\d+)$/.exec(line);
      if (s) return s[1] === s[2] ? 'session led by the parent' : 'session of another process';
      return line.replace(/\s+/g, ' ');
    });
}

const haveCxx = hasCommand('c++');
const dir = haveCxx ? mkdtempSync(join(tmpdir(), 'nsbind-same-work-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!haveCxx || !isRoot)(
  `bench/same-work.cc${haveCxx ? '' : ' (skipped: no c++ to build it)'}${isRoot ? '' : ' (skipped: the bench runs as root)'}`,
  () => {
    it('runs its program exactly as nsbind runs sandbox().all()\'s', { timeout: 60_000 }, async () => {
      const { buildSameWork, sameWorkArgs } = (await import(pathToFileURL(join(root, 'bench', 'same-work.mjs')).href)) as SameWorkModule;
      const bin = join(dir, 'same-work');
      buildSameWork(bin);
      const same = sameWorkArgs(join(dir, 'plan'));
      expect(same.problem).toBeUndefined();
      const floorOut = execFileSync(bin, ['0', '1', ...same.args!], { encoding: 'utf8', env: { ...process.env, SAME_WORK_PROBE: PROBE } });
      const nsbindOut = await sandbox().all().run('/bin/sh', ['-c', PROBE], { stdio: 'pipe' });
      expect(nsbindOut.stderr).toBe('');
      const floorLines = normalise(floorOut.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
      const nsbindLines = normalise(nsbindOut.stdout);
      expect(floorLines).toEqual(nsbindLines);
      // and it is the work the bench means: all 8 new, nothing held, filtered
      expect(nsbindLines).toEqual(expect.arrayContaining([
        'ns time new', 'ns cgroup new', 'ns user new', 'NoNewPrivs: 1', 'Seccomp: 2', 'CapBnd: 0000000000000000',
        'session led by the parent', 'NSpid in the sandbox: 3', // init 1, sh 2, grep 3
      ]));
    });
  },
);
