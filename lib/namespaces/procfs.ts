// Reading processes and mounts from /proc, the way lsns does: whatever vanishes or is
// not ours to read while we look is skipped, never an error (processes come and go).
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';

/** The numeric entries of /proc: every process (thread group) we can see. */
export function pids(proc = '/proc'): number[] {
  const out: number[] = [];
  for (const name of readdirSync(proc)) {
    if (/^[0-9]+$/.test(name)) out.push(Number(name));
  }
  return out.sort((a, b) => a - b);
}

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The uid that owns /proc/PID, as lsns reports it (the process's effective uid, or root when it is not dumpable). */
export function processUid(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/** The parent pid from /proc/PID/stat (the field after the state, past the last ')', since comm may contain anything). */
export function parentPid(pid: number): number | undefined {
  const s = readText(`/proc/${pid}/stat`);
  if (!s) return undefined;
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(rest[1]);
  return Number.isInteger(ppid) ? ppid : undefined;
}

/** The command line joined by spaces, or the comm name for kernel threads (as lsns and ps show them). */
export function command(pid: number): string | undefined {
  const cmdline = readText(`/proc/${pid}/cmdline`);
  if (cmdline) {
    const text = cmdline.replace(/\0+$/, '').split('\0').join(' ').trim();
    if (text) return text;
  }
  return readText(`/proc/${pid}/comm`)?.replace(/\n$/, '');
}

/** The symlink targets of /proc/PID/fd: [fd number, target]. */
export function fdLinks(pid: number): [number, string][] {
  let names: string[];
  try {
    names = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const out: [number, string][] = [];
  for (const n of names) {
    try {
      out.push([Number(n), readlinkSync(`/proc/${pid}/fd/${n}`)]);
    } catch {
      // closed while we looked
    }
  }
  return out;
}

/** uid -> user name from /etc/passwd (no NSS: a Node process has no getpwuid). */
export function userNames(passwd = '/etc/passwd'): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of (readText(passwd) ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length >= 3 && f[0] && /^[0-9]+$/.test(f[2]) && !names.has(Number(f[2]))) names.set(Number(f[2]), f[0]);
  }
  return names;
}

/** One line of /proc/PID/mountinfo, the fields we need. */
export interface MountInfo {
  id: number;
  /** The mounted file's path inside its filesystem; for nsfs, `net:[4026532...]`. */
  root: string;
  mountPoint: string;
  options: string;
  fstype: string;
  source: string;
  superOptions: string;
}

/** Octal escapes of mountinfo (`\040` for a space...) back to characters. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function mountInfo(path = '/proc/self/mountinfo'): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of (readText(path) ?? '').split('\n')) {
    if (!line) continue;
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const a = line.slice(0, dash).split(' ');
    const b = line.slice(dash + 3).split(' ');
    out.push({
      id: Number(a[0]),
      root: unescape(a[3]),
      mountPoint: unescape(a[4]),
      options: a[5],
      fstype: b[0],
      source: unescape(b[1] ?? ''),
      superOptions: b[2] ?? '',
    });
  }
  return out;
}
