#!/usr/bin/env bash
# npm run test:vm — boots Debian's LTS kernel (6.1) in QEMU with cgroup v2 alone and runs
# the scenarios of test/vm/guest.sh against this checkout (the host's / read-only over
# 9p, a tmpfs on top: the guest cannot modify the host). Nothing is installed to /boot:
# the kernel package is downloaded and unpacked into a cache directory.
#
#   NSBIND_VM_ONLY="cgroup-init cgroup-systemd suite"   scenarios to run (default: these three;
#                                                        `kernel` is the suite scenario with the
#                                                        files of test/vm/kernel-tests.txt;
#                                                        `ci-suite`, what CI runs: the whole suite
#                                                        when KVM runs the guest, else `kernel`)
#   NSBIND_VM_CACHE=/var/cache/nsbind-vm                 where the kernel and initramfs go
#   NSBIND_VM_TESTS="test/a.test.ts test/b.test.ts"      the suite scenario runs only these
#   NSBIND_VM_KERNEL=linux-image-6.1.0-57-amd64          the kernel package (default: newest 6.1)
#   NSBIND_VM_TIMEOUT=600                                seconds per scenario (suite: 3600)
#
# Needs (apt): qemu-system-x86 busybox-static kmod cpio; the systemd scenario needs systemd,
# dbus-user-session and libpam-systemd in the host's userland (it is the guest's too).
# Prints one line per scenario and a closing "N passed, N failed".
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cache=${NSBIND_VM_CACHE:-/var/cache/nsbind-vm}
scenarios=${NSBIND_VM_ONLY:-cgroup-init cgroup-systemd suite}
mkdir -p "$cache"

for tool in qemu-system-x86_64 cpio; do
  command -v "$tool" >/dev/null || { echo "test:vm: $tool is missing (apt-get install qemu-system-x86 busybox-static kmod cpio)" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "test:vm: /bin/busybox (busybox-static) is missing" >&2; exit 1; }

# The kernel: Debian's 6.1 package, unpacked (not installed).
pkg=${NSBIND_VM_KERNEL:-}
if [ -z "$pkg" ]; then
  pkg=$(ls "$cache"/linux-image-6.1.*-amd64_*.deb 2>/dev/null | sed 's|.*/||; s|_.*||' | sort -V | tail -1)
  if [ -z "$pkg" ]; then
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
  fi
fi
[ -n "$pkg" ] || { echo "test:vm: no linux-image-6.1 package found (apt-get update?)" >&2; exit 1; }
kdir="$cache/$pkg"
if [ ! -d "$kdir/boot" ]; then
  (cd "$cache" && ls "$pkg"_*.deb >/dev/null 2>&1 || apt-get download "$pkg" >/dev/null 2>&1 || apt-get download "$pkg")
  rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp" && dpkg-deb -x "$(ls "$cache/$pkg"_*.deb | head -1)" "$kdir.tmp" && mv "$kdir.tmp" "$kdir"
fi
kver=$(ls "$kdir/lib/modules" | head -1)
# The package leaves modules.dep to its postinst: make it here.
[ -f "$kdir/lib/modules/$kver/modules.dep" ] || depmod -b "$kdir" "$kver"
vmlinuz="$kdir/boot/vmlinuz-$kver"

# The initramfs: static busybox, the modules (with their dependencies, in order), our init.
initrd="$cache/initramfs-$kver-$(sha1sum "$repo/test/vm/initramfs-init.sh" | cut -c1-8).cpio.gz"
if [ ! -f "$initrd" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root"/{bin,proc,sys,dev,lib/modules/$kver}
  cp /bin/busybox "$root/bin/busybox"
  cp "$repo/test/vm/initramfs-init.sh" "$root/init"
  mdir="$kdir/lib/modules/$kver"
  order=()
  add() { # a module after its dependencies (modules.dep lists them)
    local name=$1 rel deps d
    rel=$(grep -E "(^|/)$name\.ko[^:]*:" "$mdir/modules.dep" | head -1) || { echo "test:vm: module $name not found" >&2; exit 1; }
    deps=${rel#*:}
    for d in $deps; do add "$(basename "$d" | sed 's/\.ko.*//')"; done
    rel=${rel%%:*}
    for o in "${order[@]:-}"; do [ "$o" = "$name" ] && return 0; done
    mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
    cp "$mdir/$rel" "$root/lib/modules/$kver/$rel"
    order+=("$name")
  }
  for m in virtio_pci 9pnet_virtio 9p overlay veth; do add "$m"; done
  depmod -b "$root" "$kver"
  printf '%s\n' "${order[@]}" > "$root/modules.order"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$initrd.tmp" && mv "$initrd.tmp" "$initrd"
  rm -rf "$root"
  trap - EXIT
fi

# KVM when it can run the kernel (CI runners elsewhere); on nested PVM it cannot, and the
# guest never comes up: then, and without /dev/kvm, TCG (4-6 s to the script here).
tcg=(-accel tcg,thread=multi)
kvm=()
if [ "${NSBIND_VM_KVM:-auto}" != 0 ] && [ -w /dev/kvm ]; then kvm=(-accel kvm -cpu host); fi

kernel_tests=$(grep -v '^#' "$repo/test/vm/kernel-tests.txt")
boot() { # scenario accel... : runs one guest, its console to $log
  local s=$1 tests=${NSBIND_VM_TESTS:-}; shift
  if [ "$s" = kernel ]; then s=suite; tests=$kernel_tests; fi
  timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 "$@" -m "${NSBIND_VM_MEM:-3G}" -smp "${NSBIND_VM_CPUS:-2}" \
    -nographic -no-reboot -kernel "$vmlinuz" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1 nsbind.repo=$repo nsbind.scenario=$s nsbind.ci=${CI:-} nsbind.tests=$(echo $tests | tr ' ' ,) quiet" \
    -virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap" \
    -nic none </dev/null >"$log" 2>&1 || true
}

passed=0 failed=0
for s in $scenarios; do
  log="$cache/$s.log"
  timeout_s=${NSBIND_VM_TIMEOUT:-$(case $s in suite|ci-suite) echo 5400 ;; kernel) echo 3600 ;; *) echo 600 ;; esac)}
  guest=$s; [ "$s" = kernel ] || [ "$s" = ci-suite ] && guest=suite
  what=$s
  start=$(date +%s)
  # The guest prints "nsbind-vm: guest up" once in its root and "nsbind-vm: result
  # <scenario> <rc>" before powering off. ci-suite: the whole suite needs KVM to fit CI's
  # 90 minutes; under TCG (no /dev/kvm, or one that cannot run the guest) the kernel files.
  first=$s; [ "$s" = ci-suite ] && first=suite
  if [ ${#kvm[@]} -gt 0 ]; then boot "$first" "${kvm[@]}"; fi
  if [ ${#kvm[@]} -eq 0 ] || ! grep -q 'nsbind-vm: guest up' "$log"; then
    if [ "$s" = ci-suite ]; then first=kernel; timeout_s=${NSBIND_VM_TIMEOUT:-3600}; fi
    boot "$first" "${tcg[@]}"
    what="$s: $first, TCG"
  else
    what="$s: $first, KVM"
  fi
  rc=$(sed -n "s/.*nsbind-vm: result $guest \([0-9]*\).*/\1/p" "$log" | tail -1)
  took=$(( $(date +%s) - start ))
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1)); echo "ok - vm $what (${took}s, kernel $kver)"
  else
    failed=$((failed + 1)); echo "not ok - vm $what (${took}s, rc=${rc:-none}, kernel $kver): last lines of $log"
    tail -40 "$log" | sed 's/^/    /'
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
