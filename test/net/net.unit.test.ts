// Network input checks without the kernel: interface and namespace names, CIDRs, and
// targets, each refused with ERR_NSBIND_INVALID naming the option.
import { describe, expect, it } from 'vitest';
import { NsbindError, links, netns, sandbox } from '../../lib/index.js';
import { inSubnet, parseCidr } from '../../lib/net/cidr.js';
import { validateIfname, validateNetnsName } from '../../lib/net/names.js';
import { netnsTargetPath } from '../../lib/net/target.js';
import { invalidOption } from '../helpers/index.js';


describe('interface names', () => {
  it.each(['eth0', 'veth-host', 'a', 'x'.repeat(15), 'wlan0.1', 'é'.repeat(7)])('accepts %j', (n) => {
    expect(validateIfname('net.veth.name', n)).toBe(n);
  });
  it.each([
    ['empty', ''],
    ['16 bytes', 'x'.repeat(16)],
    ['15 characters but 16 bytes', 'é'.repeat(8)],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\n'],
    ['NUL', 'a\0b'],
    ['a colon', 'eth0:1'],
    ['dot', '.'],
    ['dot dot', '..'],
    ['a number', 5],
  ])('refuses %s', (_why, n) => {
    expect(invalidOption(() => validateIfname('net.veth.peer', n))).toBe('net.veth.peer');
  });
});

describe('netns names', () => {
  it.each(['t1', 'blue-net', 'a..b', '.hidden', 'x'.repeat(255)])('accepts %j', (n) => {
    expect(validateNetnsName('netns.add', n)).toBe(n);
  });
  it.each([
    ['empty', ''],
    ['a slash', 'a/b'],
    ['dot dot', '..'],
    ['dot', '.'],
    ['NUL', 'a\0'],
    ['over 255 bytes', 'x'.repeat(256)],
    ['not a string', { name: 'x' }],
  ])('refuses %s', (_why, n) => {
    expect(invalidOption(() => validateNetnsName('netns.add', n))).toBe('netns.add');
  });

  it('netns.path is /run/netns/NAME and checks the name', () => {
    expect(netns.path('blue')).toBe('/run/netns/blue');
    expect(invalidOption(() => netns.path('../etc'))).toBe('netns.path.name');
  });

  it('netns.add and netns.delete reject bad names before touching anything', async () => {
    for (const [fn, option] of [[netns.add, 'netns.add.name'], [netns.delete, 'netns.delete.name']] as const) {
      const e = await fn('a/b').catch((x: unknown) => x);
      expect(e).toBeInstanceOf(NsbindError);
      expect((e as NsbindError).code).toBe('ERR_NSBIND_INVALID');
      expect((e as NsbindError).option).toBe(option);
    }
  });
});

describe('CIDR', () => {
  it('parses IPv4', () => {
    const c = parseCidr('net.veth.address', '10.200.0.2/30');
    expect(c).toMatchObject({ family: 4, address: '10.200.0.2', prefix: 30 });
    expect([...c.bytes]).toEqual([10, 200, 0, 2]);
    expect(parseCidr('x', '0.0.0.0/0').prefix).toBe(0);
    expect(parseCidr('x', '255.255.255.255/32').bytes.toString('hex')).toBe('ffffffff');
  });

  it('parses IPv6, with ::, leading zeros and an IPv4 tail', () => {
    expect(parseCidr('x', 'fd00::2/64').bytes.toString('hex')).toBe('fd000000000000000000000000000002');
    expect(parseCidr('x', '::/0').bytes.toString('hex')).toBe('0'.repeat(32));
    expect(parseCidr('x', '::1/128').bytes.toString('hex')).toBe('0'.repeat(31) + '1');
    expect(parseCidr('x', 'fe80::/10').bytes.toString('hex')).toBe('fe80' + '0'.repeat(28));
    expect(parseCidr('x', '2001:db8:0:0:1:0:0:1/48').bytes.toString('hex')).toBe('20010db8000000000001000000000001');
    expect(parseCidr('x', '::ffff:10.1.2.3/96').bytes.toString('hex')).toBe('00000000000000000000ffff0a010203');
    expect(parseCidr('x', '1:2:3:4:5:6:7:8/128').bytes.toString('hex')).toBe('00010002000300040005000600070008');
    expect(parseCidr('x', 'fd00::2/64').family).toBe(6);
  });

  it.each([
    ['no prefix', '10.0.0.1'],
    ['an empty prefix', '10.0.0.1/'],
    ['a prefix over 32', '10.0.0.1/33'],
    ['a prefix over 128', 'fd00::1/129'],
    ['a signed prefix', '10.0.0.1/+8'],
    ['a prefix with a leading zero', '10.0.0.1/08'],
    ['two slashes', '10.0.0.1/8/8'],
    ['an octet over 255', '10.0.0.256/24'],
    ['three octets', '10.0.1/24'],
    ['leading zeros in an octet', '10.0.0.01/24'],
    ['a host name', 'localhost/8'],
    ['two ::', '1::2::3/64'],
    ['an IPv6 zone', 'fe80::1%eth0/64'],
    ['an empty string', ''],
    ['a number', 42],
  ])('refuses %s', (_why, text) => {
    expect(invalidOption(() => parseCidr('net.veth.address', text))).toBe('net.veth.address');
  });

  it('inSubnet compares the network part only, per family', () => {
    const a = parseCidr('x', '10.200.0.2/30');
    expect(inSubnet(a, parseCidr('x', '10.200.0.1/30'))).toBe(true);
    expect(inSubnet(a, parseCidr('x', '10.200.0.5/30'))).toBe(false);
    expect(inSubnet(parseCidr('x', '10.0.0.1/0'), parseCidr('x', '192.168.1.1/24'))).toBe(true);
    expect(inSubnet(parseCidr('x', '10.1.2.3/20'), parseCidr('x', '10.1.15.1/20'))).toBe(true);
    expect(inSubnet(parseCidr('x', '10.1.2.3/20'), parseCidr('x', '10.1.16.1/20'))).toBe(false);
    expect(inSubnet(parseCidr('x', 'fd00::1/64'), parseCidr('x', 'fd00::ffff/64'))).toBe(true);
    expect(inSubnet(parseCidr('x', 'fd00::1/64'), parseCidr('x', 'fd01::1/64'))).toBe(false);
    expect(inSubnet(a, parseCidr('x', 'fd00::1/64'))).toBe(false);
  });
});

describe('network namespace targets', () => {
  it('maps names, pids, processes and paths to namespace files', () => {
    expect(netnsTargetPath('t', 'blue')).toBe('/run/netns/blue');
    expect(netnsTargetPath('t', 1234)).toBe('/proc/1234/ns/net');
    expect(netnsTargetPath('t', { pid: 99 })).toBe('/proc/99/ns/net');
    expect(netnsTargetPath('t', '/var/run/netns/x')).toBe('/var/run/netns/x');
  });

  it.each([
    ['pid 0', 0],
    ['a negative pid', -1],
    ['a fractional pid', 1.5],
    ['a bad name', '..'],
    ['an unstarted process', { pid: undefined }],
    ['null', null],
    ['a path with NUL', '/run/netns/a\0'],
  ])('refuses %s', (_why, t) => {
    expect(invalidOption(() => netnsTargetPath('links.move.target', t))).toBe('links.move.target');
  });

  it('links.move checks its arguments before anything runs', async () => {
    const e1 = await links.move('bad/name', 'x').catch((x: unknown) => x);
    expect((e1 as NsbindError).option).toBe('links.move.ifname');
    const e2 = await links.move('eth9', -3).catch((x: unknown) => x);
    expect((e2 as NsbindError).option).toBe('links.move.target');
  });
});

describe('.net({ veth }) options', () => {
  const veth = (v: unknown) => () => sandbox().net({ veth: v as never });

  it('accepts a full configuration and keeps it as plain, rebuildable data', () => {
    const sb = sandbox().net({
      veth: { name: 'uplink', peer: 'veth-box1', address: '10.200.0.2/30', peerAddress: '10.200.0.1/30', peerNetns: 'lab' },
    });
    expect(sb.options.namespaces?.net?.veth).toEqual({
      name: 'uplink',
      peer: 'veth-box1',
      address: '10.200.0.2/30',
      peerAddress: '10.200.0.1/30',
      peerNetns: 'lab',
    });
    expect(sandbox(JSON.parse(JSON.stringify(sb.options))).options).toEqual(sb.options);
  });

  it('defaults the sandbox end to eth0 and stores a process given as peerNetns as its pid', () => {
    const sb = sandbox().net({ veth: { peer: 'p0', peerNetns: { pid: 4242 } as never } });
    expect(sb.options.namespaces?.net?.veth).toEqual({ name: 'eth0', peer: 'p0', peerNetns: 4242 });
  });

  it.each([
    ['no peer', { address: '10.0.0.2/24' }, 'net.veth.peer'],
    ['a peer name too long', { peer: 'x'.repeat(16) }, 'net.veth.peer'],
    ['a sandbox end named lo', { name: 'lo', peer: 'p0' }, 'net.veth.name'],
    ['a sandbox end with a slash', { name: 'a/b', peer: 'p0' }, 'net.veth.name'],
    ['a malformed address', { peer: 'p0', address: '10.0.0.300/24' }, 'net.veth.address'],
    ['an address without prefix', { peer: 'p0', address: '10.0.0.2' }, 'net.veth.address'],
    ['a malformed peer address', { peer: 'p0', peerAddress: 'fd00::g/64' }, 'net.veth.peerAddress'],
    ['mixed families', { peer: 'p0', address: '10.0.0.2/24', peerAddress: 'fd00::1/64' }, 'net.veth.peerAddress'],
    ['a peer outside the subnet', { peer: 'p0', address: '10.0.0.2/30', peerAddress: '10.0.0.5/30' }, 'net.veth.peerAddress'],
    ['the same address twice', { peer: 'p0', address: '10.0.0.2/24', peerAddress: '10.0.0.2/24' }, 'net.veth.peerAddress'],
    ['a bad peerNetns', { peer: 'p0', peerNetns: '..' }, 'net.veth.peerNetns'],
    ['a peerNetns pid of 0', { peer: 'p0', peerNetns: 0 }, 'net.veth.peerNetns'],
    ['an unknown key', { peer: 'p0', mtu: 9000 }, 'net.veth.mtu'],
    ['not an object', 'eth0', 'net.veth'],
  ])('refuses %s', (_why, v, option) => {
    expect(invalidOption(veth(v))).toBe(option);
  });
});
