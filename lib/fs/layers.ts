// Which filesystem a path of the sandbox lands on, as far as the steps tell: nsbind may
// create files and directories only in filesystems the sandbox made itself (a tmpfs, an
// overlay, the empty root of `.root()`), never on the host's. The child checks again at
// run time by mount id (symlinks can point anywhere); this catches the mistake up front.
import { STEP_KINDS, type StepKind } from './kinds.js';
import { destinationOf, type FilesystemStep } from './steps.js';

interface Layer {
  path: string;
  /** The sandbox made this filesystem: creating things in it changes nothing on the host. */
  made: boolean;
}

function under(path: string, top: string): boolean {
  return top === '/' || path === top || path.startsWith(top + '/');
}

/** The mounts the steps make, in the order the child makes them (the root first). */
export function layers(steps: readonly FilesystemStep[]): Layer[] {
  const out: Layer[] = [{ path: '/', made: false }];
  const root = steps.find((s) => s.op === 'root' || s.op === 'chroot');
  if (root) out.push({ path: '/', made: root.op === 'root' && root.dir === undefined });
  for (const s of steps) {
    const layer = (STEP_KINDS[s.op] as StepKind).layer;
    if (layer) out.push({ path: destinationOf(s)!, made: layer === 'made' });
  }
  return out;
}

/** Whether the filesystem that `path` lies on (after `steps`) is one the sandbox made. */
export function creatable(steps: readonly FilesystemStep[], path: string): boolean {
  let made = false;
  for (const l of layers(steps)) if (under(path, l.path)) made = l.made;
  return made;
}

/** The parent directory of an absolute, normalised path. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
