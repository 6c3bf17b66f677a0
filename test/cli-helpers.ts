// Running the built `nsbind` command as users do: a separate process, stdio of its own.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './helpers.js';

export const MAIN = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build:ts' before these tests`);

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  output: (string | null)[];
}

/** `nsbind ARGS...`, waited for. */
export function nsbind(args: string[], o: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000, ...o });
  return {
    status: r.status,
    signal: r.signal,
    stdout: String(r.stdout ?? ''),
    stderr: String(r.stderr ?? ''),
    output: (r.output ?? []).map((x) => (x == null ? null : String(x))),
  };
}

/** Whether this build's library has `name` (filled in by other parts of nsbind as they land). */
export function libraryHas(name: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(root, 'dist', 'index.js')) as Record<string, unknown>)[name] !== undefined;
}

/** Whether the Sandbox builder has this method. */
export function builderHas(method: string): boolean {
  const { sandbox } = require(join(root, 'dist', 'index.js')) as typeof import('../lib/index.js');
  return typeof (sandbox() as unknown as Record<string, unknown>)[method] === 'function';
}
