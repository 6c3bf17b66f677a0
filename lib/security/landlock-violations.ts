// Landlock's denials as `'violation'` events and `ExitResult.violations` (SPEC 2.5).
//
// The kernel reports them only through audit (Linux 6.15+, Landlock ABI 7, and only when
// audit is enabled: nsbind never turns it on). Where the Node process may read the audit
// log (CAP_AUDIT_READ), one NETLINK_AUDIT socket on the read-only multicast group serves
// every sandbox of the process that has a Landlock ruleset: it is opened with the first
// such sandbox and closed with the last, read every POLL_MS and once more when a sandbox
// ends, and each record goes to every sandbox's DomainFilter (landlock-audit.ts), which
// keeps those of its own domains. A domain is the sandbox's when the process that made it
// is the sandbox's top process (the setup child that became the program, or nsbind-init)
// or a child of it (the program, forked by the init).
//
// Elsewhere (audit off, no CAP_AUDIT_READ, an older kernel) nothing is opened and nothing
// is read: one check per process (`doctor().landlockAudit` says which case this is).
import { readFileSync } from 'node:fs';
import { native } from '../binding.js';
import type { SandboxOptions } from '../options.js';
import type { PreparedSpawn, SpawnHookContext } from '../spawn-types.js';
import { MAX_VIOLATIONS, type FsViolation } from '../violations.js';
import { auditLines, DomainFilter } from './landlock-audit.js';
import { landlockAbi } from './landlock.js';

/** Where the records come from: the audit socket, or a test's (the seam below). */
export interface AuditSource {
  /** The datagrams waiting now (netlink messages, auditLines() reads them); never blocks. */
  read(): Buffer[];
  close(): void;
}

const POLL_MS = 100;
/** The kernel sends records from its own thread: how long a sandbox's end waits for its last ones. */
const SETTLE_MS = 20;

/** Why the audit log cannot be read here, or undefined when it can (doctor's check too). */
export function auditUnavailable(): string | undefined {
  const abi = landlockAbi();
  if (abi < 7) return `Landlock logs denials from ABI 7 (Linux 6.15); this kernel has ABI ${abi}`;
  const b = native();
  const status = b.auditStatus();
  if (status === 0) return 'the audit subsystem is off (`auditctl -e 1` turns it on; nsbind never does)';
  const fd = b.auditOpen();
  if (fd < 0) {
    return fd === -1 ? 'reading the audit log needs CAP_AUDIT_READ (root, or a process given it)' : `the audit socket cannot be opened (errno ${-fd})`;
  }
  b.close(fd);
  return undefined;
}

function openAuditSocket(): AuditSource | undefined {
  if (auditUnavailable() !== undefined) return undefined;
  const b = native();
  const fd = b.auditOpen();
  if (fd < 0) return undefined;
  return {
    read: () => {
      const r = b.auditRead(fd);
      return typeof r === 'number' ? [] : r;
    },
    close: () => void b.close(fd),
  };
}

let opener: () => AuditSource | undefined = openAuditSocket;
let available: boolean | undefined;
let source: AuditSource | undefined;
let timer: NodeJS.Timeout | undefined;
const watchers = new Set<(line: string) => void>();

/**
 * @internal The test seam: `open` gives the records' source instead of the audit socket
 * (undefined: the audit socket again). Forgets whether the log was readable.
 */
export function _setAuditSource(open?: () => AuditSource | undefined): void {
  source?.close();
  source = undefined;
  available = undefined;
  opener = open ?? openAuditSocket;
}

function drain(): void {
  if (!source) return;
  for (const d of source.read()) for (const line of auditLines(d)) for (const w of watchers) w(line);
}

function watch(w: (line: string) => void): (() => void) | undefined {
  if (available === false) return undefined;
  if (!source) {
    source = opener();
    available = source !== undefined;
    if (!source) return undefined;
  }
  watchers.add(w);
  if (!timer) {
    timer = setInterval(drain, POLL_MS);
    timer.unref();
  }
  return () => {
    if (!watchers.delete(w) || watchers.size > 0) return;
    clearInterval(timer);
    timer = undefined;
    source?.close();
    source = undefined;
  };
}

/** The parent pid of `pid` (/proc/PID/stat), or -1 once it is gone. */
function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

/** Whether these options give the program a Landlock ruleset (lib/security/landlock.ts). */
function hasRuleset(options: SandboxOptions): boolean {
  const o = options as { landlock?: unknown; filesDegraded?: unknown; degraded?: boolean };
  return o.landlock !== undefined || o.filesDegraded !== undefined || o.degraded === true || (options.fs ?? []).some((s) => s.op === 'files');
}

/** The spawn preparer (lib/spawn.ts): listens for the sandbox's denials while it runs. */
export function landlockViolations(options: SandboxOptions, _request: unknown, spawn: SpawnHookContext): PreparedSpawn | void {
  if (!hasRuleset(options)) return;
  const violations: FsViolation[] = [];
  let top = -1;
  // Lines read before the spawn is reported (the program may be refused something at once).
  let early: string[] | undefined = [];
  const filter = new DomainFilter((pid) => pid === top || parentOf(pid) === top);
  const feed = (line: string) => {
    for (const v of filter.push(line)) {
      if (violations.length < MAX_VIOLATIONS) violations.push(v);
      spawn.process?.emit('violation', v);
    }
  };
  const stop = watch((line) => {
    if (early) {
      if (early.length < 1024) early.push(line);
    } else {
      feed(line);
    }
  });
  if (!stop) return;
  return {
    spawned: (r) => {
      top = r.pid;
      const held = early!;
      early = undefined;
      for (const line of held) feed(line);
    },
    finish: async (result) => {
      drain();
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      drain();
      stop();
      return { ...result, violations: [...(result.violations ?? []), ...violations].slice(0, MAX_VIOLATIONS) };
    },
    abandon: () => stop(),
  };
}
