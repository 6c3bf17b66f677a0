// The same-work floor (same-work.cc): building it, and taking its arguments from nsbind
// itself, so that it does what `sandbox().all().run('/bin/true')` does and nothing else.
//
// The arguments come from the plan nsbind compiles for that sandbox: its clone flags, id
// maps and setgroups, the NOFILE limit, cwd and capability range of its ops, and its
// seccomp filter's bytes, written to a file the floor loads. The floor hard-codes the
// order of the ops; if nsbind's default plan is ever different from the one the floor
// does (an op added, a map helper needed), the row says so and is not measured, rather
// than comparing nsbind with a floor that does other work.
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { benchDir, outDir, root, sandboxFor, TYPES } from './lib.mjs';

export const sameWorkBin = join(outDir, 'same-work');

/** Compiles the floor (to `bin`; nsbind's raw-syscall header and clone trampoline with it). */
export function buildSameWork(bin = sameWorkBin) {
  execFileSync('c++', ['-O2', '-Wall', '-o', bin, join(benchDir, 'same-work.cc'), join(root, 'native', 'clone.cc'), '-lpthread'], {
    stdio: 'inherit',
  });
}

const MS_PRIVATE = 1 << 18;
const CLONE_NEWCGROUP = 0x02000000;
const RLIMIT_NOFILE = 7;
const PR_SET_NO_NEW_PRIVS = 38;

/**
 * The floor's arguments after COUNT and WIDTH, from nsbind's own plan for the bench's
 * all-8 sandbox (built nsbind in dist/), the filter written to `bpfFile`; or
 * `{ problem }` when that plan is not the one the floor does.
 */
export function sameWorkArgs(bpfFile = join(outDir, 'same-work.bpf')) {
  const require = createRequire(join(root, 'dist', 'index.js'));
  const { sandbox } = require('./index.js'); // registers every concern's ops
  const { compile } = require('./plan.js');
  const sb = sandboxFor(sandbox, TYPES);
  const { Op, HEADER_SIZE, OP_SIZE, EXEC_VIA_INIT } = require('./plan/layout.js');
  const { request } = compile(sb.options, { file: '/bin/true', args: [], nfds: 3 });
  if (request.newuidmap || request.newgidmap) return { problem: 'nsbind maps ids with newuidmap here; the floor writes maps itself' };
  if (request.timeOffsets) return { problem: 'nsbind writes time offsets; the floor does not' };

  const plan = request.plan;
  const nops = plan.readUInt32LE(8);
  const arena = HEADER_SIZE + nops * OP_SIZE;
  const ops = Array.from({ length: nops }, (_, i) => {
    const at = HEADER_SIZE + i * OP_SIZE;
    return {
      kind: plan.readUInt32LE(at),
      flags: plan.readUInt32LE(at + 4),
      s: [0, 1, 2, 3].map((k) => plan.readUInt32LE(at + 8 + 4 * k)),
      n: [0, 1, 2].map((k) => Number(plan.readBigUInt64LE(at + 24 + 8 * k))),
    };
  });
  const str = (off) => plan.toString('utf8', arena + off, plan.indexOf(0, arena + off));
  // The plan the floor does, op by op, with the arguments it takes from each.
  const expected = [
    [Op.PROPAGATION, (o) => o.n[0] === MS_PRIVATE],
    [Op.UNSHARE, (o) => o.n[0] === CLONE_NEWCGROUP],
    [Op.LOOPBACK_UP, () => true],
    [Op.SETSID, () => true],
    [Op.RLIMIT, (o) => o.n[0] === RLIMIT_NOFILE],
    [Op.CHDIR, () => true],
    [Op.CAPS, (o) => o.flags === 0 && o.n[0] === 0],
    [Op.PRCTL, (o) => o.n[0] === PR_SET_NO_NEW_PRIVS && o.n[1] === 1],
    [Op.SECCOMP, () => true],
    [Op.EXEC, (o) => o.flags === EXEC_VIA_INIT],
  ];
  const kindName = (k) => Object.keys(Op).find((name) => Op[name] === k) ?? String(k);
  const same = ops.length === expected.length && ops.every((o, i) => o.kind === expected[i][0] && expected[i][1](o));
  if (!same) {
    return { problem: `nsbind's default plan is now ${ops.map((o) => kindName(o.kind)).join(', ')}: bench/same-work.cc does not do that` };
  }
  const [, , , , rlimit, chdir, caps, , seccomp] = ops;
  writeFileSync(bpfFile, plan.subarray(arena + seccomp.s[0], arena + seccomp.s[0] + seccomp.n[0] * 8));
  return {
    args: [
      '0x' + request.cloneFlags.toString(16),
      request.initPath,
      bpfFile,
      request.uidMap ?? '',
      request.gidMap ?? '',
      request.setgroups ?? '',
      String(rlimit.n[1]),
      String(rlimit.n[2]),
      String(caps.n[1]),
      str(chdir.s[0]),
    ],
  };
}

/** Runs the floor; resolves to { usPerSpawn, perSecond }. */
export function sameWork(args, count, width = 1, bin = sameWorkBin) {
  return new Promise((resolve, reject) => {
    execFile(bin, [String(count), String(width), ...args], (err, stdout, stderr) => {
      if (err) return reject(new Error(`same-work: ${stderr || err.message}`));
      resolve(JSON.parse(stdout));
    });
  });
}
