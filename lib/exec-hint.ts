// Why execve said ENOENT for a program that is there: the file exists in the sandbox's
// root, but the interpreter it names does not (an ELF's PT_INTERP, such as
// /lib64/ld-linux-x86-64.so.2, or a script's #! line). The kernel reports both as
// ENOENT, and "not found" then sends the user looking in the wrong place. Run only after
// a failure, so the default spawn path pays nothing.
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readElfDeps } from './elf.js';
import type { SandboxOptions } from './options.js';

/**
 * A hint naming the missing interpreter, or undefined when the program itself is not
 * there (the usual hint then stands). `hostRoot` is the host directory seen as `/`
 * inside: `.root(dir)`'s or `.chroot(dir)`'s; for `.root()` without a directory the
 * sandbox's paths are the host's where bound, so the host's own files are read.
 */
export function missingInterpreterHint(options: SandboxOptions, file: string, path: string | undefined): string | undefined {
  const step = (options.fs ?? []).find((s) => s.op === 'root' || s.op === 'chroot') as { op: string; dir?: string } | undefined;
  if (!step) return undefined;
  const hostRoot = step.dir ?? '/';
  const program = locate(hostRoot, file, path);
  if (!program) return undefined;
  const interp = interpreterOf(join(hostRoot, program));
  if (!interp) return undefined;
  const inside = step.dir === undefined ? 'inside the sandbox (or what its symlink points to is)' : `under ${step.dir}`;
  if (step.dir !== undefined && existsSync(join(hostRoot, interp.path))) return undefined;
  return (
    `${program} exists, but its ${interp.kind} ${interp.path} is missing ${inside}: ` +
    `execve reports that as ENOENT. ${step.dir === undefined ? `Bind it (e.g. .roBind('${interp.path.split('/').slice(0, 2).join('/') || '/'}'))` : 'Add it to the root'}, or use a statically linked program`
  );
}

function locate(hostRoot: string, file: string, path: string | undefined): string | undefined {
  const isFile = (p: string) => {
    try {
      return statSync(join(hostRoot, p)).isFile();
    } catch {
      return false;
    }
  };
  if (file.includes('/')) return file.startsWith('/') && isFile(file) ? file : undefined;
  for (const dir of (path ?? '').split(':')) {
    if (dir.startsWith('/') && isFile(join(dir, file))) return join(dir, file);
  }
  return undefined;
}

function interpreterOf(hostPath: string): { kind: string; path: string } | undefined {
  let head: Buffer;
  try {
    const fd = openSync(hostPath, 'r');
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, readSync(fd, head, 0, 256, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (head.subarray(0, 2).toString('latin1') === '#!') {
    const line = head.toString('latin1', 2).split('\n')[0].trim().split(/\s+/)[0];
    return line?.startsWith('/') ? { kind: '#! interpreter', path: line } : undefined;
  }
  if (head.subarray(0, 4).toString('latin1') !== '\x7fELF') return undefined;
  try {
    const { interpreter } = readElfDeps(hostPath);
    return interpreter ? { kind: 'ELF interpreter', path: interpreter } : undefined;
  } catch {
    return undefined;
  }
}
