// `.files()` (SPEC 2.5): "read everything but secrets, write only here" as one step.
//
// The policy is resolved when the method is called (`~`, relative paths, `..`, globs,
// symlinks) and stored resolved in `sb.options.fs`, so what will be enforced is what the
// caller can read there. At spawn time it compiles to the existing primitives, in this
// order (lib/fs/compile.ts):
//
//   1. readonly /            nothing is writable...
//   2. bind P over P         ...except each write.allow path (its own, writable, mount,
//                            captured before any step like every bind source)
//   3. readonly D            each write.deny path and each mandatory one (PROTECTED)
//                            inside an allowed path, where it exists
//   4. mask R                each read.deny path (a file reads empty, a directory is empty)
//
// and, where the kernel has Landlock, a ruleset that allows writes only beneath
// write.allow (lib/security/landlock.ts): files created after the start, renames and
// hard links cannot get around the mounts.
//
// Symlinks: every path is replaced by its real path when it exists. An allowed path that
// is a symlink to /etc allows /etc, which is what the caller named, and the resolved
// policy shows it; a symlink *inside* an allowed tree that points out of it leads to a
// read-only mount, and Landlock's rule is on the directory, not on names.
import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { invalid } from '../errors.js';
import type { FsStep } from '../options.js';
import * as v from '../validate.js';
import { expandHome } from '../security/landlock.js';
import type { FilesStep, FilesystemStep } from './steps.js';

/**
 * Inside every allowed path these stay read-only unless named in `write.allow` itself:
 * what a program could change to run code later as the user (git hooks and config, shell
 * start-up files, npm's config) or to reach other machines as the user (keys, tokens).
 */
export const PROTECTED = [
  '.git/hooks',
  '.git/config',
  '.bashrc',
  '.bash_profile',
  '.zshrc',
  '.profile',
  '.npmrc',
  '.ssh',
  '.gnupg',
  '.aws',
  '.config/gh',
] as const;

/** At most this many paths in one policy, globs expanded (each is a mount). */
export const MAX_POLICY_PATHS = 200;

/** What `.files()` takes. */
export interface FilesPolicy {
  /** Paths that read as empty (files) or empty directories; everything else stays readable. */
  read?: { deny?: string[] };
  /**
   * Paths that stay writable (with what is beneath); everything else becomes read-only.
   * `deny`: paths inside those that stay read-only all the same.
   */
  write?: { allow?: string[]; deny?: string[] };
}


function under(path: string, top: string): boolean {
  return top === '/' || path === top || path.startsWith(top + '/');
}

/** A glob component (`*`, `?` and `**` only) as a RegExp over one name. */
function componentRegExp(c: string): RegExp {
  const body = c.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]');
  return new RegExp(`^${body}$`);
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isRealDir(p: string): boolean {
  try {
    return lstatSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Expands `*`, `?` and `**` (any depth, not through symlinked directories) in the
 * components of an absolute path. `*` matches names starting with a dot too: a deny of
 * `~/.env*` or `secrets/*` must not miss hidden files.
 */
export function expandGlob(abs: string, option: string): string[] {
  const parts = abs.split('/').filter(Boolean);
  const first = parts.findIndex((c) => /[*?]/.test(c));
  if (first < 0) return [abs];
  const out: string[] = [];
  const walk = (dir: string, rest: string[]) => {
    if (out.length > MAX_POLICY_PATHS) throw invalid(option, `'${abs}' matches more than ${MAX_POLICY_PATHS} paths`);
    if (rest.length === 0) {
      out.push(dir);
      return;
    }
    const [c, ...tail] = rest;
    const join = (name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);
    if (c === '**') {
      walk(dir, tail); // zero directories
      for (const name of listDir(dir)) if (isRealDir(join(name))) walk(join(name), rest);
    } else if (/[*?]/.test(c)) {
      const re = componentRegExp(c);
      for (const name of listDir(dir).sort()) if (re.test(name)) walk(join(name), tail);
    } else {
      walk(join(c), tail);
    }
  };
  walk('/' + parts.slice(0, first).join('/'), parts.slice(first));
  return [...new Set(out)];
}

/** The real path where the path exists; else the path with its existing prefix resolved. */
function real(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    const i = p.lastIndexOf('/');
    if (i <= 0) return p;
    const parent = real(p.slice(0, i));
    return parent === '/' ? p.slice(i) : parent + p.slice(i);
  }
}

function isFile(p: string): boolean {
  try {
    return !statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** One list of the policy: each entry expanded (`~`, relative, globs) and made real. */
function resolveList(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(option, `expected an array of paths, got ${v.describe(value)}`);
  const out: string[] = [];
  value.forEach((p, i) => {
    const opt = `${option}[${i}]`;
    const abs = resolve(expandHome(p, opt));
    const parts = abs.split('/');
    const globAt = parts.findIndex((c) => /[*?]/.test(c));
    // Globs only in the last components: a wildcard directory above a literal name would
    // silently match nothing as often as something.
    if (globAt >= 0 && parts.slice(globAt).some((c) => !/[*?]/.test(c) && c !== '**')) {
      throw invalid(opt, `'${p}': '*' and '**' may appear only in the last components of a path`);
    }
    for (const m of expandGlob(abs, opt)) out.push(real(m));
  });
  if (out.length > MAX_POLICY_PATHS) throw invalid(option, `more than ${MAX_POLICY_PATHS} paths`);
  return [...new Set(out)];
}

/** The resolved policy: what `sb.options.fs` holds for a `.files()` call. */
export function resolvePolicy(policy: unknown): FilesStep {
  if (policy === undefined) throw invalid('files.policy', 'expected { read: { deny }, write: { allow, deny } }');
  const o = v.plainObject(policy, 'files.policy');
  v.knownKeys(o, ['read', 'write'], 'files');
  const read = v.plainObject(o.read, 'files.read');
  v.knownKeys(read, ['deny'], 'files.read');
  const write = v.plainObject(o.write, 'files.write');
  v.knownKeys(write, ['allow', 'deny'], 'files.write');
  const readDeny = resolveList(read.deny, 'files.read.deny');
  const allow = resolveList(write.allow, 'files.write.allow');
  const writeDeny = resolveList(write.deny, 'files.write.deny');
  if (allow.includes('/')) {
    throw invalid('files.write.allow', "'/' would make everything writable: name the directories that may be written");
  }
  // Mandatory read-only paths inside each allowed one, unless allowed by name.
  const prot: string[] = [];
  for (const a of allow) {
    if (isFile(a)) continue; // an allowed file has nothing inside
    for (const rel of PROTECTED) {
      const p = real(`${a}/${rel}`);
      if (!allow.includes(p) && !writeDeny.includes(p) && !prot.includes(p)) prot.push(p);
    }
  }
  // A protected path may also be an ancestor's: ~/proj allowed, ~/.ssh is not beneath it.
  return { op: 'files', read: { deny: readDeny }, write: { allow, deny: writeDeny }, protected: prot.filter((p) => allow.some((a) => under(p, a))) };
}
