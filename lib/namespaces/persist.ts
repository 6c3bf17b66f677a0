// namespaces.persist / release: keep a namespace alive without any process, by bind
// mounting its nsfs file onto an ordinary file (what `ip netns add` and
// `unshare --net=FILE` do), and undo it.
import { closeSync, lstatSync, openSync, realpathSync, unlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { invalid, systemError } from '../errors.js';
import { PlanWriter } from '../plan/writer.js';
import { Op } from '../plan/layout.js';
import { runHelper } from './helper.js';
import { mountInfo } from './procfs.js';
import { checkFile, checkTypes, describe, resolveTarget, targetPath, type NamespaceTarget } from './target.js';
import type { NamespaceType } from './types.js';

const MS_BIND = 4096;
const MNT_DETACH = 2;
const UMOUNT_NOFOLLOW = 8;

/** The path as mountinfo will show it: absolute, normalised, its directory's symlinks resolved. */
function filePath(path: unknown, option: string): string {
  if (typeof path !== 'string' || path === '' || path.includes('\0')) throw invalid(option, `expected a file path, not ${describe(path)}`);
  const abs = resolve(path);
  try {
    return join(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs; // a missing directory: reported by the caller
  }
}

function errnoOf(e: unknown): number {
  const code = (e as NodeJS.ErrnoException).errno;
  return typeof code === 'number' ? -code : 5;
}

/**
 * Keep a namespace alive after its last process ends, by bind-mounting it onto `path`
 * (created if missing; its directory must exist), like `unshare --net=FILE`. The file
 * can then be joined (`{ join: path }`), listed, and released with {@link release}.
 *
 * @param target a pid, a `SandboxProcess`, or a namespace file
 * @param type which of its namespaces
 * @param path where to keep it
 * @example
 * await namespaces.persist(proc, 'net', '/run/nsbind/net1');
 * await sandbox().net({ join: '/run/nsbind/net1' }).run('ip', ['link']);
 * await namespaces.release('/run/nsbind/net1');
 */
export async function persist(target: NamespaceTarget, type: NamespaceType, path: string): Promise<void> {
  const option = 'namespaces.persist';
  const [t] = checkTypes([type], `${option}.type`);
  const dst = filePath(path, `${option}.path`);
  const src = resolveTarget(target, t, `${option}.target`);
  try {
    if (!lstatSync(dirname(dst)).isDirectory()) throw invalid(`${option}.path`, `${dirname(dst)} is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw systemError(2, { step: `${option}: ${dirname(dst)}`, syscall: 'stat', path: dirname(dst), option: `${option}.path`, hint: 'the directory of a persisted namespace must exist' });
    }
    throw e;
  }
  let created = false;
  try {
    closeSync(openSync(dst, 'wx', 0o444));
    created = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw systemError(errnoOf(e), { step: `${option}: create ${dst}`, syscall: 'open', path: dst, option });
    }
    if (lstatSync(dst).isDirectory()) throw invalid(`${option}.path`, `${dst} is a directory; a namespace is persisted onto a file`);
  }
  const w = new PlanWriter();
  const from = targetPath(src, t);
  w.op(Op.MOUNT, `bind ${from} -> ${dst}`, { s: [w.str(from), w.str(dst), 0, 0], n: [MS_BIND] });
  try {
    await runHelper(w, option);
  } catch (e) {
    if (created) unlinkSync(dst);
    throw e;
  }
}

/**
 * Undo {@link persist}: unmount the namespace from `path` and remove the file. The
 * namespace ends when nothing else holds it.
 *
 * @example
 * await namespaces.release('/run/nsbind/net1');
 */
export async function release(path: string): Promise<void> {
  const option = 'namespaces.release';
  const dst = filePath(path, `${option}.path`);
  // Only a namespace file is ours to release: never unmount or delete anything else.
  checkFile(dst, undefined, option);
  if (!mountInfo().some((m) => m.fstype === 'nsfs' && m.mountPoint === dst)) {
    throw invalid(option, `${dst} is a namespace file but not a bind mount of one (nothing to release)`);
  }
  const w = new PlanWriter();
  w.op(Op.UMOUNT, `unmount ${dst}`, { s: [w.str(dst)], n: [MNT_DETACH | UMOUNT_NOFOLLOW] });
  await runHelper(w, option);
  // The same file may be mounted more than once; it is removed when the last is gone.
  if (!mountInfo().some((m) => m.mountPoint === dst)) {
    try {
      unlinkSync(dst);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(errnoOf(e), { step: `${option}: remove ${dst}`, syscall: 'unlink', path: dst, option });
    }
  }
}
