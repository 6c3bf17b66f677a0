// Validation of .capabilities() and .rlimits(), and the NOFILE soft limit nsbind restores.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NsbindError } from '../../lib/errors.js';
import {
  CAPABILITIES,
  capabilityMask,
  capabilityNames,
  capabilityWords,
  normalizeCapabilities,
} from '../../lib/security/capabilities.js';
import {
  RLIMITS,
  effectiveRlimits,
  normalizeRlimits,
  originalNofileSoft,
  readNofile,
  rlimitValue,
} from '../../lib/security/rlimits.js';

function invalidOption(fn: () => unknown, option: string, text: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NsbindError);
  expect(err).toMatchObject({ code: 'ERR_NSBIND_INVALID', option });
  expect((err as Error).message).toMatch(text);
}

describe('capabilities', () => {
  it('names all 41 capabilities with their kernel numbers', () => {
    expect(Object.keys(CAPABILITIES)).toHaveLength(41);
    expect(new Set(Object.values(CAPABILITIES)).size).toBe(41);
    expect(CAPABILITIES.CAP_CHOWN).toBe(0);
    expect(CAPABILITIES.CAP_NET_BIND_SERVICE).toBe(10);
    expect(CAPABILITIES.CAP_SYS_ADMIN).toBe(21);
    expect(CAPABILITIES.CAP_SETFCAP).toBe(31);
    expect(CAPABILITIES.CAP_CHECKPOINT_RESTORE).toBe(40);
  });

  it('agree with the running kernel', () => {
    // /proc/sys/kernel/cap_last_cap is the kernel's highest capability number
    const last = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    expect(last).toBeGreaterThanOrEqual(40);
  });

  it("normalise 'none', 'all' and lists of names", () => {
    expect(normalizeCapabilities('none')).toBe('none');
    expect(normalizeCapabilities('all')).toBe('all');
    expect(normalizeCapabilities([])).toBe('none');
    expect(normalizeCapabilities(['net_admin', 'CAP_KILL', 'NET_ADMIN'])).toEqual(['CAP_KILL', 'CAP_NET_ADMIN']);
  });

  it('give masks and capset words', () => {
    expect(capabilityMask('none')).toBe(0n);
    expect(capabilityMask(['CAP_KILL'])).toBe(0x20n);
    const mask = capabilityMask(['CAP_NET_BIND_SERVICE', 'CAP_SYSLOG', 'CAP_CHECKPOINT_RESTORE']);
    expect(capabilityWords(mask)).toEqual([1 << 10, (1 << 2) | (1 << 8)]);
    expect(capabilityNames(mask)).toEqual(['CAP_NET_BIND_SERVICE', 'CAP_SYSLOG', 'CAP_CHECKPOINT_RESTORE']);
    expect(capabilityWords(capabilityMask('all'))).toEqual([0xffffffff, 0xffffffff]);
  });

  it('refuse unknown names and other shapes', () => {
    invalidOption(() => normalizeCapabilities(['CAP_NOPE']), 'capabilities', /unknown capability 'CAP_NOPE'/);
    invalidOption(() => normalizeCapabilities(['constructor']), 'capabilities', /unknown capability/);
    invalidOption(() => normalizeCapabilities('CAP_KILL'), 'capabilities', /got the string/);
    invalidOption(() => normalizeCapabilities([10]), 'capabilities', /capability names/);
    invalidOption(() => normalizeCapabilities(null), 'capabilities', /expected/);
    invalidOption(() => normalizeCapabilities(true), 'capabilities', /expected/);
  });
});

describe('rlimits', () => {
  it('name every RLIMIT_* with its number', () => {
    expect(Object.keys(RLIMITS).sort()).toEqual(
      ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'],
    );
    expect(Object.values(RLIMITS).sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
    expect(RLIMITS.nofile).toBe(7);
    expect(RLIMITS.as).toBe(9);
  });

  it('normalise to [soft, hard]', () => {
    expect(normalizeRlimits({ nofile: 64 })).toEqual({ nofile: [64, 64] });
    expect(normalizeRlimits({ nproc: [10, 20], core: 0 })).toEqual({ nproc: [10, 20], core: [0, 0] });
    expect(normalizeRlimits({ as: Infinity, stack: [8 << 20, 'unlimited'] })).toEqual({
      as: ['unlimited', 'unlimited'],
      stack: [8 << 20, 'unlimited'],
    });
    expect(normalizeRlimits({ nofile: undefined })).toEqual({});
    const n = normalizeRlimits({ cpu: [1, Infinity] });
    expect(normalizeRlimits(JSON.parse(JSON.stringify(n)))).toEqual(n);
  });

  it('encode unlimited as RLIM_INFINITY', () => {
    expect(rlimitValue('unlimited')).toBe(0xffffffffffffffffn);
    expect(rlimitValue(1024)).toBe(1024n);
  });

  it('refuse bad values naming the resource', () => {
    invalidOption(() => normalizeRlimits({ nofile: [100, 10] }), 'rlimits.nofile', /soft limit 100 is above the hard limit 10/);
    invalidOption(() => normalizeRlimits({ nofile: ['unlimited', 10] }), 'rlimits.nofile', /above the hard limit/);
    invalidOption(() => normalizeRlimits({ nproc: -1 }), 'rlimits.nproc', /negative/);
    invalidOption(() => normalizeRlimits({ core: 1.5 }), 'rlimits.core', /integer/);
    invalidOption(() => normalizeRlimits({ core: NaN }), 'rlimits.core', /non-negative integer/);
    invalidOption(() => normalizeRlimits({ core: '1M' }), 'rlimits.core', /non-negative integer or 'unlimited'/);
    invalidOption(() => normalizeRlimits({ nofile: [1, 2, 3] }), 'rlimits.nofile', /array of 3/);
    invalidOption(() => normalizeRlimits({ files: 10 }), 'rlimits.files', /unknown resource 'files'/);
    invalidOption(() => normalizeRlimits({ NOFILE: 10 }), 'rlimits.NOFILE', /unknown resource/);
    invalidOption(() => normalizeRlimits({ toString: 10 }), 'rlimits.toString', /unknown resource/);
    invalidOption(() => normalizeRlimits(5), 'rlimits', /expected an object/);
    invalidOption(() => normalizeRlimits([1]), 'rlimits', /expected an object/);
  });
});

describe('the NOFILE soft limit Node started with', () => {
  it('is that of the nearest non-Node ancestor, at most the hard limit', () => {
    const [, hard] = readNofile('self')!;
    const soft = originalNofileSoft();
    expect(typeof soft).toBe('number');
    if (hard !== 'unlimited') expect(soft).toBeLessThanOrEqual(hard);
    // A shell started with a known soft limit starts Node; Node raises its own, and
    // nsbind inside it must find the shell's value again.
    const script = `
      const { originalNofileSoft, readNofile } = require(${JSON.stringify(`${process.cwd()}/dist/security/rlimits.js`)});
      console.log(JSON.stringify([readNofile('self'), originalNofileSoft()]));`;
    const out = execFileSync('sh', ['-c', 'ulimit -Sn 321 && "$0" -e "$1"; exit $?', process.execPath, script], {
      encoding: 'utf8',
    });
    const [own, found] = JSON.parse(out) as [[number, number], number];
    expect(own[0]).toBeGreaterThan(321); // Node did raise its own
    expect(found).toBe(321);
  });

  it('is restored by default and left alone when the caller sets it', () => {
    const own = readNofile('self')!;
    expect(effectiveRlimits(undefined)).toEqual({ nofile: [originalNofileSoft(), own[1]] });
    expect(effectiveRlimits({ nofile: [10, 20] })).toEqual({ nofile: [10, 20] });
    expect(effectiveRlimits({ core: [0, 0] })).toEqual({ core: [0, 0], nofile: [originalNofileSoft(), own[1]] });
  });
});
