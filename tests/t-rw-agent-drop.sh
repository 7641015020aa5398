#!/usr/bin/env bash
# Nothing fsynced is lost when the agent dies under a writer: a writer
# through a writable mount writes 1 MiB chunks of known data, fsyncs
# every 8 chunks and records (on local disk) how many bytes the last
# successful fsync covered. The agent is killed with SIGKILL; the writer
# gets EIO (or ENOTCONN) within the request timeout (2 s here), no hang
# and no endless success; the agent side's file holds every fsynced
# byte. Then an agent comes back on the same address and the mount
# serves again by itself (ls works, a new file can be written). Last,
# 8 MiB written and closed (close returned 0) right before a SIGKILL of
# the agent are all on the agent side, and so are a chmod and a utime
# followed by fsync and close.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3

R=$T/root M=$T/mnt
mkdir -p "$R/dir" "$M"
echo "already there" >"$R/dir/old"
cat >"$T/fast.conf" <<'EOF'
fs = { request_timeout = 2.0; };
agent = { connect_timeout = 2.0; };
EOF

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') ||
	fail "cannot pick a free port"
export AGENT_LISTEN=127.0.0.1:$port

# The writer's data: chunk i is 1 MiB from a PRNG seeded with i.
cat >"$T/data.py" <<'EOF'
import random
CHUNK = 1 << 20
def chunk(i):
    return random.Random(i).randbytes(CHUNK)
EOF

start_agent "$R" --rw
agent1=$AGENT_PID
mount_url "$AGENT_URL" "$M" --rw --config "$T/fast.conf"
ls "$M/dir" >/dev/null || fail "ls before the agent dies"

say "a writer through the mount: 1 MiB chunks, fsync every 8"
timeout 60 python3 - "$M/file" "$T/synced" "$T/data.py" >"$T/writer.out" 2>&1 <<'EOF' &
import errno, os, sys, time
path, synced, data = sys.argv[1:4]
sys.path.insert(0, os.path.dirname(data))
from data import chunk, CHUNK
def record(n):
    with open(synced + '.tmp', 'w') as f:
        f.write('%d\n' % n)
        f.flush()
        os.fsync(f.fileno())
    os.rename(synced + '.tmp', synced)
record(0)
def failed(op, e, i):
    print('ERR %s %s chunk=%d t=%.3f' % (op, errno.errorcode.get(e.errno, e.errno), i, time.time()))
    sys.stdout.flush()
    try:
        os.close(fd)
    except OSError as e2:
        print('close after the error: %s' % errno.errorcode.get(e2.errno, e2.errno))
    sys.exit(0)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
for i in range(600):
    buf = chunk(i)
    off = 0
    while off < CHUNK:
        try:
            off += os.write(fd, buf[off:])
        except OSError as e:
            failed('write', e, i)
    if i % 8 == 7:
        try:
            os.fsync(fd)
        except OSError as e:
            failed('fsync', e, i)
        record((i + 1) * CHUNK)
    time.sleep(0.05)
print('DONE no error after %d chunks' % (i + 1))
EOF
writer=$!
on_exit "kill $writer"

# A few fsyncs, then the agent dies.
for i in $(seq 1 300); do
	n=$(cat "$T/synced" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge $((3 * 8 << 20)) ] && break
	kill -0 $writer 2>/dev/null || fail "the writer ended early: $(cat "$T/writer.out")"
	sleep 0.1
done
[ "${n:-0}" -ge $((3 * 8 << 20)) ] || fail "the writer did not fsync 3 times in 30 s: $(cat "$T/writer.out")"
say "kill -9 the agent ($agent1) after $n bytes were fsynced"
killed=$(date +%s%N)
kill -9 "$agent1"
{ wait "$agent1"; } 2>/dev/null

wait $writer
rc=$?
out=$(cat "$T/writer.out")
[ $rc != 124 ] || fail "the writer hung after the agent died (killed after 60 s): $out"
[ $rc = 0 ] || fail "the writer crashed (exit $rc): $out"
line=$(grep '^ERR ' "$T/writer.out") || fail "the writer never got an error with the agent dead: $out"
set -- $line
case $3 in
EIO | ENOTCONN) ;;
*) fail "the writer's $2 failed with $3, want EIO or ENOTCONN" ;;
esac
t=${5#t=}
ms=$(python3 -c "print(int(($t - $killed / 1e9) * 1000))")
say "the writer's $2 failed with $3 ($4) $ms ms after the kill"
grep '^close after' "$T/writer.out" | sed 's/^/# /'
# The request timeout is 2 s; the writer fsyncs every 8 x 50 ms.
[ "$ms" -le 8000 ] || fail "the writer's error came $ms ms after the kill (request_timeout = 2 s)"

N=$(cat "$T/synced")
say "checking the first $N bytes (the last successful fsync) on the agent side"
python3 - "$R/file" "$N" "$T/data.py" <<'EOF' || fail "fsynced data lost on the agent side (see above)"
import os, sys
path, n, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
sys.path.insert(0, os.path.dirname(data))
from data import chunk, CHUNK
size = os.stat(path).st_size
print('# the agent side has %d bytes (%d fsynced)' % (size, n))
if size < n:
    sys.exit('the agent side has %d bytes, %d were fsynced' % (size, n))
with open(path, 'rb') as f:
    for i in range(n // CHUNK):
        got = f.read(CHUNK)
        want = chunk(i)
        if got != want:
            bad = next((j for j in range(min(len(got), CHUNK)) if got[j] != want[j]), len(got))
            sys.exit('chunk %d differs on the agent side (first bad byte at %d)' % (i, i * CHUNK + bad))
EOF

say "agent back on the same address"
start_agent "$R" --rw
assert_eq "ws://127.0.0.1:$port" "$AGENT_URL" "the new agent's address"
s=$(date +%s%N)
ok=0
for i in $(seq 1 100); do
	ls "$M/dir" >"$T/ls.out" 2>/dev/null && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || fail "the mount did not serve again within 10 s of the agent's return"
say "the mount serves again after $((($(date +%s%N) - s) / 1000000)) ms"
assert_eq old "$(cat "$T/ls.out")" "ls of dir after the return"
ls "$M" >/dev/null || fail "ls of the mount's root after the return"
echo "written after the return" >"$M/dir/new" || fail "writing a new file after the agent's return"
assert_eq "written after the return" "$(cat "$R/dir/new")" "the new file on the agent side"
head -c 3M /dev/urandom >"$T/big.src"
cp "$T/big.src" "$M/big" || fail "writing 3 MiB after the agent's return"
cmp "$T/big.src" "$R/big" || fail "3 MiB written after the return differ on the agent side"
cmp "$T/big.src" "$M/big" || fail "3 MiB written after the return differ through the mount"

say "a file closed just before the agent dies is all there"
head -c 8M /dev/urandom >"$T/closed.src"
disown "$AGENT_PID" # (killed by the python below; no "Killed" notice)
python3 - "$T/closed.src" "$M/closed" "$AGENT_PID" <<'EOF' || fail "writing 8 MiB then closing (see above)"
import os, signal, sys
src, dst, agent = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(src, 'rb').read()
fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
off = 0
while off < len(data):
    off += os.write(fd, data[off:off + (1 << 20)])
os.close(fd)
# A second file: attributes changed by path, then fsync and close.
fd = os.open(dst + '2', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, data[:100000])
os.chmod(dst + '2', 0o640)
os.utime(dst + '2', ns=(1500000000 * 10**9 + 5, 1500000000 * 10**9 + 123456789))
os.fsync(fd)
os.close(fd)
os.kill(agent, signal.SIGKILL)  # the instant close returned
EOF
wait_for 5 pid_gone "$AGENT_PID"
cmp "$T/closed.src" "$R/closed" ||
	fail "8 MiB written and closed (close returned 0), then the agent was killed: the agent side has $(stat -c %s "$R/closed") bytes or other bytes"
assert_eq "100000 640 1500000000.123456789" "$(stat -c '%s %a %.9Y' "$R/closed2")" \
	"size, mode and mtime set by chmod and utime, then fsync and close, before the agent died"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
