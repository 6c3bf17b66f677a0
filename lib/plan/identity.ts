// The setup's credential switches: to the user namespace's own ids as soon as the
// filesystem sources are captured (identity), and to `.as()` after everything that needs
// the setup's capabilities (credentials). Called from lib/plan.ts and lib/fs/compile.ts.
import { invalid } from '../errors.js';
import { userOptions } from '../options.js';
import { mapped, ownSetgroupsAllowed } from '../namespaces/idmap.js';
import { Op } from './layout.js';
import type { IdMaps, PlanContext } from './context.js';

/**
 * setgroups in a new user namespace: allowed for root, denied for an unprivileged caller
 * (the kernel takes its gid map only so) -- and for root of a namespace that denies it
 * itself (a rootless container: a child namespace cannot allow what its parent denies).
 */
export function defaultSetgroups(privileged: boolean): 'allow' | 'deny' {
  return privileged && ownSetgroupsAllowed() ? 'allow' : 'deny';
}

/**
 * The namespace's own ids (SPEC 2.1), taken as soon as the filesystem sources are captured
 * (compileFilesystem calls this; without filesystem steps, plan.ts does before `.as()`):
 * the setup child starts with the caller's host credentials, which the kernel keeps (shown
 * as 65534) when the map does not contain them -- a root caller's default map, a range
 * through newuidmap. The program must never run with them, and files the setup creates in
 * filesystems it made must get a mapped owner (an unmapped one is EOVERFLOW). Switching to
 * the namespace's root keeps every capability in it (the kernel raises the effective set
 * when the new euid is the namespace's root), so the rest of the setup is unchanged; what
 * `.as()` asks comes later, as for an unprivileged caller. Sources are captured before, with
 * the caller's rights, as the caller sees them (SPEC 2.2). The unprivileged default
 * (inside 0 = the caller) needs no switch: that spawn path has no extra step.
 */
export function identity(ctx: PlanContext, maps: IdMaps | undefined): void {
  if (!maps || ctx.identityDone) return;
  ctx.identityDone = true;
  const ids: { uid?: number; gid?: number } = {};
  if (mapped(maps.uidMap, maps.uid) !== process.geteuid!()) ids.uid = maps.uid;
  if (mapped(maps.gidMap, maps.gid) !== process.getegid!()) ids.gid = maps.gid;
  switchIds(ctx, ids);
}

/** `.as()`, after everything that needs the setup's capabilities. */
export function credentials(ctx: PlanContext): void {
  if (ctx.options.as) switchIds(ctx, ctx.options.as);
}

/** Supplementary groups, then gid, then uid, then the parent-death signal again. */
function switchIds(ctx: PlanContext, as: { uid?: number; gid?: number; groups?: number[] }): void {
  const { options, writer: w, created, privileged } = ctx;
  if (as.uid === undefined && as.gid === undefined && as.groups === undefined) return;
  const setgroupsAllowed =
    !created.has('user') || (userOptions(options)?.setgroups ?? defaultSetgroups(privileged)) === 'allow';
  // Clearing the supplementary groups implicitly is only safe where we know setgroups is
  // allowed: not in a joined user namespace, whose /proc/PID/setgroups may say deny.
  const joinedUser = userOptions(options)?.join !== undefined;
  const groups =
    as.groups ?? (setgroupsAllowed && !joinedUser && (as.uid !== undefined || as.gid !== undefined) ? [] : undefined);
  if (groups !== undefined) {
    if (!setgroupsAllowed && groups.length > 0) {
      throw invalid('as.groups', 'supplementary groups need setgroups allowed in the user namespace', "use .user({ setgroups: 'allow' })");
    }
    if (setgroupsAllowed) {
      const blob = Buffer.alloc(Math.max(4, groups.length * 4));
      groups.forEach((g, i) => blob.writeUInt32LE(g, i * 4));
      w.op(Op.SETGROUPS, `setgroups ${groups.join(',')}`, { s: [w.blob(blob, 4)], n: [groups.length] });
    }
  }
  if (as.gid !== undefined) w.op(Op.SETRESGID, `setgid ${as.gid}`, { n: [as.gid] });
  if (as.uid !== undefined) w.op(Op.SETRESUID, `setuid ${as.uid}`, { n: [as.uid] });
  if (options.dieWithParent !== false && (as.uid !== undefined || as.gid !== undefined)) {
    w.op(Op.DIE_WITH_PARENT, 'die with parent');
  }
}
