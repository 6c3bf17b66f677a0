// Mapping more ids than our own into a user namespace: the setuid helpers newuidmap/
// newgidmap (shadow-utils) and the ranges /etc/subuid and /etc/subgid grant us.
import { userInfo } from 'node:os';
import { fail, type Check } from './check.js';
import type { Host } from './host.js';

export interface IdRange {
  start: number;
  count: number;
}

export interface SubidCheck extends Check {
  /** The current user's ranges in /etc/subuid. */
  uids: IdRange[];
  /** The current user's ranges in /etc/subgid. */
  gids: IdRange[];
  /** Why a missing range is fine here (root). */
  note?: string;
}

function installCommand(host: Host): string {
  const ids = host.distro();
  if (ids.some((i) => ['fedora', 'rhel', 'centos', 'rocky', 'almalinux'].includes(i))) return 'sudo dnf install shadow-utils';
  if (ids.includes('alpine')) return 'sudo apk add shadow-uidmap';
  if (ids.some((i) => ['arch', 'archlinux'].includes(i))) return 'sudo pacman -S shadow';
  if (ids.some((i) => ['opensuse', 'suse', 'sles'].includes(i))) return 'sudo zypper install shadow';
  return 'sudo apt-get install uidmap';
}

/** Where a program is found: PATH, then the usual system directories. */
function which(host: Host, name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), '/usr/bin', '/bin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const st = host.stat(`${d}/${name}`);
    if (st?.isFile() && st.mode & 0o111) return `${d}/${name}`;
  }
  return undefined;
}

export function newuidmapCheck(host: Host): Check & { path?: string } {
  const uid = which(host, 'newuidmap');
  const gid = which(host, 'newgidmap');
  if (!uid || !gid) {
    const missing = [uid ? '' : 'newuidmap', gid ? '' : 'newgidmap'].filter(Boolean).join(' and ');
    return fail(`${missing} not installed: only your own uid/gid can be mapped without privileges`, installCommand(host));
  }
  // A helper without setuid may still work through file capabilities (Fedora ships it
  // so), which we cannot see from here; only an ordinary file without either is broken.
  return { ok: true, path: uid };
}

/** Ranges of `name` (or numeric `uid`) in a subordinate id file: `user:start:count` lines. */
export function subidRanges(text: string, name: string, uid: number): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(':');
    if (f.length !== 3 || (f[0] !== name && f[0] !== String(uid))) continue;
    const start = Number(f[1]);
    const count = Number(f[2]);
    if (Number.isSafeInteger(start) && Number.isSafeInteger(count) && count > 0) out.push({ start, count });
  }
  return out;
}

export function subuidCheck(host: Host, user = currentUser()): SubidCheck {
  const uids = subidRanges(host.read('/etc/subuid') ?? '', user.name, user.uid);
  const gids = subidRanges(host.read('/etc/subgid') ?? '', user.name, user.uid);
  if (uids.length && gids.length) return { ok: true, uids, gids };
  // Root writes any map directly (nsbind never runs newuidmap for it), so no range is
  // nothing it lacks; only `--map-auto`-style flags read the file.
  if (user.uid === 0) return { ok: true, uids, gids, note: 'root needs no ranges: it writes any id map directly' };
  const files = [uids.length ? '' : '/etc/subuid', gids.length ? '' : '/etc/subgid'].filter(Boolean).join(' and ');
  return {
    uids,
    gids,
    ...fail(
      `${user.name} has no ranges in ${files}: only one id can be mapped into a user namespace`,
      `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user.name}`,
    ),
  };
}

function currentUser(): { name: string; uid: number } {
  const uid = process.getuid?.() ?? 0;
  try {
    return { name: userInfo().username, uid };
  } catch {
    return { name: String(uid), uid };
  }
}
