// Named network namespaces, interchangeable with `ip netns`: the same directory, the same
// shared mount, the same empty file with the namespace bind-mounted on it. So `ip netns
// list/exec` sees the namespaces made here, and netns.list()/join see those `ip` made.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, unlink } from 'node:fs/promises';
import { native } from '../binding.js';
import { systemError, type NsbindError } from '../errors.js';
import { validateNetnsName } from './names.js';
import { helperError } from './netlink.js';

/** Where named network namespaces live, as iproute2 has it (`/var/run` links here). */
export const NETNS_DIR = '/run/netns';

/** The steps of the native netnsAdd (native/netns.h `nsb_netns_step`). */
export const NetnsStep = { SHARE_DIR: 1, BIND_DIR: 2, BIND_NS: 3 } as const;

const ROOT_HINT = 'named network namespaces need root (CAP_SYS_ADMIN over the mount namespace), as `ip netns add` does';

/**
 * The file of a named network namespace: `/run/netns/NAME`. It does not check that the
 * namespace exists.
 *
 * @example netns.path('blue') // '/run/netns/blue'
 */
export function netnsPath(name: string): string {
  native(); // ENOTSUP off Linux, like every other call
  return `${NETNS_DIR}/${validateNetnsName('netns.path.name', name)}`;
}

/**
 * Creates a named network namespace, as `ip netns add NAME`: a new namespace (with only
 * `lo`, down) that stays alive, without any process in it, until {@link netnsDelete}.
 * Rejects with `EEXIST` when the name is taken.
 *
 * @example
 * await netns.add('blue')            // `ip netns exec blue ip link` now shows its lo
 * await links.move('veth1', 'blue')  // and it can be wired up
 */
export async function netnsAdd(name: string): Promise<void> {
  validateNetnsName('netns.add.name', name);
  const addon = native(); // first: nothing is created where nothing can be done
  const file = `${NETNS_DIR}/${name}`;
  const step = `netns add ${name}`;
  try {
    await mkdir(NETNS_DIR, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw fsError(e, step, 'mkdir', NETNS_DIR);
  }
  // O_EXCL: the name is ours or EEXIST; a mode of 0, as iproute2 creates it (the mount
  // on top decides what anyone sees).
  try {
    await (await open(file, fsConstants.O_RDONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0)).close();
  } catch (e) {
    throw fsError(e, step, 'open', file);
  }
  // The namespace itself is made by a child of the addon (native/netns.h): the Node
  // process never leaves its own.
  let r: Awaited<ReturnType<typeof addon.netnsAdd>>;
  try {
    r = await addon.netnsAdd(NETNS_DIR, file);
  } catch (e) {
    await unlink(file).catch(() => {});
    throw e;
  }
  if (r === 0) return;
  await unlink(file).catch(() => {});
  if (typeof r === 'number') throw systemError(-r, { step, syscall: 'mount', path: file });
  const what: Record<number, string> = {
    [NetnsStep.SHARE_DIR]: `${step}: make ${NETNS_DIR} a shared mount`,
    [NetnsStep.BIND_DIR]: `${step}: bind ${NETNS_DIR} onto itself`,
    [NetnsStep.BIND_NS]: `${step}: bind the new namespace onto ${file}`,
  };
  throw helperError(r, {
    step: what[r.step] ?? step,
    path: r.step === NetnsStep.BIND_NS ? file : NETNS_DIR,
    ...(r.errno === 1 || r.errno === 13 ? { hint: ROOT_HINT } : {}),
  });
}

/**
 * Deletes a named network namespace, as `ip netns delete NAME`: detaches its mount and
 * removes the file. The namespace itself ends when nothing else holds it (processes
 * inside it, open descriptors, other bind mounts). Rejects with `ENOENT` when there is
 * no such name.
 *
 * @example await netns.delete('blue')
 */
export async function netnsDelete(name: string): Promise<void> {
  validateNetnsName('netns.delete.name', name);
  const file = `${NETNS_DIR}/${name}`;
  const step = `netns delete ${name}`;
  const { MNT_DETACH, UMOUNT_NOFOLLOW } = native().constants;
  // Lazily, as iproute2 does: a process with its cwd in there must not make it fail.
  // Unmounting is a change to the host's mount table, not to the Node process's
  // namespaces, so unlike netns.add it needs no child.
  const r = native().umount(file, MNT_DETACH | UMOUNT_NOFOLLOW);
  // EINVAL: a file with no namespace on it (left by an interrupted add): remove it too.
  if (r < 0 && r !== -22) {
    throw systemError(-r, {
      step,
      syscall: 'umount2',
      path: file,
      ...(r === -2 ? { hint: `there is no network namespace named '${name}'` } : {}),
      ...(r === -1 ? { hint: ROOT_HINT } : {}),
    });
  }
  try {
    await unlink(file);
  } catch (e) {
    throw fsError(e, step, 'unlink', file);
  }
}

/**
 * The names of the named network namespaces (every file in `/run/netns`, as `ip netns
 * list` shows them), sorted; empty when there is no `/run/netns` yet.
 *
 * @example await netns.list() // ['blue', 'red']
 */
export async function netnsList(): Promise<string[]> {
  native(); // ENOTSUP off Linux, like every other call
  try {
    return (await readdir(NETNS_DIR)).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw fsError(e, 'netns list', 'readdir', NETNS_DIR);
  }
}

function fsError(e: unknown, step: string, syscall: string, path: string): NsbindError | unknown {
  const errno = (e as NodeJS.ErrnoException).errno;
  if (typeof errno !== 'number') return e;
  const code = (e as NodeJS.ErrnoException).code;
  const hint =
    code === 'EEXIST' && syscall === 'open'
      ? 'a network namespace with that name exists already (netns.list() shows them)'
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? ROOT_HINT
        : undefined;
  return systemError(-errno, { step, syscall, path, ...(hint ? { hint } : {}) });
}

/**
 * Named network namespaces in `/run/netns`, interchangeable with `ip netns`.
 *
 * @example
 * await netns.add('lab')
 * console.log(await netns.list(), netns.path('lab')) // [ 'lab' ] /run/netns/lab
 * await netns.delete('lab')
 */
export const netns = {
  add: netnsAdd,
  delete: netnsDelete,
  list: netnsList,
  path: netnsPath,
} as const;
