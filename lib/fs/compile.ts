// Filesystem steps -> child ops (native/fs.cc), in three parts:
//   1. capture every source (host paths as the caller sees them before any step);
//   2. the new root, if any, stacked over "/" (so steps written before .root() land in it);
//   3. the steps in the order written, then entering the root.
import { constants as fsConstants } from 'node:fs';
import { invalid } from '../errors.js';
import type { PlanContext } from '../plan/context.js';
import { identity } from '../plan/identity.js';
import { FsFlag, Op } from '../plan/layout.js';
import { UNSAFE, unsafeTestBits } from '../unsafe-test.js';
import { noDetachedClone, noMountSetattr, overlayByPath } from './kernel.js';
import type { PlanWriter } from '../plan/writer.js';
import { kindOf, NODEV, NOEXEC, NOSUID, RDONLY } from './kinds.js';
import { creatable } from './layers.js';
import { DEV_LINKS, DEV_NODES, DEVPTS_OPTIONS } from './dev.js';
import { PROC_MASKED, PROC_READONLY, SYS_MASKED } from './proc.js';
import { destinationOf, stepName, type FilesystemStep } from './steps.js';
import { size } from './validate.js';


/** "key\0value\0...\0": options for fsconfig; an empty value sets a flag. */
function fsOptions(w: PlanWriter, opts: [string, string][]): number {
  if (opts.length === 0) return 0;
  return w.blob(Buffer.from(opts.map(([k, val]) => `${k}\0${val}\0`).join('') + '\0'), 1);
}

function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * The tree resolve opened and idmapped for its owner for this bind or allowed path
 * (lib/plan/resolve.ts), as an index in extraFds: undefined when it is not idmapped, or
 * could not be opened (the child's own capture then reports the error as for any bind).
 */
function idmapTree(ctx: PlanContext, s: FilesystemStep, i = 0): number | undefined {
  const fd = ctx.facts.idmapTrees.get(s)?.[i];
  if (fd === undefined) return undefined;
  const request = ctx.request;
  request.extraFds ??= [];
  request.extraFds.push(fd);
  return request.extraFds.length - 1;
}

/** The directories strictly between an allowed path and each denied path beneath it, parents first. */
export function pins(allow: readonly string[], denied: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of denied) {
    const top = allow.filter((a) => p.startsWith(a === '/' ? '/' : a + '/')).sort((x, y) => y.length - x.length)[0];
    if (top === undefined) continue;
    const rest = p.slice(top === '/' ? 1 : top.length + 1).split('/').slice(0, -1);
    let d = top;
    for (const name of rest) {
      d = join(d, name);
      out.add(d);
    }
  }
  return [...out].sort((x, y) => x.split('/').length - y.split('/').length);
}

export function compileFilesystem(ctx: PlanContext): void {
  const steps = (ctx.options.fs ?? []) as unknown as FilesystemStep[];
  if (steps.length === 0) return;
  const w = ctx.writer;
  let nextSlot = 0;
  const slots = new Map<FilesystemStep, number[]>();
  let nullSlot = -1;

  if (noMountSetattr(ctx.facts.kernelRelease)) w.op(Op.FS_NO_SETATTR, 'mount flags by mount(2) (no mount_setattr before Linux 5.12)');
  // A masked file's empty file (and --bind-data's file): cloned from a detached tmpfs from 6.15, before that by
  // attaching the tmpfs over the root for a moment (native/fs.cc clone_empty).
  const maskAttach = noDetachedClone(ctx.facts.kernelRelease) ? FsFlag.MASK_ATTACH : 0;
  const mask = (path: string, name: string, flags = 0) => w.op(Op.FS_MASK, name, { s: [w.str(path)], n: [nullSlot], flags: flags | maskAttach });
  // 1. Sources.
  const capture = (kind: number, path: string, name: string, flags = 0, n1 = 0): number => {
    const slot = nextSlot++;
    w.op(kind, name, { s: [w.str(path)], n: [slot, n1], flags });
    return slot;
  };
  const devNull = (name: string): number => {
    if (nullSlot < 0) nullSlot = capture(Op.FS_OPEN_PATH, '/dev/null', name);
    return nullSlot;
  };
  for (const s of steps) {
    const name = stepName(s);
    switch (s.op) {
      case 'bind': {
        const extra = idmapTree(ctx, s);
        if (extra === undefined) {
          slots.set(s, [capture(Op.FS_OPEN_TREE, s.src, name, s.optional ? FsFlag.OPTIONAL : 0)]);
        } else {
          // A tree the Node process opened and idmapped for its owner (idmapTree).
          const slot = nextSlot++;
          w.op(Op.FS_EXTRA_TREE, name, { n: [slot, extra] });
          slots.set(s, [slot]);
        }
        break;
      }
      case 'root': case 'chroot':
        if (s.dir !== undefined) slots.set(s, [capture(Op.FS_OPEN_TREE, s.dir, name)]);
        break;
      case 'overlay': {
        const dirs = [...s.lower, ...(s.upper !== undefined ? [s.upper, s.work!] : [])];
        slots.set(s, dirs.map((d) => capture(Op.FS_OPEN_PATH, d, name, 0, fsConstants.O_DIRECTORY)));
        break;
      }
      case 'dev':
        slots.set(s, DEV_NODES.map((d) => capture(Op.FS_OPEN_TREE, `/dev/${d}`, name, FsFlag.OPTIONAL)));
        break;
      case 'proc': case 'mask':
        devNull(name);
        break;
      case 'files':
        // A missing allowed path is skipped: nothing to write there, nothing to create.
        // A root caller's allowed paths are idmapped like writable binds (SPEC 2.1): the
        // program runs as an unprivileged host id, and what it writes belongs to the owner.
        slots.set(s, s.write.allow.map((p, i) => {
          const extra = idmapTree(ctx, s, i);
          if (extra === undefined) return capture(Op.FS_OPEN_TREE, p, `files: write.allow ${p}`, FsFlag.OPTIONAL);
          const slot = nextSlot++;
          w.op(Op.FS_EXTRA_TREE, `files: write.allow ${p}`, { n: [slot, extra] });
          return slot;
        }));
        if (s.read.deny.length > 0) devNull(name);
        break;
    }
  }

  // The namespace's own ids from here on (plan.ts identity()): what the setup creates in
  // the sandbox's filesystems belongs to a mapped owner.
  identity(ctx, ctx.maps);

  // 2. The root.
  const root = steps.find((s) => s.op === 'root' || s.op === 'chroot') as
    | Extract<FilesystemStep, { op: 'root' | 'chroot' }>
    | undefined;
  if (root) {
    // The new root is mounted over "/" until the switch: with shared propagation that
    // mount (and everything under it) would appear in the caller's namespace too, and
    // pivot_root refuses shared mounts anyway.
    const propagation = ctx.options.namespaces?.mnt?.propagation;
    if (propagation === 'shared' || propagation === 'unchanged') {
      throw invalid('mount.propagation', `.${root.op}() needs the mount namespace's propagation 'private' or 'slave', not '${propagation}'`);
    }
    if (root.dir === undefined) {
      w.op(Op.FS_NEW_ROOT, stepName(root), { flags: FsFlag.NEW_TMPFS, s: [0, fsOptions(w, [['mode', '0755']])] });
    } else {
      w.op(Op.FS_NEW_ROOT, stepName(root), { n: [slots.get(root)![0]] });
    }
  }

  // 3. The steps. `done` is what the child will have done so far: whether a missing
  // destination may be created depends on the filesystem it would be created in.
  const done: FilesystemStep[] = root ? [root] : [];
  const createFlag = (path: string) => (creatable(done, path) ? FsFlag.CREATE : 0);
  const newFs = (dst: string, name: string, type: string, opts: [string, string][], attrs: number, made: boolean, flags = createFlag(dst)) =>
    w.op(Op.FS_MOUNT, name, {
      s: [w.str(dst), w.str(type), fsOptions(w, opts)],
      n: [0, attrs],
      flags: flags | (made ? FsFlag.MADE_HERE : 0),
    });

  for (const s of steps) {
    const name = stepName(s);
    switch (s.op) {
      case 'root': case 'chroot':
        continue;
      case 'bind': {
        const attrs = NOSUID | (s.devices ? 0 : NODEV) | (s.readonly ? RDONLY : 0);
        w.op(Op.FS_BIND, name, { s: [w.str(s.dst)], n: [slots.get(s)![0], attrs], flags: createFlag(s.dst) });
        break;
      }
      case 'tmpfs': {
        const opts: [string, string][] = [['mode', (s.mode ?? 0o755).toString(8)]];
        if (s.size !== undefined) opts.push(['size', size(s.size, 'tmpfs.size').toString()]);
        newFs(s.dst, name, 'tmpfs', opts, NOSUID | NODEV, true);
        break;
      }
      case 'proc': {
        newFs(s.dst, name, 'proc', [], NOSUID | NODEV | NOEXEC, false);
        for (const m of PROC_MASKED) {
          mask(join(s.dst, m), `${name}: mask ${join(s.dst, m)}`, FsFlag.OPTIONAL);
        }
        for (const m of PROC_READONLY) {
          w.op(Op.FS_READONLY, `${name}: readonly ${join(s.dst, m)}`, { s: [w.str(join(s.dst, m))], flags: FsFlag.OPTIONAL });
        }
        for (const m of SYS_MASKED) {
          mask(m, `${name}: mask ${m}`, FsFlag.OPTIONAL);
        }
        break;
      }
      case 'dev': {
        // nodev: a device node made here (by a process that may) would not open; the
        // listed devices are binds of their own, which allow devices.
        newFs(s.dst, name, 'tmpfs', [['mode', '755'], ['size', String(1 << 20)]], NOSUID | NODEV | NOEXEC, true);
        const nodes = slots.get(s)!;
        DEV_NODES.forEach((d, i) => {
          w.op(Op.FS_BIND, `${name}: bind /dev/${d}`, { s: [w.str(join(s.dst, d))], n: [nodes[i], NOSUID | NOEXEC], flags: FsFlag.CREATE });
        });
        newFs(join(s.dst, 'pts'), `${name}: devpts`, 'devpts', DEVPTS_OPTIONS, NOSUID | NOEXEC, false, FsFlag.CREATE);
        newFs(join(s.dst, 'shm'), `${name}: shm`, 'tmpfs', [['mode', '1777']], NOSUID | NODEV, true, FsFlag.CREATE);
        for (const [link, target] of DEV_LINKS) {
          w.op(Op.FS_SYMLINK, `${name}: symlink ${link}`, { s: [w.str(join(s.dst, link)), w.str(target)] });
        }
        break;
      }
      case 'overlay': {
        const ids = slots.get(s)!;
        const lower = ids.slice(0, s.lower.length);
        const upper = s.upper !== undefined ? ids[s.lower.length] : -1;
        const work = s.upper !== undefined ? ids[s.lower.length + 1] : -1;
        const layout = Buffer.alloc(4 * (lower.length + 3));
        [lower.length, ...lower, upper, work].forEach((x, i) => layout.writeInt32LE(x, i * 4));
        // Inside a user namespace overlayfs keeps its metadata in user.* xattrs, which an
        // unprivileged owner may write (trusted.* needs the host's CAP_SYS_ADMIN).
        const opts: [string, string][] = ctx.created.has('user') ? [['userxattr', '']] : [];
        w.op(Op.FS_OVERLAY, name, {
          s: [w.str(s.dst), w.blob(layout, 4), fsOptions(w, opts)],
          n: [0, NOSUID | NODEV],
          flags: createFlag(s.dst) | (overlayByPath(ctx.facts.kernelRelease) ? FsFlag.OVERLAY_PATHS : 0),
        });
        break;
      }
      case 'dir':
        w.op(Op.FS_MKDIR, name, { s: [w.str(s.path)], n: [s.mode] });
        break;
      case 'symlink':
        w.op(Op.FS_SYMLINK, name, { s: [w.str(s.path), w.str(s.target)] });
        break;
      case 'file': {
        const bytes = s.encoding === 'base64' ? Buffer.from(s.content, 'base64') : Buffer.from(s.content, 'utf8');
        if (s.bind) {
          const slot = nextSlot++;
          w.op(Op.FS_DATA, name, { s: [bytes.length ? w.blob(bytes, 1) : 0], n: [slot, bytes.length, s.mode], flags: maskAttach });
          w.op(Op.FS_BIND, name, { s: [w.str(s.path)], n: [slot, NOSUID | NODEV], flags: createFlag(s.path) });
        } else {
          w.op(Op.FS_FILE, name, { s: [w.str(s.path), bytes.length ? w.blob(bytes, 1) : 0], n: [bytes.length, s.mode] });
        }
        break;
      }
      case 'readonly':
        w.op(Op.FS_READONLY, name, { s: [w.str(s.path)] });
        break;
      case 'mask':
        mask(s.path, name);
        break;
      case 'files': {
        // The order of lib/fs/policy.ts: everything read-only, the allowed paths writable
        // again, the denied and mandatory ones read-only inside them, the secrets masked.
        w.op(Op.FS_READONLY, 'files: readonly /', { s: [w.str('/')] });
        const ids = slots.get(s)!;
        s.write.allow.forEach((p, i) => {
          w.op(Op.FS_BIND, `files: write.allow ${p}`, { s: [w.str(p)], n: [ids[i], NOSUID | NODEV] });
        });
        // A read-only mount follows its directory, not its name: renaming .git away (its
        // parent is writable) and making a new .git/hooks would get around it. Each directory
        // between an allowed path and a denied or mandatory one becomes a mount point of its
        // own, flags unchanged, which the kernel refuses to rename or remove (EBUSY).
        for (const d of unsafeTestBits & UNSAFE.FILES_PINS ? [] : pins(s.write.allow, [...s.write.deny, ...s.protected])) {
          w.op(Op.FS_READONLY, `files: pin ${d}`, { s: [w.str(d)], flags: FsFlag.OPTIONAL | FsFlag.PIN });
        }
        for (const p of s.write.deny) w.op(Op.FS_READONLY, `files: write.deny ${p}`, { s: [w.str(p)], flags: FsFlag.OPTIONAL });
        for (const p of s.protected) w.op(Op.FS_READONLY, `files: protected ${p}`, { s: [w.str(p)], flags: FsFlag.OPTIONAL });
        for (const p of s.read.deny) mask(p, `files: read.deny ${p}`, FsFlag.OPTIONAL);
        break;
      }
      default: {
        // A kernel filesystem mounted fresh (`.mqueue()`): all lib/fs/kinds.ts says.
        const mount = kindOf(s.op)!.mount!;
        newFs(destinationOf(s)!, name, mount.type, [], mount.attrs, false);
      }
    }
    done.push(s);
  }

  // Enter the root: the one .root()/.chroot() made, or a mount stacked over "/" itself
  // (e.g. .readonly('/')), which the process would not see from its current root.
  if (root) {
    w.op(Op.FS_ENTER, stepName(root), { flags: root.op === 'chroot' ? FsFlag.CHROOT : 0 });
  } else if (steps.some((s) => destinationOf(s) === '/')) {
    const top = [...steps].reverse().find((s) => destinationOf(s) === '/')!;
    w.op(Op.FS_ENTER, stepName(top));
  }
}
