// `optional: true` namespaces (SPEC 2.1): "create it where the kernel and policy allow,
// else run without it". Decided before the plan is compiled, by asking the kernel: a
// probe child is cloned with the namespaces the sandbox would create (native/optional.cc), so the
// answer covers everything that can refuse -- a kernel built without the type,
// kernel.unprivileged_userns_clone, AppArmor's restriction, a container's seccomp profile,
// user.max_*_namespaces -- which reading sysctl files cannot. A probe costs one clone
// (well under a millisecond, about 1 ms with a network namespace) and its answer is kept
// for the life of the process, so only the first spawn of a configuration pays it.
//
// Why not spawn first and retry without the optional namespaces when the clone fails:
// the stdio pipes and the SandboxProcess are handed to the caller before the clone, so a
// retry would have to rebuild them behind the caller's back.
import { native } from './binding.js';
import { NAMESPACE_TYPES, type NamespaceType, type SandboxOptions } from './options.js';
import { createdNamespaces } from './namespaces/created.js';
import { cloneFlag } from './namespaces/types.js';

/** Refusals that do not change while this process runs (unlike ENOSPC, a count limit). */
const LASTING = new Set([1 /* EPERM */, 13 /* EACCES */, 22 /* EINVAL */, 38 /* ENOSYS */]);
const answers = new Map<number, number>();

function flagsOf(types: Iterable<NamespaceType>): number {
  let f = 0;
  for (const t of types) f |= cloneFlag(t);
  return f;
}

/** 0 when the kernel lets this process create these namespaces, else -errno. */
function allowed(flags: number): number {
  const known = answers.get(flags);
  if (known !== undefined) return known;
  const r = native().probeClone(flags);
  if (r === 0 || LASTING.has(-r)) answers.set(flags, r);
  return r;
}

function withoutTypes(options: SandboxOptions, drop: Set<NamespaceType>): SandboxOptions {
  const namespaces = { ...(options.namespaces ?? {}) };
  // Without its user namespace a sandbox says so (`.user(false)`): not saying would make one.
  for (const t of drop) {
    if (t === 'user') namespaces.user = false;
    else delete namespaces[t];
  }
  return { ...options, namespaces };
}

/**
 * The options with every optional namespace the kernel refuses removed. Types are tried
 * in the kernel's order (user first, as a refused user namespace decides the others for
 * an unprivileged caller), each together with everything already accepted, since
 * permission depends on the combination. Required namespaces are never probed: their
 * refusal is reported by the spawn itself, with the step and a hint.
 */
export function resolveOptional(options: SandboxOptions): SandboxOptions {
  const ns = options.namespaces ?? {};
  const optional = NAMESPACE_TYPES.filter((t) => (ns[t] || undefined)?.optional === true && (ns[t] || undefined)?.join === undefined);
  if (optional.length === 0) return options;
  const dropped = new Set<NamespaceType>();
  const required = createdNamespaces(withoutTypes(options, new Set(optional)));
  for (const [i, t] of optional.entries()) {
    // A type another option needs anyway (filesystem steps need mnt) is not optional.
    if (required.has(t)) continue;
    const untried = new Set([...dropped, ...optional.slice(i + 1)]);
    const trial = createdNamespaces(withoutTypes(options, untried));
    if (allowed(flagsOf(trial)) !== 0) dropped.add(t);
  }
  return dropped.size === 0 ? options : withoutTypes(options, dropped);
}
