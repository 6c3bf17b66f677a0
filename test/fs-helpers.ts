// Helpers for the filesystem tests: run a shell script in a sandbox and read its view.
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { NsbindError, Sandbox } from '../lib/index.js';

/** Runs `sh -c script` in the sandbox; expects exit 0 unless told otherwise. */
export async function sh(sb: Sandbox, script: string, code = 0): Promise<string> {
  const r = await sb.run('/bin/sh', ['-c', script]);
  expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code });
  return r.stdout;
}

/** The setup error of a sandbox that must fail. */
export async function setupError(sb: Sandbox): Promise<NsbindError> {
  const e = await sb.run('/bin/true').then(
    () => undefined,
    (err: NsbindError) => err,
  );
  expect(e, 'the sandbox should have failed to start').toBeDefined();
  return e!;
}

/** A fresh directory for one test, on the host's /tmp (the test removes it). */
export function scratch(prefix = 'nsbind-fs-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // A root caller's program runs as an unprivileged host id (SPEC 2.1): it must be able to
  // reach what the tests bind for it, as any other user's program would.
  chmodSync(d, 0o755);
  return d;
}

/**
 * A sandbox whose root is a tmpfs with the host's /usr bound read-only and the usual
 * merged-/usr links, so /bin/sh runs inside.
 */
export function minimalRoot(sb: Sandbox): Sandbox {
  return sb.roBind('/usr').symlink('usr/bin', '/bin').symlink('usr/sbin', '/sbin').symlink('usr/lib', '/lib').symlink('usr/lib64', '/lib64');
}
