// The network concern's numbers shared by native/ and lib/: compared with the ones the
// addon was compiled with, so the two sides cannot drift apart.
import { describe, expect, it } from 'vitest';
import { native } from '../../lib/binding.js';
import { NetnsStep } from '../../lib/net/netns.js';
import { Step, syscallNames } from '../../lib/plan/layout.js';

describe('network layout', () => {
  const n = native().networkLayout;
  it('veth steps match', () => {
    expect(Step.VETH_CREATE).toBe(n.STEP_VETH_CREATE);
    expect(Step.VETH_PEER).toBe(n.STEP_VETH_PEER);
    expect(Step.VETH_SANDBOX).toBe(n.STEP_VETH_SANDBOX);
  });
  it('syscall ids the network code reports have the right names', () => {
    for (const k of ['RTM_NEWLINK', 'RTM_GETLINK', 'RTM_SETLINK', 'RTM_NEWADDR', 'RTM_NEWROUTE']) {
      expect(syscallNames[n[`SYS_${k}`]], k).toBe(k);
    }
    for (const k of ['clone', 'mount', 'setns', 'socket']) {
      expect(syscallNames[n[`SYS_${k.toUpperCase()}`]], k).toBe(k);
    }
  });
  it('netns.add steps match', () => {
    expect(NetnsStep.SHARE_DIR).toBe(n.NETNS_SHARE_DIR);
    expect(NetnsStep.BIND_DIR).toBe(n.NETNS_BIND_DIR);
    expect(NetnsStep.BIND_NS).toBe(n.NETNS_BIND_NS);
  });
});
