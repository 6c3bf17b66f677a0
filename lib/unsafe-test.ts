// Protections the escape suite switches off, one at a time, to show that each is what
// stops its attack (test/security/escape.test.ts). Read once, when nsbind loads. Never set
// NSBIND_UNSAFE_TEST_DISABLE outside those tests: each name removes a protection.
//
//   setup-nondumpable  the Node process stays dumpable while a setup child shares its
//                      memory (native/setup_window.h)
//   init-nondumpable   nsbind-init makes itself dumpable again (native/init/init.cc)
//   report-token       records on the report pipe are taken without the spawn's token
//   setup-caps         the setup child drops its permitted capabilities before its exec
//                      (native/security_ops.cc)
//   user-join-in-init  a Node process without privileges joins user namespaces in the
//                      setup child, which shares its memory (lib/plan/takeover.ts)
//   egress-netns       `.net({ egress })` gives no network namespace (and so no proxy):
//                      what a policy of proxy variables alone would be (lib/sandbox.ts)
//   degraded-domain    in degraded mode, a sandbox without a Landlock ruleset of its own
//                      gets none (lib/security/landlock.ts): its program may ptrace Node
//   files-pins         .files() does not pin the directories leading to a denied or
//                      mandatory path (lib/fs/compile.ts): renaming them gets around it
//   pty-blocking-write a pty's master is blocking and written by libuv (lib/pty.ts): a
//                      program that does not read its terminal holds Node's thread
export const UNSAFE = {
  SETUP_NONDUMPABLE: 1,
  INIT_NONDUMPABLE: 2,
  REPORT_TOKEN: 4,
  SETUP_CAPS: 8,
  USER_JOIN_IN_INIT: 16,
  /** TS only (never sent to the addon's meaning): see egress-netns above. */
  EGRESS_NETNS: 1 << 12,
  /** TS only: see degraded-domain above. */
  DEGRADED_DOMAIN: 1 << 13,
  /** TS only: see files-pins above. */
  FILES_PINS: 1 << 14,
  /** TS only: see pty-blocking-write above. */
  PTY_BLOCKING_WRITE: 1 << 15,
} as const;
/** The bits the addon never sees. */
export const UNSAFE_TS_ONLY = UNSAFE.EGRESS_NETNS | UNSAFE.DEGRADED_DOMAIN | UNSAFE.FILES_PINS | UNSAFE.PTY_BLOCKING_WRITE;
const BITS: Record<string, number> = {
  'setup-nondumpable': UNSAFE.SETUP_NONDUMPABLE,
  'init-nondumpable': UNSAFE.INIT_NONDUMPABLE,
  'report-token': UNSAFE.REPORT_TOKEN,
  'setup-caps': UNSAFE.SETUP_CAPS,
  'user-join-in-init': UNSAFE.USER_JOIN_IN_INIT,
  'egress-netns': UNSAFE.EGRESS_NETNS,
  'degraded-domain': UNSAFE.DEGRADED_DOMAIN,
  'files-pins': UNSAFE.FILES_PINS,
  'pty-blocking-write': UNSAFE.PTY_BLOCKING_WRITE,
};

function parse(value: string | undefined): number {
  let bits = 0;
  for (const name of (value ?? '').split(',').map((s) => s.trim()).filter(Boolean)) bits |= BITS[name] ?? 0;
  return bits;
}

/** native/init/control.h NSB_UNSAFE_*: 0 unless a test switched protections off. */
export const unsafeTestBits = parse(process.env.NSBIND_UNSAFE_TEST_DISABLE);
