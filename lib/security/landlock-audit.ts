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
 * The records of one netlink datagram from the audit socket, as lines `type=N audit(...): ...`
 * (the kernel sends each record as a message whose type is the record's, its text the
 * payload, sometimes NUL-terminated).
 */
export function auditLines(datagram: Buffer): string[] {
  const out: string[] = [];
  for (let off = 0; off + 16 <= datagram.length; ) {
    const len = datagram.readUInt32LE(off);
    if (len < 16 || off + len > datagram.length) break;
    const type = datagram.readUInt16LE(off + 4);
    let end = off + len;
    while (end > off + 16 && datagram[end - 1] === 0) end--;
    out.push(`type=${type} ${datagram.toString('utf8', off + 16, end)}`);
    off += (len + 3) & ~3;
  }
  return out;
}

/** A denial record held until its domain's record says whose it is (at most this many). */
const MAX_PENDING = 256;

/**
 * Follows the audit stream for one sandbox: which Landlock domains are its own (created by
 * a process `owns` accepts: nsbind's setup child or init, or the program they became) and
 * their filesystem denials. Records of other domains (other sandboxes, other programs)
 * are dropped; network and scope denials are left to their own kinds.
 */
export class DomainFilter {
  private readonly ours = new Set<string>();
  private readonly others = new Set<string>();
  private pending: LandlockRecord[] = [];
  constructor(private readonly owns: (pid: number) => boolean) {}

  /** The violations this line adds (the domain record may follow the first denial of its event). */
  push(line: string): FsViolation[] {
    const r = parseLandlockRecord(line);
    if (!r) return [];
    const out: FsViolation[] = [];
    if (r.type === AUDIT_LANDLOCK_DOMAIN) {
      if (r.fields.status !== 'allocated') return out;
      const mine = this.owns(Number(r.fields.pid));
      (mine ? this.ours : this.others).add(r.fields.domain);
      const held = this.pending;
      this.pending = held.filter((p) => p.fields.domain !== r.fields.domain);
      if (mine) for (const p of held) if (p.fields.domain === r.fields.domain) take(p, out);
    } else if (this.ours.has(r.fields.domain)) {
      take(r, out);
    } else if (!this.others.has(r.fields.domain)) {
      this.pending.push(r);
      if (this.pending.length > MAX_PENDING) this.pending.shift();
    }
    return out;
  }
}

function take(r: LandlockRecord, out: FsViolation[]): void {
  const blockers = (r.fields.blockers ?? '').split(',').filter((b) => b.startsWith('fs.'));
  if (blockers.length === 0 || r.fields.path === undefined) return;
  out.push({ kind: 'fs', path: r.fields.path, access: blockers.map((b) => b.slice(3)).join(',') });
}

/** The filesystem violations in `lines` of the domains created by `pids` (see DomainFilter). */
export function fsViolations(lines: Iterable<string>, pids: ReadonlySet<number>): FsViolation[] {
  const f = new DomainFilter((pid) => pids.has(pid));
  const out: FsViolation[] = [];
  for (const line of lines) out.push(...f.push(line));
  return out;
}
