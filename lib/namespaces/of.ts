// namespaces.of(): which namespaces a process is in, from /proc/PID/ns.
import { native } from '../binding.js';
import { invalid, systemError } from '../errors.js';
import { describe, resolveTarget, type HasPid } from './target.js';
import { namespaceTypes, type Namespaces, type NamespaceId, type NamespaceType } from './types.js';

const ENOENT = 2;
const ESRCH = 3;

/**
 * The namespaces of a process: one `{ type, inode, dev }` per type, as
 * `stat -L /proc/PID/ns/TYPE` shows them. Synchronous.
 *
 * @param pid a host pid or a `SandboxProcess`
 * @default pid `process.pid`
 * @example
 * const mine = namespaces.of();
 * const its = namespaces.of(proc);
 * if (its.net.inode !== mine.net.inode) console.log('isolated network');
 */
export function of(pid: number | HasPid = process.pid): Namespaces {
  const option = 'namespaces.of.pid'; // SPEC 8: the method and the parameter
  if (typeof pid !== 'number' && (pid === null || typeof pid !== 'object')) {
    throw invalid(option, `expected a pid or a SandboxProcess, not ${describe(pid)}`);
  }
  const t = resolveTarget(pid, 'user', option) as { kind: 'pid'; pid: number };
  const b = native();
  const out: Partial<Record<NamespaceType, NamespaceId>> = {};
  for (const type of namespaceTypes) {
    const path = `/proc/${t.pid}/ns/${type}`;
    const r = b.nsStat(path);
    if (typeof r === 'number') {
      // The process ended between the checks: ESRCH, as for a pid that never existed.
      if (r === -ENOENT && typeof b.nsStat(`/proc/${t.pid}/ns`) === 'number') {
        throw systemError(ESRCH, { step: `namespaces.of: pid ${t.pid}`, option, path });
      }
      if (r === -ENOENT) continue; // a type this kernel lacks
      throw systemError(-r, { step: `namespaces.of: stat ${path}`, syscall: 'stat', path, option });
    }
    out[type] = { type, inode: r[0], dev: r[1] };
  }
  return out as Namespaces;
}
