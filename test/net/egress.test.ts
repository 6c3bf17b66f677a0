// Egress policy, port forwarding and exposing (SPEC 5.1), end to end: a scenario script
// (test/fixtures/egress-scenario.cjs) run as root and as uid 65534, against servers it
// starts on loopback. Nothing leaves the machine.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { root, runNode } from '../helpers/index.js';

const scenario = readFileSync(join(root, 'test', 'fixtures', 'egress-scenario.cjs'), 'utf8');

interface Outcome {
  lines: string[];
  violations: { kind: string; host: string; port: number; via: string; reason: string }[];
  events: number;
  asked: string[];
  egress: { http: number; socks: number };
  forwardOk: number;
  exposed: string;
  forwardAfterExit: string;
  fdsLeaked: number;
  fdsAfterForward: number;
}

function run(nobody: boolean, env: Record<string, string> = {}): Outcome {
  const r = runNode(scenario, { nobody, timeoutMs: 180_000, env });
  if (r.status !== 0) throw new Error(`scenario failed (${r.status} ${r.signal}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Outcome;
}

describe.each([
  ['root', false],
  ['an unprivileged creator', true],
])('egress as %s', (_who, nobody) => {
  const o = run(nobody);

  it('lets allowed HTTP, HTTPS (CONNECT) and SOCKS5 requests through', () => {
    expect(o.lines[0]).toBe('plain /a [0]');
    expect(o.lines[1]).toBe('secure /b [0]');
    expect(o.lines[2]).toBe('plain /c [0]');
    expect(o.egress).toEqual({ http: 3128, socks: 3128 });
  });

  it('refuses denied names, uncovered ports and names resolving to private space', () => {
    expect(o.lines[3]).toMatch(/bad\.test\.local.*refused \(denied\)/);
    expect(o.lines[5]).toMatch(/test\.local.*refused \(private-address\)/);
    expect(o.lines[7]).toMatch(/rebind\.local.*refused \(private-address\)/);
  });

  it('asks the egress callback only for what no pattern covers, and obeys it', () => {
    expect(o.asked).toEqual(['asked-yes.local', 'asked-no.local']);
    expect(o.lines[9]).toBe('plain /g [0]');
    expect(o.lines[10]).toMatch(/asked-no\.local.*refused \(callback\)/);
  });

  it('gives a program that ignores the proxy variables no route (fail-closed)', () => {
    expect(o.lines[12]).toBe(' [7]'); // curl: could not connect
    // Node 20's fetch ignores NODE_USE_ENV_PROXY: it must fail, not reach the server.
    expect(o.lines[13]).toMatch(/\[[01]\]$/);
    if (o.lines[13].endsWith('[0]')) expect(o.lines[13]).toBe('plain /j [0]');
  });

  it('reports each refusal as a violation event and in ExitResult.violations', () => {
    expect(o.events).toBe(4);
    expect(o.violations.map((v) => [v.kind, v.host, v.reason])).toEqual([
      ['egress', 'bad.test.local', 'denied'],
      ['egress', 'test.local', 'private-address'],
      ['egress', 'rebind.local', 'private-address'],
      ['egress', 'asked-no.local', 'callback'],
    ]);
  });

  it('forwards 50 parallel connections into the sandbox, exposes a host port, and stops with it', () => {
    expect(o.forwardOk).toBe(50);
    expect(o.exposed).toBe('exposed plain /k');
    expect(o.forwardAfterExit).toMatch(/ECONNREFUSED/);
    expect(o.fdsAfterForward).toBe(0);
  });

  it('leaves no descriptor behind after 100 sandboxes', () => {
    expect(o.fdsLeaked).toBe(0);
  });
});

describe('egress input', () => {
  const bad = (f: () => unknown, option: string) => {
    try {
      f();
    } catch (e) {
      expect((e as { option?: string }).option).toBe(option);
      return;
    }
    throw new Error(`no error for ${option}`);
  };
  it.each([
    [{ egress: { allow: ['ex ample.com'] } }, 'net.egress.allow[0]'],
    [{ egress: { allow: ['a.com:99999'] } }, 'net.egress.allow[0]'],
    [{ egress: { allow: ['10.0.0.0/33'] } }, 'net.egress.allow[0]'],
    [{ egress: { allow: [], deny: [''] } }, 'net.egress.deny[0]'],
    [{ egress: { allow: [], port: 0 } }, 'net.egress.port'],
    [{ egress: { allow: [], colour: 1 } }, 'net.egress.colour'],
    [{ forward: [{ host: 80 }] }, 'net.forward[0].sandbox'],
    [{ expose: [{ sandbox: 3128, host: 1 }], egress: { allow: [] } }, 'net.expose[0].sandbox'],
  ])('refuses %j naming %s', (o, option) => {
    bad(() => sandbox().net(o as never), option);
  });
  it('refuses a spawn egress callback that is not a function', () => {
    bad(() => sandbox().net({ egress: { allow: ['*'] } }).spawn('true', [], { egress: 1 as never }), 'spawn.egress');
  });
});

describe('egress from the CLI', () => {
  it('--allow-net / --deny-net go through the proxy; --forward checks its value', async () => {
    const { createServer } = await import('node:http');
    const { spawn } = await import('node:child_process');
    const server = createServer((_q, r) => r.end('hi')).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const port = (server.address() as { port: number }).port;
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        c.stdout.on('data', (d) => (out += d));
        c.stderr.on('data', (d) => (err += d));
        c.on('close', (code) => resolve({ code, out, err }));
      });
    try {
      const r = await cli(['--allow-net', `127.0.0.1:${port}`, '--deny-net', 'evil.example', '--', 'sh', '-c',
        `curl -sS --noproxy "" -x "$HTTP_PROXY" http://127.0.0.1:${port}/; echo; curl -sS http://evil.example/; echo`]);
      expect(r.out).toContain('hi');
      expect(r.out).toMatch(/evil\.example:80 refused \(denied\)/);
      const bad = await cli(['--forward', '80', '--', 'true']);
      expect(bad.code).not.toBe(0);
      expect(bad.err).toMatch(/--forward/);
    } finally {
      server.close();
    }
  });
});

describe('fail-closed is the network namespace (protection off: NSBIND_UNSAFE_TEST_DISABLE=egress-netns)', () => {
  const attack = `
    const http = require('node:http');
    const s = http.createServer((q, r) => r.end('reached the host')).listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const port = s.address().port;
    const r = await nsbind.sandbox().net({ egress: { allow: ['registry.example'] } })
      .run('sh', ['-c', 'curl -sS --max-time 5 --noproxy "*" http://127.0.0.1:' + port + '/ ; echo " [$?]"']);
    s.close();
    console.log(JSON.stringify(r.stdout.trim()));`;
  it.each([
    ['root', false],
    ['an unprivileged creator', true],
  ])('as %s: a program ignoring the proxy reaches the host only with the protection off', (_who, nobody) => {
    const on = runNode(attack, { nobody });
    const off = runNode(attack, { nobody, env: { NSBIND_UNSAFE_TEST_DISABLE: 'egress-netns' } });
    expect(on.status, on.stderr).toBe(0);
    expect(off.status, off.stderr).toBe(0);
    expect(JSON.parse(on.stdout)).toMatch(/\[7\]$/);
    expect(JSON.parse(off.stdout)).toBe('reached the host [0]');
  });
});
