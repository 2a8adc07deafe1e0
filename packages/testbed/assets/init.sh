#!/bin/busybox sh
# The testbed initramfs /init (busybox sh). It mounts the host's / (9p,
# read-only) under a tmpfs overlay, so every path is writable but nothing
# reaches the host, chroots into it to run the job script named on the kernel
# command line (rdmajs.job=...), and powers off.
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /lower /rw /root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_pci 9pnet_virtio 9p overlay; do modprobe $m 2>/dev/null; done
job=; cache=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    rdmajs.job=*) job=${arg#rdmajs.job=} ;;
    rdmajs.cache=*) cache=${arg#rdmajs.cache=} ;;
  esac
done
fail() { echo "rdmajs-testbed: $*"; echo "@@RDMAJS_EXIT=125@@"; poweroff -f; }
# cache=loose: the lower layer is read-only for the VM's lifetime.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower || fail "cannot mount the host filesystem (9p)"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /root || fail "cannot mount the overlay"
mount -t proc proc /root/proc
mount -t sysfs sysfs /root/sys
mount -t devtmpfs devtmpfs /root/dev
mkdir -p /root/dev/pts /root/dev/shm
mount -t devpts devpts /root/dev/pts
mount -t tmpfs tmpfs /root/dev/shm
mount -t tmpfs tmpfs /root/run
kver=$(uname -r)
mkdir -p /root/lib/modules/$kver /lib/modules/$kver
mount --bind /root$cache/lib/modules/$kver /root/lib/modules/$kver
# The kernel's own module requests (e.g. crypto-crc32 for rdma_rxe) run in
# this root, not the chroot: give them busybox modprobe and all modules.
mount --bind /root$cache/lib/modules/$kver /lib/modules/$kver
echo /bin/modprobe > /proc/sys/kernel/modprobe
chroot /root /bin/sh "$job"
poweroff -f
