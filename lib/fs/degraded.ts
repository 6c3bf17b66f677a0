// Degraded mode (SPEC 2.5): where this process may not create a user namespace (Ubuntu's
// AppArmor restriction, a container's seccomp profile, user.max_user_namespaces=0) and
// is not root, `.files()` cannot be mounts. It is then enforced by Landlock alone, with
// no namespace: the `files` steps leave the filesystem steps (so nothing needs a mount
// or user namespace) and become Landlock rules, which apply with seccomp, rlimits and
// no_new_privs as always. `isolation` then lists no namespace for them, and
// `isolation.landlock` the ABI.
//
// Landlock only allows beneath paths, it cannot deny beneath an allowed one; a deny is
// made by allowing everything *around* it, from the files there now:
//   read.deny D:  READ on every entry of each ancestor of D that does not lead to D, and
//                 READ_DIR on the ancestors (names in D can be listed, never read);
//   write.allow A minus its denied and mandatory paths: WRITE on A when nothing beneath
//                 it is denied, else on every entry of A that does not lead to one.
// So in degraded mode a file created later beside a denied path (in one of its
// ancestors) is not readable, and where an allowed directory holds a mandatory path
// (.git/hooks), new files cannot be created directly in it or in the directories leading
// to that path. The README says so.
import { lstatSync, readdirSync } from 'node:fs';
import { native } from '../binding.js';
import type { FsStep, SandboxOptions } from '../options.js';
import { createdNamespaces } from '../namespaces/created.js';
import type { FilesStep } from './steps.js';

let userns: boolean | undefined;
/** Whether this process may create a user namespace (one probe per process). */
function usernsAllowed(): boolean {
  if (userns === undefined) userns = native().probeClone(native().constants.CLONE_NEWUSER) === 0;
  return userns;
}

export interface DegradedRule {
  path: string;
  access: 'read' | 'readDir' | 'write';
}

const MAX_RULES = 4096;

function under(path: string, top: string): boolean {
  return top === '/' || path === top || path.startsWith(top + '/');
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir).map((n) => (dir === '/' ? `/${n}` : `${dir}/${n}`));
  } catch {
    return [];
  }
}

/** Rules granting `access` on everything beneath `top` except `denied` (and `via` on the way). */
export function grantExcept(top: string, denied: readonly string[], access: DegradedRule['access'], via: DegradedRule['access'] | undefined, out: DegradedRule[]): void {
  if (denied.some((d) => under(top, d))) return;
  const inside = denied.filter((d) => under(d, top));
  if (inside.length === 0) {
    out.push({ path: top, access });
  } else {
    if (via) out.push({ path: top, access: via });
    for (const e of entries(top)) grantExcept(e, inside, access, via, out);
  }
  if (out.length > MAX_RULES) throw new Error('too many Landlock rules');
}

function exists(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The Landlock rules of the `.files()` steps, in degraded mode (denies that exist now). */
export function degradedRules(steps: readonly FilesStep[]): DegradedRule[] {
  const out: DegradedRule[] = [];
  const readDeny = steps.flatMap((s) => s.read.deny).filter(exists);
  if (readDeny.length > 0) grantExcept('/', readDeny, 'read', 'readDir', out);
  for (const s of steps) {
    const keep = [...s.write.deny, ...s.protected].filter(exists);
    for (const a of s.write.allow) grantExcept(a, keep, 'write', undefined, out);
  }
  return out;
}

/**
 * The options for a host that refuses user namespaces: `.files()` steps move to
 * `options.filesDegraded` (compiled by lib/security/landlock.ts). Unchanged where a
 * user namespace can be created, and when there is no `.files()`.
 *
 * Root is asked too: uid 0 is no proof of the right to make a user namespace. Root of a
 * user namespace without capabilities (Node inside another sandbox, whose seccomp refuses
 * nested user namespaces) or root in a container whose profile refuses CLONE_NEWUSER has
 * euid 0 and is refused all the same; only the kernel's answer (one probe per process)
 * tells.
 */
export function degradeFiles(options: SandboxOptions): SandboxOptions {
  if (!createdNamespaces(options).has('user') || usernsAllowed()) return options;
  // The user namespace every sandbox gets by default (SPEC 2.1) is the one refused here:
  // unless the caller asked for it by name, it falls away (SPEC 2.5: seccomp, rlimits and
  // .files() by Landlock still apply, with no namespace; `isolation` says so).
  const namespaces = options.namespaces?.user === undefined ? { ...(options.namespaces ?? {}), user: false as const } : options.namespaces;
  // `degraded`: lib/security/landlock.ts gives the program a Landlock domain in any case.
  // Without a user namespace it has Node's own ids, and the domain is what keeps it from
  // ptracing Node (or reading its memory, environ, descriptors): Landlock refuses that
  // from inside a domain to any process outside it.
  const fs = options.fs ?? [];
  if (!fs.some((s) => s.op === 'files')) return { ...options, namespaces, degraded: true } as SandboxOptions;
  const files = fs.filter((s) => s.op === 'files') as unknown as FilesStep[];
  return { ...options, namespaces, fs: fs.filter((s) => s.op !== 'files') as FsStep[], filesDegraded: files, degraded: true } as SandboxOptions;
}
