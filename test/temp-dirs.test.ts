// The check behind vitest.config.mts's global setup (test/helpers/temp-dirs.ts): a directory a
// test made and left is found, removed, and named; one it removed is not.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { check, leftovers } from './helpers/temp-dirs.js';

describe('the temporary-directory check', () => {
  it('names and removes what a test left, not what it removed', () => {
    const logDir = mkdtempSync(join(tmpdir(), 'nsbind-temp-check-'));
    const log = join(logDir, 'made');
    const left = mkdtempSync(join(tmpdir(), 'nsbind-temp-left-'));
    mkdirSync(join(left, 'inside'));
    const removed = mkdtempSync(join(tmpdir(), 'nsbind-temp-gone-'));
    rmSync(removed, { recursive: true });
    writeFileSync(log, `${left}\n${removed}\n${left}\n`);
    expect(leftovers(log)).toEqual([left]);
    expect(() => check(log)).toThrow(`tests left 1 temporary directory behind (now removed): ${left}`);
    expect(existsSync(left)).toBe(false);
    expect(existsSync(logDir)).toBe(false);
  });

  it('is on for this run: the directories this file makes are in its log', () => {
    const log = process.env.NSBIND_TEST_TEMP_LOG;
    expect(log).toBeTruthy();
    const d = mkdtempSync(join(tmpdir(), 'nsbind-temp-seen-'));
    try {
      expect(leftovers(log!)).toContain(d);
    } finally {
      rmSync(d, { recursive: true });
    }
    expect(leftovers(log!)).not.toContain(d);
  });
});
