#!/usr/bin/env bash
# The agent never opens a fifo, socket or device node of the pod. A pod
# that puts a fifo under a name a client is creating (or opening) must
# not hang a worker; a block device made in the pod (here over a real
# loop device) is neither read nor written through the agent or the
# mount; the pod's /etc/resolv.conf as a fifo or a link to /dev/zero
# does not hang OP_NET_INFO or feed it device data.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd losetup mount
need_cmd busybox busybox-static

R=$T/root M=$T/mnt
mkdir -p "$R/etc"
echo "root-hostname" >"$R/etc/hostname"
mkfifo "$R/fifo"
mknod "$R/zero" c 1 5

# A real block device behind a node the pod made: a loop device over a
# file whose content must not change.
head -c 1048576 /dev/urandom >"$T/disk.img"
LOOP=$(losetup -f --show "$T/disk.img" 2>"$T/losetup.err") ||
	missing "no loop device: $(cat "$T/losetup.err")"
on_exit "losetup -d $LOOP"
disk_sum=$(sha256sum <"$T/disk.img")
dev_sum=$(sha256sum <"$LOOP")
mknod "$R/blk" b "$(stat -c '%t' "$LOOP" | xargs printf '%d')" \
	"$(stat -c '%T' "$LOOP" | xargs printf '%d')"
chmod 666 "$R/blk"
say "pod's $R/blk is $LOOP"

# Two workers, so one hung worker would show at once.
start_agent "$R" --rw --workers 2
say "agent at $AGENT_URL serving $R read-write"

# --- Straight to the agent: special nodes, then the create race. ------
python3 - "$SRC/tests" "$AGENT_URL" "$T/token" "$R" <<'PY' || fail "special nodes (above)"
import errno, os, socket, sys, threading, time
sys.path.insert(0, sys.argv[1])
import wsclient as w
url, tokfile, root = sys.argv[2:5]
tok = w.read_token(tokfile)
c = w.Client(url, timeout=5)
c.hello(tok)
bad = []

def expect(what, fn, want):
    t0 = time.time()
    try:
        fn()
        got = "ok"
    except w.RemoteError as e:
        got = w.errno_name(e.errno)
    except (TimeoutError, OSError, w.ConnectionClosed) as e:
        sys.exit("%s: no answer (%s): a worker hangs" % (what, e))
    print("# %-40s %s (%.0f ms)" % (what, got, (time.time() - t0) * 1000))
    if got != want:
        bad.append("%s: %s, want %s" % (what, got, want))

sock = socket.socket(socket.AF_UNIX)
sock.bind(os.path.join(root, "sock"))
for p, want in (("/fifo", "ENXIO"), ("/sock", "ENXIO"), ("/zero", "EACCES"),
                ("/blk", "EACCES")):
    for name, fl in (("O_RDONLY", os.O_RDONLY), ("O_WRONLY", os.O_WRONLY),
                     ("O_RDWR|O_TRUNC", os.O_RDWR | os.O_TRUNC)):
        expect("open %s %s" % (p, name), lambda: c.open(p, fl), want)
    expect("create %s O_WRONLY|O_TRUNC" % p,
           lambda: c.create(p, os.O_WRONLY | os.O_TRUNC), want)
    expect("create %s O_EXCL" % p,
           lambda: c.create(p, os.O_WRONLY | os.O_EXCL), "EEXIST")
expect("setattr /blk size=0", lambda: c.setattr("/blk", set_=w.SETATTR_SIZE, size=0), "EINVAL")

# The race: the pod swaps /race between a fifo, nothing and a regular
# file as fast as it can while the client creates it (O_CREAT without
# O_EXCL, as a shell's ">" does) and opens it for writing.
stop = threading.Event()
swaps = [0]
def pod():
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    while not stop.is_set():
        try:
            os.mkfifo("race.f", dir_fd=fd)
            os.rename("race.f", "race", src_dir_fd=fd, dst_dir_fd=fd)
            os.unlink("race", dir_fd=fd)
            os.close(os.open("race.r", os.O_WRONLY | os.O_CREAT, 0o644,
                             dir_fd=fd))
            os.rename("race.r", "race", src_dir_fd=fd, dst_dir_fd=fd)
            os.mkfifo("race.f", dir_fd=fd)
            os.rename("race.f", "race", src_dir_fd=fd, dst_dir_fd=fd)
            swaps[0] += 1
        except FileExistsError:
            os.unlink("race.f", dir_fd=fd)
th = threading.Thread(target=pod)
th.start()
seen = {}
end = time.time() + 8
n = 0
try:
    while time.time() < end:
        for what, fn in (("create", lambda: c.create("/race", os.O_WRONLY |
                                                        os.O_TRUNC)),
                         ("open", lambda: c.open("/race", os.O_WRONLY))):
            try:
                fh, _ = fn()
                c.release(fh)
                r = "ok"
            except w.RemoteError as e:
                r = w.errno_name(e.errno)
            except (TimeoutError, OSError, w.ConnectionClosed) as e:
                sys.exit("%s /race: no answer in 5 s (%s): a worker hangs "
                         "on the pod's fifo" % (what, e))
            seen["%s %s" % (what, r)] = seen.get("%s %s" % (what, r), 0) + 1
            n += 1
finally:
    stop.set()
    th.join()
print("# race: %d requests against %d swaps: %s" % (n, swaps[0], " ".join(
    "%s=%d" % kv for kv in sorted(seen.items()))))
for k in seen:
    if k.split()[1] not in ("ok", "ENXIO", "ENOENT"):
        bad.append("race: %s" % k)
if not any(k.endswith("ENXIO") for k in seen):
    bad.append("race: the fifo was never met (no ENXIO)")
# Both workers still free: a burst of requests, all answered.
ids = [c.send_request(w.OP_GETATTR, w.req_path("/etc/hostname"))
       for _ in range(64)]
for i in ids:
    c.wait(i)
print("# 64 getattrs answered after the race")
if bad:
    sys.exit("\n".join(bad))
PY
[ "$(sha256sum <"$LOOP")" = "$dev_sum" ] || fail "the loop device changed"

# --- Through a read-write mount. ----------------------------------------
mount_url "$AGENT_URL" "$M" --rw
grep " $(realpath "$M") fuse" /proc/mounts | grep -q nodev ||
	fail "the mount is not nodev: $(grep " $(realpath "$M") " /proc/mounts)"
rc=0; timeout 10 head -c 4096 "$M/blk" >"$T/blk.out" 2>"$T/blk.err" || rc=$?
[ $rc != 0 ] && [ ! -s "$T/blk.out" ] || fail "read the pod's block device through the mount"
say "read $M/blk: $(cat "$T/blk.err")"
rc=0; timeout 10 dd if=/dev/zero of="$M/blk" bs=4096 count=1 conv=notrunc \
	status=none 2>"$T/blk.err" || rc=$?
[ $rc != 0 ] || fail "wrote the pod's block device through the mount"
say "write $M/blk: $(cat "$T/blk.err")"
[ "$(sha256sum <"$LOOP")" = "$dev_sum" ] || fail "the loop device changed"
[ "$(sha256sum <"$T/disk.img")" = "$disk_sum" ] || fail "the loop device's file changed"

# The laptop writes "> race" again and again while the pod swaps it; a
# fifo the laptop's kernel saw is its own (a local open that waits,
# ended by timeout), but the agent must answer everything else within
# its deadline throughout.
python3 - "$R" "$T/stop" <<'PY' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
while not os.path.exists(sys.argv[2]):
    for kind in ("f", "r"):
        try:
            tmp = "race." + kind
            if kind == "f":
                os.mkfifo(tmp, dir_fd=fd)
            else:
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
            os.rename(tmp, "race", src_dir_fd=fd, dst_dir_fd=fd)
            os.unlink("race", dir_fd=fd)
        except OSError:
            pass
PY
SWAPPER=$!
on_exit "touch '$T/stop'; kill $SWAPPER"
end=$((SECONDS + 15)) n=0 slow=0
while [ $SECONDS -lt $end ]; do
	timeout 2 sh -c "echo x >'$M/race'" 2>/dev/null
	s=$(date +%s%N)
	[ "$(timeout 10 cat "$M/etc/hostname")" = root-hostname ] ||
		fail "the mount stopped answering during the race (round $n)"
	[ $((($(date +%s%N) - s) / 1000000)) -lt 2000 ] || slow=$((slow + 1))
	n=$((n + 1))
done
touch "$T/stop"
wait $SWAPPER
say "$n rounds of 'echo > race' against the pod's swaps; $slow slow answers"
[ $slow = 0 ] || fail "$slow answers took over 2 s during the race"
kill -0 "$AGENT_PID" 2>/dev/null || fail "the agent died"

# --- The pod's resolv.conf, read by OP_NET_INFO. ------------------------
P=$T/pod
mkdir -p "$P/bin" "$P/etc" "$P/dev"
cp /usr/bin/busybox "$P/bin/busybox"
mknod "$P/dev/zero" c 1 5
chroot "$P" /bin/busybox sleep 1000 &
TPID=$!
on_exit "kill $TPID"
in_pod_root() { [ "$(readlink /proc/$TPID/root 2>/dev/null)" = "$P" ]; }
wait_for 5 in_pod_root || fail "the pod process did not start"
AGENT_PID0=$AGENT_PID
start_agent --target-pid "$TPID"
nc() {
	timeout 30 python3 "$SRC/tests/netclient.py" --timeout 10 \
		--url "$AGENT_URL" --token-file "$T/token" info
}
printf 'nameserver 10.99.0.53\n' >"$P/etc/resolv.conf"
out=$(nc 2>&1) || fail "net_info with a plain resolv.conf: $out"
grep -qx 'nameserver 10.99.0.53' <<<"$out" || fail "net_info: not the pod's resolv.conf: $out"
for kind in fifo zero devlink; do
	rm -f "$P/etc/resolv.conf"
	case $kind in
	fifo) mkfifo "$P/etc/resolv.conf" ;;
	zero) mknod "$P/etc/resolv.conf" c 1 5 ;;
	devlink) ln -s /dev/zero "$P/etc/resolv.conf" ;;
	esac
	s=$(date +%s%N)
	rc=0; out=$(nc 2>&1) || rc=$?
	ms=$((($(date +%s%N) - s) / 1000000))
	[ $rc = 0 ] || fail "net_info with resolv.conf as $kind: exit $rc in $ms ms: $out"
	grep -q 'nameserver' <<<"$out" && fail "net_info: a nameserver from a $kind?"
	[ "$(printf '%s' "$out" | tr -d '\0' | wc -c)" = "$(printf '%s' "$out" | wc -c)" ] ||
		fail "net_info with resolv.conf as $kind: device data in the reply"
	say "net_info with resolv.conf as $kind: answered in $ms ms, no resolv.conf"
done
kill -0 "$AGENT_PID0" 2>/dev/null && kill -0 "$AGENT_PID" 2>/dev/null ||
	fail "an agent died"
for f in "$T"/agent.*.err; do
	! grep -E "AddressSanitizer|runtime error" "$f" || fail "sanitizer report in $f"
done
exit 0
