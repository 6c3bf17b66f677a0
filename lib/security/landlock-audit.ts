// Landlock's audit records (Linux 6.15+, when audit is enabled) -> violations.
//
// Landlock logs each denial as an AUDIT_LANDLOCK_ACCESS (1423) record naming the domain
// that denied it, and each domain once as AUDIT_LANDLOCK_DOMAIN (1424) with the pid that
// created it, e.g.:
//
//   type=1423 audit(1729738800.268:30): domain=195ba459b blockers=fs.make_reg,fs.refer path="/usr/local" dev="vda2" ino=365
//   type=1424 audit(1729738800.268:30): domain=195ba459b status=allocated mode=enforcing pid=300 uid=0 exe="/x" comm="x"
//
// Values that hold spaces, quotes or control bytes are logged as bare hex (audit's
// "untrusted string" encoding). Reading the records needs an audit netlink socket and
// CAP_AUDIT_READ; this module only parses them, so that whatever reads them (auditd's
// log, a multicast listener) turns them into the same `Violation`s.
import type { FsViolation } from '../violations.js';

export const AUDIT_LANDLOCK_ACCESS = 1423;
export const AUDIT_LANDLOCK_DOMAIN = 1424;

export interface LandlockRecord {
  type: number;
  /** The audit event's serial (records of one event share it). */
  serial?: number;
  fields: Record<string, string>;
}

/** A value of an audit field: "quoted", bare hex (untrusted string), or as is. */
function value(raw: string, key: string): string {
  if (raw.startsWith('"')) return raw.slice(1, -1);
  // Only fields audit logs as untrusted strings can be hex-encoded.
  if ((key === 'path' || key === 'exe' || key === 'comm' || key === 'name') && /^(?:[0-9A-F]{2})+$/.test(raw)) {
    return Buffer.from(raw, 'hex').toString('utf8');
  }
  return raw;
}

/** One line of audit output (`type=1423 audit(...): k=v ...` or `type=UNKNOWN[1423] msg=audit(...): ...`). */
export function parseLandlockRecord(line: string): LandlockRecord | undefined {
  const m = /^type=(?:(\d+)|UNKNOWN\[(\d+)\]|(LANDLOCK_ACCESS|LANDLOCK_DOMAIN))\s+(?:msg=)?audit\(\d+\.\d+:(\d+)\):\s*(.*)$/.exec(line.trim());
  if (!m) return undefined;
  const type = m[3] ? (m[3] === 'LANDLOCK_ACCESS' ? AUDIT_LANDLOCK_ACCESS : AUDIT_LANDLOCK_DOMAIN) : Number(m[1] ?? m[2]);
  if (type !== AUDIT_LANDLOCK_ACCESS && type !== AUDIT_LANDLOCK_DOMAIN) return undefined;
  const fields: Record<string, string> = {};
  const re = /(\w+)=("[^"]*"|\S+)/g;
  for (let f; (f = re.exec(m[5])); ) fields[f[1]] = value(f[2], f[1]);
  return { type, serial: Number(m[4]), fields };
}

/**
 * The filesystem violations of the domains created by `pids` (the sandbox's processes
 * that restricted themselves: nsbind's setup child or init). Records of other domains
 * (other sandboxes, other programs) are ignored; network and scope denials are left to
 * their own kinds.
 */
export function fsViolations(lines: Iterable<string>, pids: ReadonlySet<number>): FsViolation[] {
  const ours = new Set<string>();
  const pending: LandlockRecord[] = [];
  const out: FsViolation[] = [];
  const take = (r: LandlockRecord) => {
    const blockers = (r.fields.blockers ?? '').split(',').filter((b) => b.startsWith('fs.'));
    if (blockers.length === 0 || r.fields.path === undefined) return;
    out.push({ kind: 'fs', path: r.fields.path, access: blockers.map((b) => b.slice(3)).join(',') });
  };
  for (const line of lines) {
    const r = parseLandlockRecord(line);
    if (!r) continue;
    if (r.type === AUDIT_LANDLOCK_DOMAIN) {
      if (r.fields.status === 'allocated' && pids.has(Number(r.fields.pid))) {
        ours.add(r.fields.domain);
        // The domain record may follow the first denial of the same event.
        for (const p of pending.splice(0)) if (p.fields.domain === r.fields.domain) take(p);
      }
    } else if (ours.has(r.fields.domain)) {
      take(r);
    } else {
      pending.push(r);
    }
  }
  return out;
}
