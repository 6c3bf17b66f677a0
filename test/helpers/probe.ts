// The escape suite's attacker (test/fixtures/escape-probe.c), compiled once per test
// file into a temporary directory that uid 65534 can read, for the rootless cases.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Compiles the probe; returns its path and a function that removes it. */
export function buildProbe(): { probe: string; dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'nsbind-escape-'));
  chmodSync(dir, 0o755);
  const probe = join(dir, 'probe');
  execFileSync('cc', ['-O1', '-o', probe, join(__dirname, '..', 'fixtures', 'escape-probe.c'), '-lpthread']);
  chmodSync(probe, 0o755);
  return { probe, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
