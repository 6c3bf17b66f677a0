// nsbind/vitest: "this test runs isolated" as a one-liner in a user's test suite. No
// import of vitest itself (it is the user's, at the user's version): plain helpers that
// fit `it.skipIf()` and a test body.
//
//   import { isolated, unavailable } from 'nsbind/vitest';
//   const why = await unavailable('userns');
//   it.skipIf(why)(`server on port 80${why ? ` (skipped: ${why})` : ''}`, async () => {
//     const r = await isolated().run('sh', ['-c', 'hostname; ip -o link']);
//   });
// The public index, not sandbox.js: it loads every part that adds builder methods.
import { doctor, sandbox, type Report, type Sandbox } from './index.js';

/** What a test may need; each is read from {@link doctor}'s report. */
export type Need =
  | 'root'
  | 'userns'
  | 'cgroup'
  | 'newuidmap'
  | 'subuid'
  | 'timens'
  | 'seccomp'
  | `namespaces.${'user' | 'pid' | 'mnt' | 'uts' | 'ipc' | 'net' | 'cgroup' | 'time'}`;

let report: Promise<Report> | undefined;

/**
 * Why this machine cannot run a test that needs `needs`, or `false` when it can: the
 * reason doctor() gives, and its fix. Made for `it.skipIf(await unavailable('userns'))`.
 * doctor() runs once per test file.
 * @example const why = await unavailable('userns', 'namespaces.net');
 */
export async function unavailable(...needs: Need[]): Promise<string | false> {
  report ??= doctor();
  const r = await report;
  for (const need of needs) {
    if (need === 'root') {
      if (process.geteuid?.() !== 0) return 'needs root';
      continue;
    }
    const check = need.startsWith('namespaces.')
      ? r.namespaces[need.slice('namespaces.'.length) as keyof Report['namespaces']]
      : (r as unknown as Record<string, { ok: boolean; reason?: string; fix?: string } | undefined>)[need];
    if (!check?.ok) return `${need}: ${check?.reason ?? 'not available'}${check?.fix ? ` (fix: ${check.fix})` : ''}`;
  }
  return false;
}

export interface IsolatedOptions {
  /** The hostname inside. @default 'test' */
  hostname?: string;
  /** Size of the private /tmp. @default '64M' */
  tmpSize?: string;
}

/**
 * A sandbox for one test: its own network namespace (only `lo`, up), a private tmpfs
 * `/tmp`, its own hostname, its own pid namespace; rootless (a user namespace where the
 * test runs as root inside). Extend it like any sandbox.
 * @example const r = await isolated({ hostname: 'db' }).run('hostname'); // 'db\n'
 */
export function isolated(o: IsolatedOptions = {}): Sandbox {
  return sandbox()
    .user()
    .net()
    .pid()
    .uts({ hostname: o.hostname ?? 'test' })
    .tmpfs('/tmp', { size: o.tmpSize ?? '64M' });
}

export { lab, type Lab, type LabNode, type LabOptions } from './lab.js';
