// The reading of Landlock's audit records (Linux 6.15+). Audit is off on the test
// machines and must not be switched on for the host, so the records are the kernel's
// documented format, written out here.
import { describe, expect, it } from 'vitest';
import { AUDIT_LANDLOCK_ACCESS, auditLines, DomainFilter, fsViolations, parseLandlockRecord } from '../../lib/security/landlock-audit.js';

const access = (domain: string, rest: string, serial = 30) =>
  `type=1423 audit(1729738800.268:${serial}): domain=${domain} ${rest}`;
const domain = (d: string, pid: number, serial = 30) =>
  `type=1424 audit(1729738800.268:${serial}): domain=${d} status=allocated mode=enforcing pid=${pid} uid=0 exe="/usr/bin/sh" comm="sh"`;

describe('Landlock audit records', () => {
  it('parses an access record: type, serial, fields, quoted values', () => {
    const r = parseLandlockRecord(access('195ba459b', 'blockers=fs.make_reg,fs.refer path="/usr/local" dev="vda2" ino=365'))!;
    expect(r).toEqual({
      type: AUDIT_LANDLOCK_ACCESS,
      serial: 30,
      fields: { domain: '195ba459b', blockers: 'fs.make_reg,fs.refer', path: '/usr/local', dev: 'vda2', ino: '365' },
    });
  });

  it('decodes a path audit logged as hex (it had a space)', () => {
    const hex = Buffer.from('/tmp/a b').toString('hex').toUpperCase();
    expect(parseLandlockRecord(access('1', `blockers=fs.write_file path=${hex} dev="sda" ino=1`))!.fields.path).toBe('/tmp/a b');
  });

  it("reads auditd's and ausearch's spellings too", () => {
    expect(parseLandlockRecord(`type=UNKNOWN[1423] msg=audit(1.2:7): domain=5 blockers=fs.read_file path="/x"`)!.serial).toBe(7);
    expect(parseLandlockRecord(`type=LANDLOCK_ACCESS msg=audit(1.2:8): domain=5 blockers=fs.read_file path="/x"`)!.type).toBe(1423);
  });

  it('ignores other records and garbage', () => {
    expect(parseLandlockRecord('type=1300 audit(1.2:3): arch=c000003e syscall=2')).toBeUndefined();
    expect(parseLandlockRecord('hello')).toBeUndefined();
  });

  it("turns the sandbox's domains' fs denials into violations, whichever record comes first", () => {
    const lines = [
      access('aaa', 'blockers=fs.write_file path="/etc/passwd" dev="sda" ino=2', 1),
      domain('aaa', 100, 1),
      access('aaa', 'blockers=fs.make_reg,fs.refer path="/home/u" dev="sda" ino=3', 2),
      domain('bbb', 999, 3),
      access('bbb', 'blockers=fs.write_file path="/elsewhere" dev="sda" ino=4', 3),
      access('aaa', 'blockers=net.connect_tcp daddr=127.0.0.1 dest=80', 4),
      access('aaa', 'blockers=scope.signal opid=1 ocomm="init"', 5),
    ];
    expect(fsViolations(lines, new Set([100]))).toEqual([
      { kind: 'fs', path: '/etc/passwd', access: 'write_file' },
      { kind: 'fs', path: '/home/u', access: 'make_reg,refer' },
    ]);
    expect(fsViolations(lines, new Set([42]))).toEqual([]);
  });

  it('reads the netlink datagrams of the audit socket: one record per message, NUL or not, 4-byte aligned', () => {
    const msg = (type: number, text: string, nul: boolean) => {
      const body = Buffer.from(text + (nul ? '\0' : ''));
      const h = Buffer.alloc(16);
      h.writeUInt32LE(16 + body.length, 0);
      h.writeUInt16LE(type, 4);
      const pad = Buffer.alloc((4 - ((16 + body.length) % 4)) % 4);
      return Buffer.concat([h, body, pad]);
    };
    const d = Buffer.concat([
      msg(1424, 'audit(1729738800.268:30): domain=a1 status=allocated mode=enforcing pid=7 uid=0 exe="/x" comm="x"', true),
      msg(1423, 'audit(1729738800.268:30): domain=a1 blockers=fs.write_file path="/etc" dev="sda" ino=2', false),
    ]);
    const lines = auditLines(d);
    expect(lines).toEqual([
      'type=1424 audit(1729738800.268:30): domain=a1 status=allocated mode=enforcing pid=7 uid=0 exe="/x" comm="x"',
      'type=1423 audit(1729738800.268:30): domain=a1 blockers=fs.write_file path="/etc" dev="sda" ino=2',
    ]);
    expect(fsViolations(lines, new Set([7]))).toEqual([{ kind: 'fs', path: '/etc', access: 'write_file' }]);
    // A truncated datagram yields the whole messages before the cut, nothing invented.
    expect(auditLines(d.subarray(0, d.length - 5))).toHaveLength(1);
  });

  it('follows a stream line by line: asks once per domain whose it is, forgets denials of other domains', () => {
    const asked: number[] = [];
    const f = new DomainFilter((pid) => (asked.push(pid), pid === 100));
    expect(f.push(access('x', 'blockers=fs.read_file path="/a" dev="sda" ino=1', 1))).toEqual([]);
    expect(f.push(domain('x', 100, 1))).toEqual([{ kind: 'fs', path: '/a', access: 'read_file' }]);
    expect(f.push(domain('y', 200, 2))).toEqual([]);
    expect(f.push(access('y', 'blockers=fs.read_file path="/b" dev="sda" ino=1', 2))).toEqual([]);
    expect(f.push(access('x', 'blockers=fs.remove_file path="/c" dev="sda" ino=1', 3))).toEqual([{ kind: 'fs', path: '/c', access: 'remove_file' }]);
    expect(asked).toEqual([100, 200]);
  });
});
