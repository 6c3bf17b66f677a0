// A short-lived child that only sets something up (a bind mount, an unmount) and exits:
// the same clone and plan interpreter as a sandbox, with NSB_OP_EXIT instead of an exec,
// so that such work never happens in the (multithreaded) Node process itself.
import { constants as osConstants } from 'node:os';
import { native } from '../binding.js';
import { nsbindError, systemError } from '../errors.js';
import { Op, Step, syscallNames } from '../plan/layout.js';
import { PlanWriter } from '../plan/writer.js';

/** Run the ops written into `w` in a fresh child (in new namespaces: `cloneFlags`), then exit 0. */
export function runHelper(w: PlanWriter, option: string, cloneFlags = 0): Promise<void> {
  w.op(Op.EXIT, 'exit', { n: [0] });
  const b = native();
  const proc = new b.Process();
  return new Promise<void>((resolve, reject) => {
    let failure: Error | undefined;
    const stepName = (op: number) => (op === Step.CLONE ? 'clone' : `step ${op}`);
    proc.onspawn = (r) => {
      // A failed step: the report is the outcome (when the clone itself failed there is
      // no process, and no exit will follow).
      if (r.pid === undefined) {
        failure = systemError(r.errno, { step: w.steps[r.op] ?? stepName(r.op), syscall: syscallNames[r.sys] || undefined, option });
        reject(failure);
      }
    };
    proc.onexit = (r) => {
      if (failure) reject(failure);
      else if (r.code === 0) resolve();
      else reject(nsbindError('ERR_NSBIND_SPAWN', `${option}: the helper ended with ${r.code ?? `signal ${r.signal}`}`, { option }));
    };
    const res = b.spawn(
      {
        plan: w.finish(),
        argv: ['nsbind-helper'],
        envp: [],
        cloneFlags,
        stdio: [],
        pdeathsig: osConstants.signals.SIGKILL,
      },
      proc,
    );
    if (res.initError !== undefined || res.pipeError !== undefined) {
      reject(nsbindError('ERR_NSBIND_SPAWN', `${option}: could not start the helper (errno ${res.initError ?? res.pipeError})`, { option }));
    }
  });
}
