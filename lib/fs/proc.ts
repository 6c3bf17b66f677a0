// What `.proc()` hides and locks (SPEC section 6): paths that leak kernel memory, keys
// or timing of other processes are masked; the knobs that change the whole machine are
// read-only. Paths are relative to the procfs mount; a path the kernel lacks is skipped.

/** Masked: a file reads empty (/dev/null over it), a directory is an empty read-only tmpfs. */
export const PROC_MASKED = ['kcore', 'keys', 'timer_list', 'sched_debug', 'acpi', 'scsi'] as const;

/** Read-only (recursively). */
export const PROC_READONLY = ['sys', 'sysrq-trigger', 'irq', 'bus'] as const;

/** Masked in the sandbox's tree when it has a /sys. */
export const SYS_MASKED = ['/sys/firmware'] as const;
