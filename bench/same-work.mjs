// The same-work floor (same-work.cc): building it, and taking its arguments from nsbind
// itself, so that it does what `sandbox().all().run('/bin/true')` does and nothing else.
//
// The arguments come from the request nsbind compiles for that sandbox: its clone flags,
// id maps, setgroups and parent-death signal, and its plan, byte for byte, in a file the
// floor walks op by op. When nsbind's default plan holds an op the floor does not do (or
// needs a map helper, time offsets), the row says so and is not measured, rather than
// comparing nsbind with a floor that does other work.
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

/** The op kinds same-work.cc does (its known_op(); keep the two lists together). */
const FLOOR_OPS = [
  'SETSID', 'PROPAGATION', 'SETHOSTNAME', 'SETDOMAINNAME', 'LOOPBACK_UP', 'UNSHARE', 'SETGROUPS', 'SETRESGID',
  'SETRESUID', 'UMASK', 'CHDIR', 'MOUNT', 'PRCTL', 'DIE_WITH_PARENT', 'RLIMIT', 'CAPS', 'SECCOMP', 'EXEC',
];

/**
 * The floor's arguments after COUNT and WIDTH, from nsbind's own request for the bench's
 * all-8 sandbox (built nsbind in dist/), its plan written to `planFile`; or `{ problem }`
 * when that request asks for something the floor does not do. `configure` changes that
 * sandbox (the test uses it to run plans with more ops through the floor); the bench
 * never passes one.
 */
export function sameWorkArgs(planFile = join(outDir, 'same-work.plan'), configure = (sb) => sb, { init = true } = {}) {
  const require = createRequire(join(root, 'dist', 'index.js'));
  const { sandbox } = require('./index.js'); // registers every concern's ops
  const { compile } = require('./plan.js');
  const sb = configure(sandboxFor(sandbox, TYPES));
  const { Op, HEADER_SIZE, OP_SIZE, EXEC_VIA_INIT } = require('./plan/layout.js');
  const { request } = compile(sb.options, { file: '/bin/true', args: [], nfds: 3 });
  if (request.newuidmap || request.newgidmap) return { problem: 'nsbind maps ids with newuidmap here; the floor writes maps itself' };
  if (request.timeOffsets) return { problem: 'nsbind writes time offsets; the floor does not' };
  if (request.extraFds?.length) return { problem: 'nsbind passes extra descriptors to the child; the floor does not' };

  const plan = request.plan;
  const nops = plan.readUInt32LE(8);
  const kinds = Array.from({ length: nops }, (_, i) => plan.readUInt32LE(HEADER_SIZE + i * OP_SIZE));
  const flagsOf = (i) => plan.readUInt32LE(HEADER_SIZE + i * OP_SIZE + 4);
  const kindName = (k) => Object.keys(Op).find((name) => Op[name] === k) ?? String(k);
  const names = kinds.map(kindName);
  const unknown = names.filter((n) => !FLOOR_OPS.includes(n));
  if (unknown.length) {
    return { problem: `nsbind's default plan now has ${[...new Set(unknown)].join(', ')}: bench/same-work.cc does not do that` };
  }
  const how = init ? 'through the init' : 'by the child itself (no init)';
  if (names.at(-1) !== 'EXEC' || names.indexOf('EXEC') !== nops - 1 || flagsOf(nops - 1) !== (init ? EXEC_VIA_INIT : 0)) {
    return { problem: `nsbind's plan (${names.join(', ')}) does not end in one exec ${how}` };
  }
  // Without the init the floor runs every op in the child; nsbind must too (an initFrom
  // would hand part of the plan to nsbind-init, a second exec the floor does not do).
  if (!init && request.initFrom !== undefined && request.initFrom < nops) {
    return { problem: `nsbind runs ops ${request.initFrom}.. of this plan in nsbind-init; the floor does not` };
  }
  writeFileSync(planFile, plan);
  return {
    args: [
      '0x' + request.cloneFlags.toString(16),
      planFile,
      request.uidMap ?? '',
      request.gidMap ?? '',
      request.setgroups ?? '',
      String(request.pdeathsig ?? 0),
    ],
    ops: names,
  };
}

/**
 * The floor's arguments for `sandbox().all().pid({ init: false })`: the child execs
 * /bin/true itself as PID 1 (same-work.cc takes the mode from the plan's EXEC op).
 */
export function sameWorkNoInitArgs(planFile = join(outDir, 'same-work-noinit.plan')) {
  return sameWorkArgs(planFile, (sb) => sb.pid({ init: false }), { init: false });
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
