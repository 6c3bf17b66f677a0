// enter(): a Sandbox that joins the namespaces of a running process, like
// `nsenter --all --target PID`. Entering a running sandbox runs a second program beside
// the first ("docker exec").
import { native } from './binding.js';
import { invalid } from './errors.js';
import { checkPid, checkTypes, describe, type HasPid } from './namespaces/target.js';
import { methodOf, namespaceTypes, type NamespaceType } from './namespaces/types.js';
import { sandbox, supportedNamespaces, type Sandbox } from './sandbox.js';


/**
 * A sandbox that joins every namespace of `target` (or only `types`), in the order the
 * kernel needs (user first, mount last). Namespaces the caller already shares with the
 * target are left alone, as nsenter does. Extend it like any sandbox, then run it.
 * Synchronous: the target is checked now (and its namespaces opened at spawn time).
 *
 * @param target a host pid or a `SandboxProcess`
 * @param types which namespaces to join
 * @default types every type the kernel has
 * @example
 * const server = sandbox().user().net().uts({ hostname: 'box' }).spawn('node', ['server.js']);
 * const { stdout } = await enter(server).env({ DEBUG: '1' }).run('hostname'); // 'box\n'
 */
export function enter(target: number | HasPid, types?: readonly NamespaceType[]): Sandbox {
  native(); // ENOTSUP off Linux, like every other call
  let pid: number;
  if (typeof target === 'number') pid = checkPid(target, 'enter.target');
  else if (target !== null && typeof target === 'object' && 'pid' in target) {
    if (target.pid === undefined) throw invalid('enter.target', 'the process has no pid: it has not started (or failed to start)');
    pid = checkPid(target.pid, 'enter.target');
  } else {
    throw invalid('enter.target', `expected a pid or a SandboxProcess, not ${describe(target)}`, 'to join one namespace file, use e.g. sandbox().net({ join: path })');
  }
  const wanted = types === undefined ? supportedNamespaces() : checkTypes(types, 'enter.types');
  let sb = sandbox();
  for (const t of namespaceTypes) {
    if (wanted.includes(t)) sb = sb[methodOf(t)]({ join: pid });
  }
  return sb;
}
