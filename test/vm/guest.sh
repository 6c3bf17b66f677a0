#!/bin/bash
# The guest's PID 1 (after test/vm/initramfs-init.sh), or with `systemd-stage` the unit
# systemd runs. Runs one scenario of test/vm/run.sh and prints
# "nsbind-vm: result <scenario> <rc>" before powering off.
#   cgroup-init     root and rootless, Node alone in its cgroup (real root, a container's
#                   cgroup namespace, a delegated cgroup), Node sharing it (refused, with
#                   NSBIND_CGROUP_PARENT: works)
#   cgroup-systemd  systemd boots; a root scope and a rootless user scope with
#                   Delegate=yes (the README's recipe), and a shared scope
#   suite           the whole test suite (CI=true) on this kernel, sandboxes beneath
#                   NSBIND_CGROUP_PARENT (vitest's workers share its cgroup)
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
arg() { sed -n "s/.*nsbind\.$1=\([^ ]*\).*/\1/p" /proc/cmdline; }
cg=/sys/fs/cgroup
rc=0
run() { echo "# $*"; "$@" || { echo "# FAILED ($?): $*"; rc=1; }; }
finish() { # scenario
  echo "nsbind-vm: result $1 $rc"
  sync
  echo o > /proc/sysrq-trigger
  sleep 30
}
leftovers() { # no sandbox cgroup may stay behind
  local left
  left=$(find $cg -name 'nsbind-[0-9]*' -type d 2>/dev/null)
  if [ -n "$left" ]; then echo "not ok - leftover sandbox cgroups: $left"; rc=1; else echo "ok - no leftover sandbox cgroups"; fi
}
check() { node "$repo/test/vm/cgroup-check.mjs" "$@"; }
as_nobody() { setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp "$@"; }
delegate() { chown 65534:65534 "$1" "$1/cgroup.procs" "$1/cgroup.subtree_control" "$1/cgroup.threads"; }

if [ "${1:-}" = systemd-stage ]; then
  repo=$(arg repo)
  cd "$repo" || exit 1
  echo "nsbind-vm: systemd up ($(systemctl is-system-running 2>&1))"
  run systemd-run --quiet --scope -p Delegate=yes node test/vm/cgroup-check.mjs ok root-scope
  run systemd-run --quiet --scope -p Delegate=yes sh -c 'sleep 60 & exec node test/vm/cgroup-check.mjs shared root-scope-shared'
  # Rootless: a user with lingering (its systemd --user runs without a login).
  useradd -m -u 1500 nsbvm 2>/dev/null
  loginctl enable-linger nsbvm
  for _ in $(seq 120); do [ -S /run/user/1500/bus ] && break; sleep 0.5; done
  user() { runuser -u nsbvm -- env XDG_RUNTIME_DIR=/run/user/1500 DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1500/bus HOME=/home/nsbvm "$@"; }
  echo "# user@1500 delegates: $(cat $cg/user.slice/user-1500.slice/user@1500.service/cgroup.controllers 2>&1)"
  run user systemd-run --quiet --user --scope -p Delegate=yes node "$repo/test/vm/cgroup-check.mjs" ok user-scope
  run user systemd-run --quiet --user --scope -p Delegate=yes sh -c "sleep 60 & exec node $repo/test/vm/cgroup-check.mjs shared user-scope-shared"
  leftovers
  finish cgroup-systemd
fi

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
repo=$(arg repo)
scenario=$(arg scenario)
# A checkout beneath /tmp, /run or /dev/shm (a clone made for a CI check) would be hidden by
# the guest's own tmpfs there: hold it by a descriptor and bind it back afterwards.
[ -d "$repo" ] && exec 9<"$repo"
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
if [ ! -d "$repo/test/vm" ]; then mkdir -p "$repo" && mount --no-canonicalize --bind /proc/self/fd/9 "$repo"; fi
exec 9<&- 2>/dev/null
mount -t cgroup2 cgroup2 $cg
ip link set lo up 2>/dev/null
export CI=$(arg ci)
echo "nsbind-vm: guest up ($(uname -r), $(cat $cg/cgroup.controllers))"
# A scenario that cannot reach the checkout has run nothing: that is a failure, never a pass.
cd "$repo" && [ -f test/vm/guest.sh ] || { echo "not ok - the checkout $repo is not visible in the guest"; rc=1; finish "$scenario"; }

case $scenario in
cgroup-init)
  echo '+memory +pids +cpu' > $cg/cgroup.subtree_control
  # The real root cgroup (exempt from "no internal processes"): nothing moves.
  run check ok real-root
  # A container with its own cgroup namespace: Node is its only process.
  mkdir $cg/ctr
  run sh -c "echo \$\$ > $cg/ctr/cgroup.procs; exec unshare -Cm sh -c 'umount $cg && mount -t cgroup2 none $cg && exec node $repo/test/vm/cgroup-check.mjs ok container'"
  # Rootless in a cgroup delegated to the user (what systemd's Delegate=yes does).
  mkdir $cg/rootless && delegate $cg/rootless
  run sh -c "echo \$\$ > $cg/rootless/cgroup.procs; exec setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp node $repo/test/vm/cgroup-check.mjs ok rootless"
  # Node shares its cgroup with another process: refused, nothing changes there.
  mkdir $cg/svc
  sleep 600 & echo $! > $cg/svc/cgroup.procs; helper=$!
  run sh -c "echo \$\$ > $cg/svc/cgroup.procs; exec node $repo/test/vm/cgroup-check.mjs shared shared"
  # The same with an empty delegated parent the launcher prepared.
  mkdir -p $cg/svc2/app $cg/svc2/sandboxes
  echo $helper > $cg/svc2/app/cgroup.procs
  echo '+memory +pids +cpu' > $cg/svc2/cgroup.subtree_control
  run sh -c "echo \$\$ > $cg/svc2/app/cgroup.procs; NSBIND_CGROUP_PARENT=$cg/svc2/sandboxes exec node $repo/test/vm/cgroup-check.mjs ok cgroup-parent"
  # ...and rootless.
  mkdir -p $cg/svc3/app $cg/svc3/sandboxes && delegate $cg/svc3 && delegate $cg/svc3/app && delegate $cg/svc3/sandboxes
  echo $helper > $cg/svc3/app/cgroup.procs
  echo '+memory +pids +cpu' > $cg/svc3/cgroup.subtree_control
  echo '+memory +pids +cpu' > $cg/svc3/sandboxes/cgroup.subtree_control
  run sh -c "echo \$\$ > $cg/svc3/app/cgroup.procs; NSBIND_CGROUP_PARENT=$cg/svc3/sandboxes exec setpriv --reuid 65534 --regid 65534 --clear-groups env HOME=/tmp node $repo/test/vm/cgroup-check.mjs ok cgroup-parent-rootless"
  kill $helper
  leftovers
  finish cgroup-init
  ;;
cgroup-systemd)
  mkdir -p /run/systemd/system /etc/systemd/system/multi-user.target.wants
  cat > /etc/systemd/system/nsbind-vm.service <<UNIT
[Unit]
Description=nsbind VM scenario
After=basic.target systemd-logind.service dbus.service
[Service]
Type=oneshot
ExecStart=/bin/bash $repo/test/vm/guest.sh systemd-stage
StandardOutput=journal+console
StandardError=journal+console
UNIT
  ln -sf /etc/systemd/system/nsbind-vm.service /etc/systemd/system/multi-user.target.wants/
  umount /run /tmp /dev/shm /dev/pts $cg /sys /proc 2>/dev/null
  exec /lib/systemd/systemd --system --unit=multi-user.target --log-target=console --show-status=0
  ;;
suite)
  # vitest's workers share its cgroup: sandboxes go beneath an empty delegated parent.
  echo '+memory +pids +cpu' > $cg/cgroup.subtree_control
  mkdir -p $cg/suite/runner $cg/suite/sandboxes
  echo '+memory +pids +cpu' > $cg/suite/cgroup.subtree_control
  echo $$ > $cg/suite/runner/cgroup.procs
  export NSBIND_CGROUP_PARENT=$cg/suite/sandboxes
  export NSBIND_TEST_HOOK_TIMEOUT=300000  # --hookTimeout below does not reach vitest's projects
  export CI=true  # as in CI: nothing skips for a tool or privilege the guest has; no TTY reporter
  start=$(date +%s)
  # Without KVM the guest runs about ten times slower than the host: the suite's 30 s
  # test and hook timeouts (a C probe compiled in a beforeAll) are made 5 minutes here.
  run npx vitest run --testTimeout=300000 --hookTimeout=300000 $(arg tests | tr , ' ') 2>&1
  echo "# suite took $(( $(date +%s) - start ))s"
  finish suite
  ;;
*)
  echo "nsbind-vm: unknown scenario '$scenario'"
  rc=2
  finish "$scenario"
  ;;
esac
