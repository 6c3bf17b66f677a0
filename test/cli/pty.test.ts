// `nsbind run` on a terminal: a pty of its own for the program (automatic when stdin and
// stdout are terminals, --pty / --no-pty to choose), ^C reaching the program through it, and
// --no-new-session keeping the caller's terminal as unshare does. The CLI's terminal is
// a real pty too: nsbind's own, from a sandbox with { pty }.
import { describe, expect, it } from 'vitest';
import { sandbox } from '../../lib/index.js';
import { MAIN, nsbind, until } from '../helpers/index.js';

const VIEW = 'tty; cut -d" " -f7 /proc/self/stat; stty size';

/** `nsbind ARGS` run on a 77x11 terminal; lines of what the terminal shows. */
async function onTerminal(args: string[]): Promise<{ code: number | null; lines: string[] }> {
  // The terminal host only (no user ns, no filter, the creator's capabilities): the nsbind inside makes the namespaces.
  const r = await sandbox().user(false).seccomp('none').capabilities('all').run(process.execPath, [MAIN, ...args], { pty: { cols: 77, rows: 11 } });
  return { code: r.code, lines: r.stdout.split(/\r*\n/) };
}

describe('nsbind run and terminals', () => {
  it('on a terminal, the program gets a pty of its own of the same size (its controlling terminal)', async () => {
    // In one run: pty numbers are reused once closed, so another run's could match.
    const r = await onTerminal(['run', '--', 'sh', '-c', `${VIEW}; cut -d" " -f7 /proc/$PPID/stat`]);
    expect(r.code).toBe(0);
    const [name, ttyNr, size, cliTtyNr] = r.lines;
    expect(name).toMatch(/^\/dev\/pts\/\d+$/);
    expect(Number(ttyNr)).toBeGreaterThan(0);
    expect(Number(cliTtyNr)).toBeGreaterThan(0);
    expect(ttyNr).not.toBe(cliTtyNr); // not the CLI's own terminal
    expect(size).toBe('11 77');
  });

  it('--no-pty: no controlling terminal (a new session); --no-new-session: the caller\'s terminal', async () => {
    const none = await onTerminal(['run', '--no-pty', '--', 'sh', '-c', VIEW]);
    expect(none.lines[1]).toBe('0');
    const same = await onTerminal(['run', '--no-new-session', '--', 'sh', '-c', `${VIEW}; cut -d" " -f6 /proc/self/stat; cut -d" " -f6 /proc/$PPID/stat`]);
    expect(Number(same.lines[1])).toBeGreaterThan(0);
    expect(same.lines[3]).toBe(same.lines[4]); // the same session as nsbind itself
  });

  it('^C typed on the terminal reaches the program as SIGINT through its pty', async () => {
    const p = sandbox().user(false).seccomp('none').capabilities('all').spawn(process.execPath, [MAIN, 'run', '--', 'sh', '-c', 'trap "echo got-INT; exit 9" INT; echo ready; sleep 30 & wait'], { pty: true });
    let out = '';
    p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the program', () => (out.includes('ready') ? true : undefined));
    p.stdin!.write('\x03');
    expect(await p.exited).toMatchObject({ code: 9 });
    // exited can come before the last of the terminal's output is read.
    await until('the trap\'s output', () => (out.includes('got-INT') ? true : undefined));
  });

  it('--pty with pipes: input is typed on the pty, end of input is ^D, the exit status is the program\'s', () => {
    const r = nsbind(['run', '--pty', '--', 'sh', '-c', 'test -t 0 && echo tty; read x; echo "x=$x"; cat; exit 4'], { input: 'hello\nmore\n' });
    expect(r.status).toBe(4);
    // The terminal echoes what is typed, as any terminal does.
    expect(r.stdout).toContain('tty\r\n');
    expect(r.stdout).toContain('x=hello\r\n');
    expect(r.stdout).toMatch(/more\r\n[^]*more\r\n/); // echoed, then printed by cat
    const plain = nsbind(['run', '--', 'sh', '-c', 'test -t 0 || echo no-tty'], { input: '' });
    expect(plain.stdout).toBe('no-tty\n');
    const both = nsbind(['run', '--pty', '--no-new-session', '--', 'true']);
    expect(both.status).toBe(125);
    expect(both.stderr).toMatch(/--pty: .*--no-new-session/);
  });
});
