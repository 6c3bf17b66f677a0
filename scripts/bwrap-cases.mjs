// nsbind's own drop-in cases for `nsbind bwrap`, modelled on what bubblewrap's
// tests/test-run.sh checks (written anew here: no network in CI, and none of bubblewrap's
// text is copied). Each case is a bash script run in a fresh directory it may write,
// with $BWRAP the command under test and $RUN "$BWRAP --bind / / --tmpfs /tmp" (the base
// line upstream uses). A case passes when the script exits 0.
//
// `hostFs: true` marks cases that need files created on the host's own filesystem through
// a bind of `/`; nsbind refuses that on purpose (SPEC 2.2), so the suite counts them apart.
// `rootOnly` / `userOnly`: the case means something only for that caller.

const ALTS = ['', '--unshare-user-try', '--unshare-pid', '--unshare-user-try --unshare-pid'];

export const CASES = [
  // bwrap prints its argv[0] in the usage line; the suite's shim names itself (NSBIND_BWRAP_ARGV0).
  { name: 'help names the usage', script: '$BWRAP --help > help.txt; grep -q "^usage: $BWRAP \\[OPTIONS" help.txt' },
  ...ALTS.flatMap((alt) => [
    { name: `a new /proc with [${alt}]`, script: `$RUN ${alt} --proc /proc true` },
    { name: `no network, a new /dev with [${alt}]`, script: `$RUN ${alt} --unshare-net --proc /proc --dev /dev true` },
    {
      name: `an unreadable file stays unreadable through a bind with [${alt}]`,
      userOnly: true,
      script: `if cat /etc/shadow >/dev/null 2>&1; then exit 0; fi
! $RUN ${alt} --unshare-net --proc /proc --bind /etc/shadow /tmp/foo cat /tmp/foo
! $RUN ${alt} --unshare-net --proc /proc cat /etc/shadow`,
    },
    { name: `a bind onto a symlinked destination with [${alt}]`, script: `$RUN ${alt} --dir /tmp/dir --symlink dir /tmp/link --bind /etc /tmp/link true` },
  ]),
  {
    name: '--symlink, twice the same is fine, a different target is refused',
    script: `$RUN --symlink /dev/null /tmp/s readlink /tmp/s | grep -qx /dev/null
$RUN --symlink /dev/null /tmp/s --symlink /dev/null /tmp/s true
! $RUN --symlink /dev/null /tmp/s --symlink /dev/full /tmp/s true`,
  },
  { name: '--dev has the usual devices', script: '$RUN --unshare-pid --dev /dev ls -al /dev/stdin /dev/stdout /dev/stderr /dev/null /dev/random /dev/urandom /dev/fd /dev/tty /dev/zero /dev/full /dev/ptmx /dev/shm >/dev/null' },
  { name: '--as-pid-1', script: `$RUN --unshare-pid --as-pid-1 bash -c 'echo $$' | grep -qx 1` },
  {
    name: '--info-fd and --json-status-fd',
    script: `if $RUN --unshare-all --info-fd 42 --json-status-fd 43 -- bash -c 'exit 42' 42>info.json 43>status.json; then exit 1; fi
grep -q '"child-pid": [0-9]' info.json
grep -q '"child-pid": [0-9]' status.json
grep -qF '"exit-code": 42' status.json`,
  },
  {
    name: 'the namespace ids in --info-fd and --json-status-fd are the program\'s',
    script: `DATA=$($RUN --proc /proc --unshare-all --info-fd 42 --json-status-fd 43 -- sh -c 'for n in ipc mnt net pid uts; do echo $n $(stat -L -c %i /proc/self/ns/$n); done' 42>info.json 43>status.json)
echo "$DATA" | while read -r n id; do grep -q "\\"$n-namespace\\": $id" info.json; grep -q "\\"$n-namespace\\": $id" status.json; done`,
  },
  { name: 'an exec failure writes no exit-code', script: `$RUN --json-status-fd 42 / 42>status.json || true
! grep -q '"exit-code": [0-9]' status.json` },
  { name: '--disable-userns: no user namespace inside', script: `$BWRAP --unshare-user --disable-userns --dev-bind / / -- true
! $BWRAP --unshare-user --disable-userns --dev-bind / / -- unshare --user true 2>/dev/null` },
  { name: 'a missing source: "Can\'t find source path"', script: `! $RUN --unshare-pid --bind /source-enoent /dest true 2>err.txt
grep -q "^bwrap: Can't find source path.*source-enoent" err.txt` },
  ...['', '--unshare-user-try', '--as-pid-1'].map((opt) => ({
    name: `no capabilities as an ordinary user [${opt}]`,
    userOnly: true,
    script: `$RUN ${opt} --unshare-pid grep CapEff /proc/self/status | grep -q '0000000000000000$'`,
  })),
  {
    name: 'root keeps its capabilities, --cap-drop ALL and --cap-drop one',
    rootOnly: true,
    script: `mine=$(grep CapEff /proc/self/status)
[ "$($RUN --unshare-pid grep CapEff /proc/self/status)" = "$mine" ]
$RUN --cap-drop ALL --unshare-pid grep CapEff /proc/self/status | grep -q '0000000000000000$'
# CAP_KILL is bit 5, CAP_NET_BIND_SERVICE bit 10
eff=$($RUN --cap-drop CAP_KILL --unshare-pid sh -c 'grep CapEff /proc/self/status | cut -f2')
[ $(( 0x$eff & 0x20 )) = 0 ] && [ $(( 0x$eff & 0x400 )) != 0 ]`,
  },
  ...['--die-with-parent', '--die-with-parent --unshare-pid'].map((opt, i) => ({
    name: `${opt}: the sandbox ends when the caller's parent is killed`,
    // The shell's pid makes the marker unique among the cases that run at once.
    script: `marker=$((1000000 + $$))
bash -c "$RUN ${opt} sleep $marker" &
shell=$!
for x in $(seq 100); do pgrep -f "^sleep $marker" >/dev/null && break; sleep 0.1; done
pgrep -f "^sleep $marker" >/dev/null
kill -9 $shell
for x in $(seq 100); do pgrep -f "^sleep $marker" >/dev/null || exit 0; sleep 0.1; done
exit 1`,
  })),
  // --lock-file: a POSIX read lock held while the sandbox lives. The probe takes a write
  // lock (fcntl, as lockf(3) users do; flock(1) would not see it), so the sandbox is
  // started in a loop: a start that met the probe's momentary lock fails and is retried.
  ...['--die-with-parent', '--die-with-parent --unshare-pid'].map((opt) => ({
    name: `--lock-file with ${opt}: held while the sandbox runs, free once the caller's parent is killed`,
    script: `touch lock
cat > probe.py <<'PY'
import fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.fcntl(fd, fcntl.F_SETLKW if sys.argv[2] == "wait" else fcntl.F_SETLK, struct.pack("hhqqhh", fcntl.F_WRLCK, 0, 0, 0, 0, 0))
except OSError:
    sys.exit(1)
PY
marker=$((2000000 + $$))
bash -c "while true; do $BWRAP --bind / / ${opt} --lock-file $PWD/lock sleep $marker 2>/dev/null; done" &
shell=$!
for x in $(seq 100); do python3 probe.py lock try || break; sleep 0.1; done
! python3 probe.py lock try
kill -9 $shell
timeout 30 python3 probe.py lock wait`,
  })),
  {
    name: '--args FD, several',
    script: `printf -- '--dir\\0/tmp/hello/world\\0' > a1; printf -- '--dir\\0/tmp/hello/world2\\0' > a2
$RUN --args 3 --args 4 /bin/sh -c 'test -d /tmp/hello/world && test -d /tmp/hello/world2' 3<a1 4<a2`,
  },
  { name: '-- ends the options', script: '$RUN -- sh -c "echo hello" | grep -qx hello' },
  { name: 'an option after -- is the command', script: `! $RUN -- --dev-bind /dev /dev sh -c 'echo should not run' 2>/dev/null` },
  {
    name: 'a bind of / shows the real /tmp, and another directory can go onto /tmp',
    script: `f=$(mktemp /tmp/nsbind-bwrap-XXXXXX); echo hello > "$f"; chmod 644 "$f"
ok=0
$BWRAP --bind / / cat "$f" | grep -qx hello || ok=1
$BWRAP --bind / / --bind /tmp /tmp cat "$f" | grep -qx hello || ok=1
echo hi > input; $BWRAP --bind / / --bind "$(pwd)" /tmp cat /tmp/input | grep -qx hi || ok=1
rm -f "$f"; exit $ok`,
  },
  { name: 'a directory mounted inside the tmpfs /tmp', script: `echo hi > input; $RUN --bind "$(pwd)" /tmp/here cat /tmp/here/input | grep -qx hi
! $RUN --bind "$(pwd)" /tmp/here test -d /tmp/oldroot
! $RUN --bind "$(pwd)" /tmp/here test -d /tmp/newroot` },
  {
    name: 'mount points created on the host through / (permissions)',
    hostFs: true,
    script: `touch f; mkdir -p d; $BWRAP --bind / / --bind "$(pwd -P)/d" "$(pwd -P)/nd" --bind "$(pwd -P)/f" "$(pwd -P)/nf" true
[ "$(stat -c %a nd)" = 755 ] && [ "$(stat -c %a nf)" = 444 ]`,
  },
  {
    name: '--dir on the host through /, with --perms',
    hostFs: true,
    script: `$BWRAP --bind / / --perms 1741 --dir "$(pwd -P)/a" true; [ "$(stat -c %a a)" = 1741 ]`,
  },
  {
    name: '--dir with --perms and --chmod (in the sandbox\'s own tmpfs)',
    script: `[ "$($RUN --perms 1741 --dir /tmp/a --dir /tmp/b --dir /tmp/c --chmod 1755 /tmp/c stat -c %a /tmp/a /tmp/b /tmp/c | tr '\\n' ' ')" = "1741 755 1755 " ]`,
  },
  {
    name: '--tmpfs permissions',
    script: `[ "$($RUN --perms 01777 --tmpfs /tmp/x stat -c %a /tmp/x)" = 1777 ]
[ "$($RUN --tmpfs /tmp/x stat -c %a /tmp/x)" = 755 ]`,
  },
  {
    name: '--tmpfs --size',
    script: `$RUN --size 1048576 --tmpfs /tmp/x df --output=size --block-size=1K /tmp/x | grep -q '^ *1024$'
[ "$($RUN --size 1048576 --perms 01777 --tmpfs /tmp/x stat -c %a /tmp/x)" = 1777 ]
[ "$($RUN --perms 01777 --size 1048576 --tmpfs /tmp/x stat -c %a /tmp/x)" = 1777 ]`,
  },
  {
    name: '--file, --bind-data, --ro-bind-data permissions',
    script: `[ "$($RUN --file 0 /tmp/file stat -c %a /tmp/file < /dev/null)" = 666 ]
[ "$($RUN --perms 0640 --file 0 /tmp/file stat -c %a /tmp/file < /dev/null)" = 640 ]
[ "$($RUN --bind-data 0 /tmp/file stat -c %a /tmp/file < /dev/null)" = 600 ]
[ "$($RUN --perms 0640 --ro-bind-data 0 /tmp/file stat -c %a /tmp/file < /dev/null)" = 640 ]
echo content > data; [ "$($RUN --ro-bind-data 3 /tmp/file cat /tmp/file 3< data)" = content ]
# Over a file of the host's: a mount of its own, the host's file untouched.
h=$(cat /etc/hostname); [ "$($RUN --ro-bind-data 3 /etc/hostname cat /etc/hostname 3< data)" = content ]
[ "$($RUN --bind-data 3 /etc/hostname sh -c 'echo x > /etc/hostname; cat /etc/hostname' 3< data)" = x ]; [ "$(cat /etc/hostname)" = "$h" ]`,
  },
  {
    name: 'bogus --size refused',
    script: `for s in 0 123bogus '' -12345678 ' -12345678' 18446744073709551616 9223372036854775809; do
  if $RUN --size "$s" --tmpfs /tmp/a true 2>/dev/null; then echo "accepted --size '$s'"; exit 1; fi
done`,
  },
  { name: '--perms and --size only once per operation', script: `! $RUN --perms 0640 --perms 0640 --tmpfs /tmp/a true 2>/dev/null
! $RUN --size 1048576 --size 1048576 --tmpfs /tmp/a true 2>/dev/null` },
  {
    name: 'environment: --setenv, --unsetenv, --clearenv (PWD is set)',
    script: `[ "$(FOO= BAR=baz $RUN --setenv FOO bar sh -c 'echo "$FOO$BAR"')" = barbaz ]
[ "$(FOO=wrong BAR=baz $RUN --unsetenv FOO sh -c 'printf "%s%s" "$FOO" "$BAR"')" = baz ]
[ "$(cd / && FOO=wrong $RUN --clearenv /usr/bin/env)" = "PWD=/" ]
# The working directory is kept where the new root has it (here under the bind of /).
[ "$(FOO=wrong $BWRAP --bind / / --clearenv /usr/bin/env)" = "PWD=$(pwd -P)" ]`,
  },
  { name: '--argv0', script: `[ "$($RUN sh -c 'echo $0')" = sh ] && [ "$($RUN --argv0 right sh -c 'echo $0')" = right ]` },
  { name: '--bind-fd', script: `echo foobar > file-data; $RUN --proc /proc --dev /dev --bind-fd 100 /tmp cat /tmp/file-data 100< . | grep -qx foobar` },
  { name: 'a redundant --chdir is warned about', script: `$RUN --chdir / --chdir / true 2>&1 | grep -qx 'bwrap: Only the last --chdir option will take effect'` },
  { name: '--level-prefix', script: `$RUN --level-prefix --chdir / --chdir / true 2>&1 | grep -qx '<4>bwrap: Only the last --chdir option will take effect'` },
  ...overlayCases(),
];

function overlayCases() {
  const setup = `mkdir -p lower1 lower2 upper work; printf 1 > lower1/a; printf 2 > lower1/b; printf 3 > lower2/b; printf 4 > upper/a
# No unprivileged overlayfs on this kernel: nothing to compare (the case passes for both).
if ! unshare -rm mount -t overlay -o lowerdir=lower1,upperdir=upper,workdir=work,userxattr overlay lower2 2>/dev/null; then exit 0; fi
rm -rf work; mkdir work`;
  return [
    {
      name: '--overlay',
      script: `${setup}
! $RUN --overlay upper work /tmp true 2>err.txt; grep -q '^bwrap: --overlay requires at least one --overlay-src' err.txt
[ "$($RUN --overlay-src lower1 --overlay upper work /tmp/x/y/z cat /tmp/x/y/z/a)" = 4 ]
[ "$($RUN --overlay-src lower1 --overlay-src lower2 --overlay upper work /tmp/x/y/z cat /tmp/x/y/z/b)" = 3 ]
[ "$($RUN --overlay-src lower1 --overlay-src lower2 --overlay upper work /tmp/x/y/z sh -c 'printf 5 > /tmp/x/y/z/b; cat /tmp/x/y/z/b')" = 5 ]
[ "$(cat upper/b)" = 5 ]`,
    },
    {
      name: '--tmp-overlay',
      script: `${setup}
! $RUN --tmp-overlay /tmp true 2>err.txt; grep -q '^bwrap: --tmp-overlay requires at least one --overlay-src' err.txt
[ "$($RUN --overlay-src lower1 --overlay-src lower2 --tmp-overlay /tmp/x/y/z cat /tmp/x/y/z/b)" = 3 ]
[ "$($RUN --overlay-src lower1 --tmp-overlay /tmp/x --overlay-src lower2 --tmp-overlay /tmp/y sh -c 'cat /tmp/x/b; printf 4 > /tmp/x/b; cat /tmp/x/b; cat /tmp/y/b')" = 243 ]
[ "$(cat lower1/b)" = 2 ]`,
    },
    {
      name: '--ro-overlay',
      script: `${setup}
! $RUN --overlay-src lower1 --ro-overlay /tmp true 2>err.txt; grep -q '^bwrap: --ro-overlay requires at least two --overlay-src' err.txt
[ "$($RUN --overlay-src lower1 --overlay-src lower2 --ro-overlay /tmp/x cat /tmp/x/b)" = 3 ]
[ "$($RUN --overlay-src lower1 --overlay-src lower2 --ro-overlay /tmp/x sh -c 'printf 4 > /tmp/x/b 2>/dev/null; cat /tmp/x/b')" = 3 ]`,
    },
    {
      name: '--overlay-src must be followed by an overlay',
      script: `! $RUN --overlay-src /tmp true 2>err.txt; grep -q '^bwrap: --overlay-src must be followed by another --overlay-src or one of --overlay, --tmp-overlay, or --ro-overlay' err.txt
! $RUN --overlay-src /tmp --chdir / true 2>err.txt; grep -q '^bwrap: --overlay-src must be followed' err.txt`,
    },
  ];
}
