#!/bin/busybox sh
# PID 1 of the initramfs: load the modules, put the host's / (read-only over 9p) under a
# tmpfs overlay, and hand over to test/vm/guest.sh in that root. Nothing the guest does
# reaches the host: the 9p export is read-only, every write lands in the tmpfs.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do modprobe "$m" || echo "nsbind-vm: modprobe $m failed"; done
mkdir -p /host /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 host /host || { echo "nsbind-vm: 9p mount failed"; poweroff -f; }
mount -t tmpfs -o size=75% rw /rw
mkdir -p /rw/upper /rw/work
mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot || { echo "nsbind-vm: overlay failed"; poweroff -f; }
repo=$(sed -n 's/.*nsbind.repo=\([^ ]*\).*/\1/p' /proc/cmdline)
umount /proc /sys /dev 2>/dev/null
exec switch_root /newroot /bin/bash "$repo/test/vm/guest.sh"
