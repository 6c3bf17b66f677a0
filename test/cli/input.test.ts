// Bad command lines: one line naming the flag, the usage hint, exit 125, and nothing run
// (each case would create a marker file if its command ran).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nsbind } from '../helpers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'nsbind-cli-input-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function refused(args: (marker: string[]) => string[], mentions: string | RegExp, command = 'run') {
  const marker = join(tmp, `ran-${n++}`);
  const r = nsbind(args(['touch', marker]));
  expect(r.status).toBe(125);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^nsbind${command ? ` ${command}` : ''}: `));
  if (typeof mentions === 'string') expect(lines[0]).toContain(mentions);
  else expect(lines[0]).toMatch(mentions);
  expect(lines[1]).toBe(`Try 'nsbind${command ? ` ${command}` : ''} --help' for more information.`);
  expect(r.stdout).toBe('');
  expect(existsSync(marker), 'the command ran').toBe(false);
}

describe('bad input to nsbind run', () => {
  const cases: [string, (m: string[]) => string[], string | RegExp][] = [
    ['an unknown flag', (m) => ['run', '--frobnicate', '--', ...m], 'unknown flag --frobnicate'],
    ['an unknown short flag in a cluster', (m) => ['run', '-Uz', '--', ...m], 'unknown flag -z (in -Uz)'],
    ['a malformed --memory', (m) => ['run', '--memory', '12bogus', '--', ...m], "--memory: expected a size like 4096, 64K, 256M or 1G, got '12bogus'"],
    ['--bind without a target', (m) => ['run', '--bind', 'a', '--', ...m], '--bind: expects SRC DEST (missing DEST)'],
    ['--bind at the end', () => ['run', '--bind'], '--bind: expects SRC DEST'],
    ['a flag where a value belongs', (m) => ['run', '--root', '--ro-bind', '/', '/', '--', ...m], '--root: expects DIR (got the flag --ro-bind)'],
    ['a non-numeric --pids', (m) => ['run', '--pids', '1.5', '--', ...m], "--pids: expected a non-negative integer, got '1.5'"],
    ['a non-numeric --cpus', (m) => ['run', '--cpus', 'two', '--', ...m], "--cpus: expected a number, got 'two'"],
    ['a bad --map-user', (m) => ['run', '--map-user', 'no-such-user-x', '--', ...m], "--map-user: expected a uid or a user name, got 'no-such-user-x' (no such user)"],
    ['a bad --map-users range', (m) => ['run', '--map-users', '1,2', '--', ...m], '--map-users: expected INNER:OUTER:COUNT'],
    ['a bad --propagation (from the library, naming both)', (m) => ['run', '--propagation', 'weird', '--', ...m], /^nsbind run: --propagation: mount\.propagation: expected one of/],
    ['a hostname too long for the kernel', (m) => ['run', '--hostname', 'x'.repeat(65), '--', ...m], '--hostname: uts.hostname: is 65 bytes; at most 64'],
    ['a relative --wd', (m) => ['run', '--wd', 'relative', '--', ...m], "--wd: cwd: must be an absolute path, got 'relative'"],
    ['a value for a flag that takes none', (m) => ['run', '--fork=yes', '--', ...m], '--fork: takes no value'],
    ['persisting a namespace to a file', (m) => ['run', '--net=/tmp/netfile', '--', ...m], '--net: persisting a namespace'],
    ['--size not followed by --tmpfs', (m) => ['run', '--size', '100', '--', ...m], '--size: must be followed by --tmpfs'],
    ['--perms not octal', (m) => ['run', '--perms', '999', '--', ...m], "--perms: expected an octal mode like 0755, got '999'"],
    ['a --json-status-fd that is not open', (m) => ['run', '--json-status-fd', '97', '--', ...m], '--json-status-fd: 97 is not an open file descriptor'],
    ['--config after other flags', (m) => ['run', '--user', '--config', '/dev/null', '--', ...m], '--config: must come before the other flags'],
    ['--config twice', (m) => ['run', '--config', '/a', '--config', '/b', '--', ...m], '--config: given more than once'],
    ['--config of a missing file', (m) => ['run', '--config', '/nonexistent.json', '--', ...m], "--config: cannot read '/nonexistent.json'"],
    ['a missing command', () => ['run', '--user'], 'missing command'],
    ['a missing command after --', () => ['run', '--user', '--'], 'missing command'],
    ['an ambiguous command line (an argument of the command is an nsbind flag)', (m) => ['run', ...m, '--net'], "ambiguous: '--net' after the command 'touch' is also an nsbind flag; put -- before the command"],
  ];
  for (const [label, args, mentions] of cases) it(label, () => refused(args, mentions));

  it('--config whose content is not JSON, or not sandbox options', () => {
    const notJson = join(tmp, 'bad.json');
    writeFileSync(notJson, '{ nope');
    refused((m) => ['run', '--config', notJson, '--', ...m], `--config: '${notJson}' is not JSON`);
    const unknown = join(tmp, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ namespaces: { net: { loopbak: false } } }));
    refused((m) => ['run', '--config', unknown, '--', ...m], '--config: net.loopbak: unknown option');
  });
});

describe('bad input to the other commands', () => {
  it('no command, an unknown command', () => {
    refused(() => [], 'missing command', '');
    refused(() => ['frob'], "unknown command 'frob'", '');
  });
  it('exec without a target or a command', () => {
    refused((m) => ['exec', '--all', '--', ...m], '--all: needs --target PID', 'exec');
    refused(() => ['exec', '--target', '1'], 'missing command', 'exec');
    refused((m) => ['exec', '--target', 'self', '--', ...m], "--target: expected a pid, got 'self'", 'exec');
    refused((m) => ['exec', '--', ...m], 'nothing to enter', 'exec');
  });
  it('ls with an unknown type or an argument', () => {
    refused(() => ['ls', '-t', 'bogus'], "-t: unknown namespace type 'bogus'", 'ls');
    refused(() => ['ls', 'extra'], "unexpected argument 'extra'", 'ls');
  });
  it('netns without an action, name or command', () => {
    refused(() => ['netns'], 'missing action', 'netns');
    refused(() => ['netns', 'frob'], "unknown action 'frob'", 'netns');
    refused(() => ['netns', 'add'], 'add: missing NAME', 'netns');
    refused(() => ['netns', 'exec', 'somename'], 'exec: missing command', 'netns');
  });
  it('doctor with an argument', () => {
    refused(() => ['doctor', 'now'], "unexpected argument 'now'", 'doctor');
  });
});
