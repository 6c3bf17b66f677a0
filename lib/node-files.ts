// What a forked Node child needs to see inside the sandbox, and which of it the
// sandbox's filesystem steps hide. When the root changes (`.root()`, `.chroot()`) or a
// step covers a path (`.tmpfs()`, `.mask()`, `.overlay()`, a bind from elsewhere), fork
// binds these read-only at the same paths, so that `node` still starts:
//   - the executable, its ELF interpreter and every shared library it loads, found as
//     the dynamic loader will look for them inside (rpath, LD_LIBRARY_PATH, runpath,
//     then the directories the running node's libraries came from, then the defaults);
//   - the module's package directory (the nearest one with a package.json: its
//     node_modules come along);
//   - files that execArgv preloads (`--require`, `--import`, `--loader`).
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readElfDeps } from './elf.js';
import { kindOf } from './fs/kinds.js';
import type { FsStep } from './options.js';

const DEFAULT_LIBRARY_DIRS = ['/lib64', '/usr/lib64', '/lib', '/usr/lib'];

/** Directories the running process's shared libraries were loaded from (multiarch dirs). */
function loadedLibraryDirs(): string[] {
  const dirs = new Set<string>();
  try {
    for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
      const path = line.slice(line.indexOf('/'));
      if (line.includes('/') && /\.so(\.|$)/.test(path)) dirs.add(dirname(path));
    }
  } catch {
    // no /proc: the defaults will do
  }
  return [...dirs];
}

function expandOrigin(dirs: string[], object: string): string[] {
  const origin = dirname(realpathSync(object));
  return dirs.map((d) => d.replace(/\$(ORIGIN|\{ORIGIN\})/g, origin));
}

const runtimeCache = new Map<string, string[]>();

/**
 * The executable, its interpreter and its shared libraries, as paths the child's loader
 * will open (symlinks such as `libc.so.6` kept as they are named).
 */
export function runtimeFiles(execPath: string): string[] {
  const cached = runtimeCache.get(execPath);
  if (cached) return cached;
  const out = new Set<string>([execPath]);
  const root = readElfDeps(execPath);
  if (root.interpreter) out.add(root.interpreter);
  const env = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const system = [...loadedLibraryDirs(), ...DEFAULT_LIBRARY_DIRS];
  const seen = new Set<string>();
  const visit = (object: string, deps: ReturnType<typeof readElfDeps>) => {
    const dirs = [
      ...(deps.runpath.length ? [] : expandOrigin(deps.rpath, object)),
      ...env,
      ...expandOrigin(deps.runpath, object),
      ...system,
    ];
    for (const name of deps.needed) {
      if (seen.has(name)) continue;
      seen.add(name);
      const found = name.includes('/') ? name : dirs.map((d) => join(d, name)).find((p) => existsSync(p));
      if (!found) continue; // the loader will say which one is missing
      out.add(found);
      try {
        visit(found, readElfDeps(found));
      } catch {
        // a linker script or unreadable file: the loader decides
      }
    }
  };
  visit(execPath, root);
  const files = [...out];
  runtimeCache.set(execPath, files);
  return files;
}

/** The nearest directory at or above `file` with a package.json, else its directory. */
export function packageDir(file: string): string {
  let dir = dirname(file);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(file);
    dir = up;
  }
}

const PRELOAD_FLAGS = new Set(['--require', '-r', '--import', '--loader', '--experimental-loader']);

/** Files that `execArgv` makes node load before the module, resolved from `cwd`. */
export function preloadFiles(execArgv: readonly string[], cwd: string): string[] {
  const specs: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i];
    const eq = a.indexOf('=');
    if (eq > 0 && PRELOAD_FLAGS.has(a.slice(0, eq))) specs.push(a.slice(eq + 1));
    else if (PRELOAD_FLAGS.has(a) && i + 1 < execArgv.length) specs.push(execArgv[++i]);
  }
  const out: string[] = [];
  const req = createRequire(join(cwd, 'noop.js'));
  for (const spec of specs) {
    try {
      if (spec.startsWith('file:')) out.push(fileURLToPath(spec));
      else if (isAbsolute(spec) || spec.startsWith('.')) out.push(resolve(cwd, spec));
      else {
        const resolved = req.resolve(spec);
        if (isAbsolute(resolved)) out.push(resolved); // not a builtin such as node:fs
      }
    } catch {
      // node will report a loader it cannot find
    }
  }
  return out;
}

function under(path: string, dir: string): boolean {
  return dir === '/' || path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function target(step: FsStep): string | undefined {
  const t = step.dst ?? step.path;
  return typeof t === 'string' ? t : undefined;
}

/** A bind of a path onto itself keeps what is under it visible. */
function identityBindCovers(step: FsStep, need: string): boolean {
  if (step.op !== 'bind') return false;  // roBind() is a bind step with readonly: true
  const dst = target(step);
  const src = typeof step.src === 'string' ? step.src : undefined;
  return dst !== undefined && src !== undefined && src === dst && under(need, dst);
}


/**
 * The paths among `needs` that the filesystem steps hide: everything after `.root()` or
 * `.chroot()` (whatever order the steps are in: sources are host paths, targets are in
 * the new root), else whatever a later step covers. A bind of the same path keeps a
 * path visible.
 */
export function hiddenPaths(steps: readonly FsStep[], needs: readonly string[]): string[] {
  const rootChanged = steps.some((s) => s.op === 'root' || s.op === 'chroot');
  return needs.filter((need) => {
    if (rootChanged) return !steps.some((s) => identityBindCovers(s, need));
    let hidden = false;
    for (const s of steps) {
      if (identityBindCovers(s, need)) hidden = false;
      else if (kindOf(s.op)?.hides) {
        const t = target(s);
        if (t !== undefined && under(need, t)) hidden = true;
      }
    }
    return hidden;
  });
}

/**
 * Whether a bind at `path` can be made: after `.root(dir)`/`.chroot(dir)` the mount
 * point must already exist in `dir`, unless a filesystem the sandbox makes (a tmpfs,
 * an overlay, a fresh root) holds it, where nsbind creates it.
 */
export function mountPointMissing(steps: readonly FsStep[], path: string): boolean {
  const root = steps.find((s) => s.op === 'root' || s.op === 'chroot');
  if (!root || typeof root.dir !== 'string') return false;
  if (steps.some((s) => (s.op === 'tmpfs' || s.op === 'overlay') && under(path, target(s) ?? '\0'))) return false;
  return !existsSync(join(root.dir, path));
}

/** Drops paths that lie inside another path of the list that is a directory. */
export function outermost(paths: readonly string[]): string[] {
  const dirs = paths.filter((p) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  });
  const unique = [...new Set(paths)];
  return unique.filter((p) => !dirs.some((d) => d !== p && under(p, d)));
}
