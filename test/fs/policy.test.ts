// .files() (SPEC 2.5): the policy is resolved when the method is called, compiled to
// readonly/bind/mask in order, and each rule kind and each mandatory deny holds inside
// the sandbox — as root, and unprivileged (uid 65534, runAsNobody) in the cases so named.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandbox, protectedPaths, type FilesStep } from '../../lib/index.js';
import { scratch, sh, invalidOption, runAsNobody, runNode } from '../helpers/index.js';
import { pins } from '../../lib/fs/compile.js';
import { native } from '../../lib/binding.js';

/**
 * Root only: whether the kernel cannot idmap the filesystem holding `path` (tmpfs before
 * Linux 6.3, Debian's 6.1 /tmp). A root caller's program runs as an unprivileged host id
 * (SPEC 2.1); its allowed paths are idmapped binds where the kernel can, else plain binds
 * (README, Kernels): there it writes what that id may, so the root cases open the
 * directories they write to everyone.
 */
function plainBinds(path: string): boolean {
  if (process.geteuid?.() !== 0) return false;
  const b = native();
  const fd = b.openTree(path);
  if (fd < 0) return false;
  try {
    return b.idmapTree(fd, 0, 65534, 0, 65534) === -22;
  } finally {
    b.close(fd);
  }
}
let plain = false;
/** Writable by the program's host id where binds stay plain (see plainBinds). */
const open = (p: string) => plain && chmodSync(p, 0o777);

let dir: string;
let proj: string;
beforeAll(() => {
  dir = scratch('nsbind-files-');
  proj = join(dir, 'proj');
  mkdirSync(join(proj, '.git', 'hooks'), { recursive: true });
  mkdirSync(join(proj, 'src'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets', 'key'), 'KEY\n');
  writeFileSync(join(dir, 'secret.txt'), 'SECRET\n');
  writeFileSync(join(dir, 'outside'), 'outside\n');
  writeFileSync(join(dir, 'a.env'), 'A\n');
  writeFileSync(join(dir, '.b.env'), 'B\n');
  writeFileSync(join(proj, 'src', 'main.c'), 'int main;\n');
  chmodSync(dir, 0o755);
  plain = plainBinds(dir);
  open(proj);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function step(sb: ReturnType<typeof sandbox>): FilesStep {
  return sb.options.fs!.at(-1) as unknown as FilesStep;
}

describe('.files(): resolving the policy when the method is called', () => {
  it('takes ~ as the home directory and relative paths from the current directory, with .. resolved', () => {
    const s = step(sandbox().files({ read: { deny: ['~/.nsbind-test-none'] }, write: { allow: [`${dir}/proj/../proj/./src`, relative(process.cwd(), dir)] } }));
    expect(s.read.deny).toEqual([join(homedir(), '.nsbind-test-none')]);
    expect(s.write.allow).toEqual([join(proj, 'src'), dir]);
  });

  it('expands * and ** in the last components, hidden files included', () => {
    expect(step(sandbox().files({ read: { deny: [`${dir}/*.env`] } })).read.deny).toEqual([join(dir, '.b.env'), join(dir, 'a.env')]);
    const all = step(sandbox().files({ read: { deny: [`${dir}/**/*.c`] } })).read.deny;
    expect(all).toEqual([join(proj, 'src', 'main.c')]);
    expect(step(sandbox().files({ read: { deny: [`${dir}/nothing*`] } })).read.deny).toEqual([]);
  });

  it('resolves a symlinked path to what it points to, so the policy shows what is enforced', () => {
    const link = join(dir, 'link-to-proj');
    symlinkSync(proj, link);
    try {
      expect(step(sandbox().files({ write: { allow: [link] } })).write.allow).toEqual([proj]);
    } finally {
      rmSync(link);
    }
  });

  it('lists the mandatory read-only paths inside each allowed path, except those allowed by name', () => {
    writeFileSync(join(proj, '.npmrc'), '');
    const s = step(sandbox().files({ write: { allow: [proj, join(proj, '.npmrc')] } }));
    rmSync(join(proj, '.npmrc'));
    expect(s.protected).toEqual(protectedPaths.filter((p) => p !== '.npmrc').map((p) => join(proj, p)));
    expect(protectedPaths).toEqual(['.git/hooks', '.git/config', '.bashrc', '.bash_profile', '.zshrc', '.profile', '.npmrc', '.ssh', '.gnupg', '.aws', '.config/gh']);
  });

  it('is in sb.options and survives sandbox(sb.options)', () => {
    const sb = sandbox().files({ read: { deny: [join(dir, 'secret.txt')] }, write: { allow: [proj], deny: [join(proj, 'src')] } });
    const again = sandbox(JSON.parse(JSON.stringify(sb.options)));
    expect(again.options.fs).toEqual(sb.options.fs);
  });

  it('refuses bad input naming the option', () => {
    expect(invalidOption(() => sandbox().files(undefined as never))).toBe('files.policy');
    expect(invalidOption(() => sandbox().files({ read: { allow: [] } } as never))).toBe('files.read.allow');
    expect(invalidOption(() => sandbox().files({ write: { allow: '/tmp' } } as never))).toBe('files.write.allow');
    expect(invalidOption(() => sandbox().files({ write: { allow: [42] } } as never))).toBe('files.write.allow[0]');
    expect(invalidOption(() => sandbox().files({ write: { allow: ['/'] } }))).toBe('files.write.allow');
    expect(invalidOption(() => sandbox().files({ read: { deny: ['/tmp/*/x'] } }))).toBe('files.read.deny[0]');
    expect(invalidOption(() => sandbox().files({ read: { deny: ['~other/x'] } }))).toBe('files.read.deny[0]');
    expect(invalidOption(() => sandbox().files({ write: { deny: ['a\0b'] } }))).toBe('files.write.deny[0]');
  });
});

describe('.files(): inside the sandbox', () => {
  it('read.deny: a file reads empty, a directory is empty; the rest stays readable', async () => {
    const sb = sandbox().files({ read: { deny: [join(dir, 'secret.txt'), join(dir, 'secrets')] } });
    const out = await sh(sb, `cat ${dir}/secret.txt; ls -A ${dir}/secrets; cat ${dir}/outside`);
    expect(out).toBe('outside\n');
  });

  it('read.deny with a glob hides every match', async () => {
    const sb = sandbox().files({ read: { deny: [`${dir}/*.env`] } });
    expect(await sh(sb, `cat ${dir}/a.env ${dir}/.b.env; echo end`)).toBe('end\n');
  });

  it('write.allow is writable, new files and directories included; everything else is read-only', async () => {
    const sb = sandbox().files({ write: { allow: [proj] } });
    const out = await sh(sb, `
      echo new > ${proj}/created && mkdir ${proj}/newdir && echo deep > ${proj}/newdir/f && echo ok-allow
      echo x > ${dir}/outside 2>/dev/null || echo ro-outside
      touch ${dir}/new 2>/dev/null || echo ro-new
      echo discard > /dev/null && echo devnull`);
    expect(out).toBe('ok-allow\nro-outside\nro-new\ndevnull\n');
    expect(readFileSync(join(proj, 'newdir', 'f'), 'utf8')).toBe('deep\n');
    expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('outside\n');
    rmSync(join(proj, 'newdir'), { recursive: true });
    rmSync(join(proj, 'created'));
  });

  it('write.deny inside an allowed path stays read-only', async () => {
    const sb = sandbox().files({ write: { allow: [proj], deny: [join(proj, 'src')] } });
    expect(await sh(sb, `echo x >> ${proj}/src/main.c 2>/dev/null || echo ro; touch ${proj}/ok && echo rw`)).toBe('ro\nrw\n');
    rmSync(join(proj, 'ok'));
  });

  it('each mandatory path inside an allowed path is read-only; one allowed by name is writable', async () => {
    for (const p of protectedPaths) {
      const full = join(proj, p);
      mkdirSync(full, { recursive: true });
      if (p === '.aws') open(full);
    }
    try {
      const sb = sandbox().files({ write: { allow: [proj, join(proj, '.aws')] } });
      const script = protectedPaths.map((p) => `touch ${proj}/${p}/x 2>/dev/null && echo ${p}:rw || echo ${p}:ro`).join('\n');
      const out = await sh(sb, script);
      expect(out.trim().split('\n')).toEqual(protectedPaths.map((p) => `${p}:${p === '.aws' ? 'rw' : 'ro'}`));
    } finally {
      for (const p of protectedPaths) if (!p.startsWith('.git')) rmSync(join(proj, p.split('/')[0]), { recursive: true, force: true });
      rmSync(join(proj, '.git', 'config'), { recursive: true, force: true });
    }
  });

  it('a mandatory file (.bashrc) is read-only inside the allowed path', async () => {
    writeFileSync(join(proj, '.bashrc'), 'original\n');
    try {
      const sb = sandbox().files({ write: { allow: [proj] } });
      expect(await sh(sb, `echo evil >> ${proj}/.bashrc 2>/dev/null || echo ro; rm -f ${proj}/.bashrc 2>/dev/null; cat ${proj}/.bashrc`)).toBe('ro\noriginal\n');
    } finally {
      rmSync(join(proj, '.bashrc'));
    }
  });

  it('a symlink inside an allowed path that points out of it does not make the target writable', async () => {
    symlinkSync(join(dir, 'outside'), join(proj, 'escape'));
    symlinkSync(dir, join(proj, 'escape-dir'));
    try {
      const sb = sandbox().files({ write: { allow: [proj] } });
      expect(await sh(sb, `echo x > ${proj}/escape 2>/dev/null || echo ro; touch ${proj}/escape-dir/new 2>/dev/null || echo ro`)).toBe('ro\nro\n');
      expect(readFileSync(join(dir, 'outside'), 'utf8')).toBe('outside\n');
    } finally {
      rmSync(join(proj, 'escape'));
      rmSync(join(proj, 'escape-dir'));
    }
  });

  it('a symlinked allowed path allows its target (what sb.options shows), nothing beside it', async () => {
    const link = join(dir, 'proj-link');
    symlinkSync(proj, link);
    try {
      const sb = sandbox().files({ write: { allow: [link] } });
      expect(await sh(sb, `touch ${link}/via-link && echo rw; touch ${dir}/beside 2>/dev/null || echo ro`)).toBe('rw\nro\n');
    } finally {
      rmSync(link);
      rmSync(join(proj, 'via-link'), { force: true });
    }
  });

  it('steps written after .files() are not affected by it (a tmpfs stays writable)', async () => {
    const sb = sandbox().files({ write: { allow: [] } }).tmpfs('/mnt');
    expect(await sh(sb, 'touch /mnt/x && echo rw')).toBe('rw\n');
  });

  it('an allowed path that does not exist is skipped, not an error', async () => {
    const sb = sandbox().files({ write: { allow: [join(dir, 'missing')] } });
    expect(await sh(sb, 'echo ok')).toBe('ok\n');
  });

  it('unprivileged: read.deny, write.allow, write.deny and a mandatory path hold the same', () => {
    const d = scratch('nsbind-files-nobody-');
    try {
      for (const p of ['w/.git/hooks', 'w/keep', 'sec']) mkdirSync(join(d, p), { recursive: true });
      writeFileSync(join(d, 'sec', 'k'), 'K\n');
      writeFileSync(join(d, 'o'), 'O\n');
      for (const p of ['', 'w', 'w/.git', 'w/.git/hooks', 'w/keep', 'sec']) chmodSync(join(d, p), 0o777);
      const script = `cat ${d}/sec/k; touch ${d}/w/x && echo rw; touch ${d}/w/keep/x 2>/dev/null || echo keep-ro;
        touch ${d}/w/.git/hooks/h 2>/dev/null || echo hooks-ro; touch ${d}/y 2>/dev/null || echo ro`;
      const r = runAsNobody(`const r = await nsbind.sandbox().files({ read: { deny: [${JSON.stringify(join(d, 'sec'))}] },
          write: { allow: [${JSON.stringify(join(d, 'w'))}], deny: [${JSON.stringify(join(d, 'w', 'keep'))}] } })
        .run('/bin/sh', ['-c', ${JSON.stringify(script)}]); process.stdout.write(r.stdout);`);
      expect(r.stdout).toBe('rw\nkeep-ro\nhooks-ro\nro\n');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  // A read-only mount follows its directory, not its name: without the pins, renaming .git
  // (its parent is writable) and making a new .git/hooks plants a hook on the host.
  it('renaming the directories leading to a mandatory or denied path cannot get around it (root and unprivileged; without the pins it can)', () => {
    expect(pins(['/p'], ['/p/.git/hooks', '/p/.git/config', '/p/.config/gh', '/p/.bashrc', '/q/x', '/p/a/b/c'])).toEqual(['/p/.git', '/p/.config', '/p/a', '/p/a/b']);
    const d = scratch('nsbind-files-pins-');
    try {
      const w = join(d, 'w');
      const reset = () => {
        rmSync(w, { recursive: true, force: true });
        for (const p of ['.git/hooks', 'src/keep']) mkdirSync(join(w, p), { recursive: true });
        for (const p of ['', '.git', '.git/hooks', 'src', 'src/keep']) chmodSync(join(w, p), 0o777);
        chmodSync(d, 0o777);
      };
      const script = `mv ${w}/.git ${w}/g 2>/dev/null && echo moved-git; mkdir -p ${w}/.git/hooks 2>/dev/null; { echo evil > ${w}/.git/hooks/pre-commit; } 2>/dev/null && echo planted-hook;
        mv ${w}/src ${w}/s 2>/dev/null && echo moved-src; mkdir -p ${w}/src/keep 2>/dev/null; touch ${w}/src/keep/x 2>/dev/null && echo wrote-denied;
        touch ${w}/.git/ok && echo git-rw`;
      const run = (nobody: boolean, off: boolean) => {
        reset();
        const r = runNode(`const r = await nsbind.sandbox().files({ write: { allow: [${JSON.stringify(w)}], deny: [${JSON.stringify(join(w, 'src', 'keep'))}] } })
            .run('/bin/sh', ['-c', ${JSON.stringify(script)}]); process.stdout.write(r.stdout); process.stderr.write(r.stderr);`,
          { nobody, env: off ? { NSBIND_UNSAFE_TEST_DISABLE: 'files-pins' } : {} });
        expect(r.stderr).toBe('');
        return r.stdout;
      };
      for (const nobody of [false, true]) {
        expect(run(nobody, false)).toBe('git-rw\n');
        // The pins off: both renames work, and the new names are writable.
        expect(run(nobody, true)).toBe('moved-git\nplanted-hook\nmoved-src\nwrote-denied\ngit-rw\n');
      }
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('unprivileged: globs, .. in a policy path, a symlinked allowed path and a symlink out of an allowed path', () => {
    const d = scratch('nsbind-files-nobody-links-');
    try {
      for (const p of ['real', 'w', 'other']) mkdirSync(join(d, p));
      writeFileSync(join(d, 'a.env'), 'A\n');
      writeFileSync(join(d, '.b.env'), 'B\n');
      writeFileSync(join(d, 'o'), 'O\n');
      symlinkSync(join(d, 'real'), join(d, 'link'));
      symlinkSync(join(d, 'o'), join(d, 'w', 'out-file'));
      symlinkSync(join(d, 'other'), join(d, 'w', 'out-dir'));
      for (const p of ['', 'real', 'w', 'other']) chmodSync(join(d, p), 0o777);
      for (const p of ['a.env', '.b.env', 'o']) chmodSync(join(d, p), 0o666);
      const script = `cat ${d}/a.env ${d}/.b.env 2>/dev/null; echo env-hidden;
        touch ${d}/link/x && echo link-target-rw; touch ${d}/real/y && echo real-rw;
        touch ${d}/w/z && echo dotdot-rw;
        { echo x > ${d}/w/out-file; } 2>/dev/null || echo out-file-ro; touch ${d}/w/out-dir/n 2>/dev/null || echo out-dir-ro;
        touch ${d}/o 2>/dev/null || echo beside-ro`;
      const r = runAsNobody(`process.chdir(${JSON.stringify(join(d, 'other'))});
        const sb = nsbind.sandbox().files({ read: { deny: [${JSON.stringify(d + '/*.env')}] },
          write: { allow: [${JSON.stringify(join(d, 'link'))}, '../w'] } });
        const r = await sb.run('/bin/sh', ['-c', ${JSON.stringify(script)}]);
        console.log(JSON.stringify({ out: r.stdout, err: r.stderr, allow: sb.options.fs.at(-1).write.allow }));`);
      expect(r.stderr).toBe('');
      const res = JSON.parse(r.stdout) as { out: string; err: string; allow: string[] };
      // '../w' was taken from the caller's cwd and resolved; the link became its target.
      expect(res.allow.sort()).toEqual([join(d, 'real'), join(d, 'w')].sort());
      expect(res.out).toBe('env-hidden\nlink-target-rw\nreal-rw\ndotdot-rw\nout-file-ro\nout-dir-ro\nbeside-ro\n');
      expect(readFileSync(join(d, 'o'), 'utf8')).toBe('O\n');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('unprivileged: each mandatory path inside an allowed path is read-only; one allowed by name is writable', () => {
    const d = scratch('nsbind-files-nobody-mandatory-');
    try {
      const w = join(d, 'w');
      for (const p of protectedPaths) mkdirSync(join(w, p), { recursive: true });
      execFileSync('chmod', ['-R', '0777', d]);
      const script = protectedPaths.map((p) => `touch ${w}/${p}/x 2>/dev/null && echo ${p}:rw || echo ${p}:ro`).join('\n');
      const r = runAsNobody(`const r = await nsbind.sandbox().files({ write: { allow: [${JSON.stringify(w)}, ${JSON.stringify(join(w, '.aws'))}] } })
        .run('/bin/sh', ['-c', ${JSON.stringify(script)}]); process.stdout.write(r.stdout); process.stderr.write(r.stderr);`);
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual(protectedPaths.map((p) => `${p}:${p === '.aws' ? 'rw' : 'ro'}`));
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});

