// Network namespace ids (lsns's NETNSID, `ip netns list-id`): the number this process's
// network namespace gives another, used by netlink messages that name a peer namespace.
// Asked with RTM_GETNSID over a NETLINK_ROUTE socket; nothing is entered or assigned.
import { closeSync, openSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { native } from '../binding.js';

const { ENOENT } = osConstants.errno;

/**
 * For each namespace, through the first of its paths (`/proc/PID/ns/net`, an nsfs mount,
 * an fd) that can be opened: its id, 'unassigned' when it has none, or null when none of
 * them can be opened (another user's process, as lsns sees it unprivileged).
 */
export async function netnsIds<T extends { paths?: string[] }>(entries: T[]): Promise<Map<T, number | 'unassigned' | null>> {
  const out = new Map<T, number | 'unassigned' | null>();
  if (entries.length === 0) return out;
  const sock = await native().nlOpen();
  if (typeof sock !== 'number' || sock < 0) return out;
  try {
    for (const e of entries) {
      out.set(e, null);
      for (const path of e.paths ?? []) {
        let fd: number;
        try {
          fd = openSync(path, 'r');
        } catch {
          continue;
        }
        try {
          const id = await native().netnsId(sock, fd);
          out.set(e, id >= 0 ? id : id === -ENOENT ? 'unassigned' : null);
        } finally {
          closeSync(fd);
        }
        break;
      }
    }
  } finally {
    closeSync(sock);
  }
  return out;
}
