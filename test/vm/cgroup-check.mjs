// Run by test/vm/guest.sh inside the VM (pure cgroup v2), as the only process of its
// cgroup or beside others, as root or not. `node cgroup-check.mjs ok|shared`:
//   ok      every limit works (memory with reason 'oom', pids, cpu), Node ends up in
//           <own>/nsbind-node (or stays where it is with NSBIND_CGROUP_PARENT / at the
//           real root), and Node's original cgroup is still a domain cgroup.
//   shared  Node shares its cgroup: limits fail with ERR_NSBIND_CGROUP and a hint, and
//           the cgroup is untouched (same type, same subtree_control, nothing moved).
// In both, doctor().cgroup says so first (and moves nothing), and again after the spawns.
// Prints TAP-like lines and a closing "N passed, N failed"; exits non-zero on a failure.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '../..');
const { sandbox, doctor } = createRequire(import.meta.url)(join(repo, 'dist/index.js'));
const mode = process.argv[2] ?? 'ok';
const label = process.argv[3] ?? mode;

let passed = 0;
let failed = 0;
function check(name, ok, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${label}: ${name}${ok || !detail ? '' : ` (${detail})`}`);
}
const ownPath = () => readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)[1];
const dirOf = (p) => join('/sys/fs/cgroup', p);
const read = (f) => {
  try {
    return readFileSync(f, 'utf8').trim();
  } catch {
    return undefined;
  }
};

const startPath = ownPath();
const startDir = dirOf(startPath);
const before = { type: read(join(startDir, 'cgroup.type')), subtree: read(join(startDir, 'cgroup.subtree_control')) };
console.log(`# ${label}: uid ${process.getuid()}, cgroup ${startPath}, type ${before.type ?? '(root)'}, NSBIND_CGROUP_PARENT=${process.env.NSBIND_CGROUP_PARENT ?? ''}`);

// The cgroup dir that holds a limit file with a value, walking up from the program's own.
const findLimit = `p=$(sed -n 's/^0:://p' /proc/self/cgroup); f=$1;
  while :; do v=$(cat /sys/fs/cgroup$p/$f 2>/dev/null); [ -n "$v" ] && [ "$v" != max ] && [ "$v" != "max 100000" ] && { echo "$v"; exit; }; [ "$p" = / ] && break; p=$(dirname $p); done; echo none`;

// doctor() tells the truth for this layout before anything runs, and changes nothing.
const expectedParent = (process.env.NSBIND_CGROUP_PARENT || startDir).replace(/(.)\/+$/, '$1');
async function checkDoctor(when) {
  const c = (await doctor()).cgroup;
  const shown = JSON.stringify(c);
  if (mode === 'shared') {
    check(`doctor ${when}: cgroup not ok, because Node shares its cgroup`, !c.ok && /shares its cgroup/.test(c.reason ?? ''), shown);
    check(`doctor ${when}: the fix is a delegated cgroup of its own or NSBIND_CGROUP_PARENT, never system.slice`,
      /Delegate=yes|NSBIND_CGROUP_PARENT|only process/.test(c.fix ?? '') && !/tee .*system\.slice|system\.slice\/cgroup\.subtree_control/.test(c.fix ?? ''), shown);
    check(`doctor ${when}: the reason is one sentence, the way out is in fix`, !/hint:/.test(c.reason ?? ''), shown);
  } else {
    check(`doctor ${when}: cgroup ok, version 2, sandboxes beneath ${expectedParent}`, c.ok === true && c.version === 2 && c.path === expectedParent, shown);
  }
}

try {
  await checkDoctor('first');
  check('doctor moves nothing', ownPath() === startPath, ownPath());
  if (mode === 'shared') {
    try {
      await sandbox().limits({ pids: 16 }).run('true');
      check('limits are refused when Node shares its cgroup', false, 'it ran');
    } catch (e) {
      check('limits are refused with ERR_NSBIND_CGROUP', e.code === 'ERR_NSBIND_CGROUP', `${e.code}: ${e.message}`);
      check('the hint names a way out', /Delegate=yes|NSBIND_CGROUP_PARENT|cgroup of its own|only process/.test(e.hint ?? ''), e.hint);
    }
    check('Node did not move', ownPath() === startPath, ownPath());
  } else {
    const hog = 'a = bytearray(512 * 1024 * 1024)';
    const oom = await sandbox().pid().limits({ memory: '48M', memorySwap: '48M' }).run('python3', ['-c', hog]);
    check("memory: the OOM killer ends the sandbox, reason 'oom'", oom.reason === 'oom', JSON.stringify({ reason: oom.reason, code: oom.code, signal: oom.signal, stderr: oom.stderr?.slice(-300) }));
    const pids = await sandbox().pid().limits({ pids: 5 }).run('sh', ['-c', findLimit, 'sh', 'pids.max']);
    check('pids: pids.max is 5 for the program', pids.stdout.trim() === '5', JSON.stringify(pids));
    const bomb = await sandbox().pid().limits({ pids: 5 }).run('sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait; echo done']);
    check('pids: forks beyond the limit fail', /fork|Resource temporarily unavailable|retry/i.test(bomb.stderr), JSON.stringify({ stderr: bomb.stderr.slice(0, 200), peak: bomb.usage?.pidsPeak }));
    const cpu = await sandbox().pid().limits({ cpu: 0.5 }).run('sh', ['-c', findLimit, 'sh', 'cpu.max']);
    check('cpu: cpu.max is 50000 100000', cpu.stdout.trim() === '50000 100000', JSON.stringify(cpu));
    const next = await sandbox().pid().limits({ memory: '64M', pids: 32, cpu: 1 }).run('true');
    check('life goes on after the OOM kill', next.code === 0, JSON.stringify(next));
    const now = ownPath();
    const expectedHome = process.env.NSBIND_CGROUP_PARENT || before.type === undefined ? startPath : `${startPath === '/' ? '' : startPath}/nsbind-node`;
    check(`Node is in ${expectedHome}`, now === expectedHome, now);
    await checkDoctor('after the spawns');
    check('Node\'s original cgroup is still a domain cgroup', read(join(startDir, 'cgroup.type')) === before.type, read(join(startDir, 'cgroup.type')));
  }
  // Never a thread root, never a controller removed.
  const after = read(join(startDir, 'cgroup.subtree_control')) ?? '';
  check('no controller removed from Node\'s original cgroup', (before.subtree ?? '').split(' ').filter(Boolean).every((c) => after.split(' ').includes(c)), after);
  if (mode === 'shared') check('no controller enabled in a cgroup that holds processes', after === before.subtree, after);
  // Alone: controllers may be enabled in Node's original cgroup only because it is empty now
  // (Node moved into its leaf); the real root is exempt from the rule.
  else if (before.type !== undefined) {
    check('a controller was enabled in Node\'s original cgroup only once it held no process',
      after === (before.subtree ?? '') || read(join(startDir, 'cgroup.procs')) === '', `${after}; procs: ${read(join(startDir, 'cgroup.procs'))}`);
  }
} catch (e) {
  check('no unexpected error', false, `${e.code}: ${e.message} ${e.hint ?? ''}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
