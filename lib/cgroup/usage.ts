// What a sandbox cgroup's own counters say after the sandbox is gone.

/** Read from the cgroup after the sandbox exited, before it is removed. */
export interface CgroupUsage {
  /** The kernel's OOM killer ended a process of the sandbox (v2 memory.events oom_kill; v1 memory.oom_control oom_kill). */
  oom: boolean;
  /** How many processes the OOM killer ended. */
  oomKills: number;
  /** Highest memory use (v2 memory.peak; v1 memory.max_usage_in_bytes), where the kernel keeps it. */
  memoryPeakBytes?: number;
  /** Highest number of processes and threads at once (pids.peak), where the kernel keeps it. */
  pidsPeak?: number;
  /** CPU time used by the sandbox, microseconds (v2 cpu.stat usage_usec; v1 cpuacct.usage). */
  cpuUsageUs?: number;
  /** CFS periods in which the sandbox was runnable under a quota (cpu.stat nr_periods). */
  cpuPeriods?: number;
}
