#!/usr/bin/env bash
# mirrorctl shell and exec against a real pod run by "podman kube play"
# (tests/podman/shell-pod.yaml), as issue 12 asks "where podman works":
# the pod's service-account token (an emptyDir volume the container
# fills with random bytes at start, compared with "podman exec ... cat")
# at its pod path, also read by a static busybox that no LD_PRELOAD
# reaches; the pod's MIRRORD_FAKE_VAR_FIRST next to the local PATH, and
# an env.exclude variable kept local; the pod's hostname; --chroot shows
# the image's /etc/os-release; the user behind sudo (SUDO_UID) is who
# runs; "mirrorctl exec -- python3 app.py"
# reads the pod's config by its pod path and local files by theirs;
# curl in the shell reaches the pod's server by its address, by its
# hostname (the pod's /etc/hosts) and by its pod name (the pod's DNS,
# podman's aardvark, through the shell's stub), and the server sees the
# connection come from the pod's own address; after the shell exits and
# after SIGKILL of mirrorctl no mount, network namespace, TUN device,
# agent or netd of it remains.
# A network test: run it under "flock /tmp/mirror-net.lock" (it takes
# the podman lock itself).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/podman.sh"

need_mount
need_podman
need_cmd curl
need_cmd nsenter util-linux
need_cmd ip iproute2
use_built_layer	# exec preloads it (with an ASan build's runtimes first)
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
PY=/usr/bin/python3
[ -x "$PY" ] || missing "no /usr/bin/python3 (apt-get install python3)"

YAML=$PODMAN_DIR/shell-pod.yaml
IMAGE=localhost/mirror-shell:test
CTR=mirror-shell-app
POD=mirror-shell
HOST=mirror-shell-pod
TGT=podman/$CTR
SA=/var/run/secrets/kubernetes.io/serviceaccount
SESS=$MIRROR_STATE_DIR/sessions
[ ! -e "$SA" ] || fail "this machine has $SA itself: the test would prove nothing"
[ ! -e /app/config.yaml ] || fail "this machine has /app/config.yaml: the test would prove nothing"
[ "$(hostname)" != "$HOST" ] || fail "this machine is called $HOST"

say "the image: py-serv's root plus an os-release and a config of its own"
pyserv_image
R=$T/pyserv-rootfs
for a in head od tr mv hostname id; do ln -s busybox "$R/bin/$a"; done
OSR_ID=mirror-shell-$RANDOM$RANDOM
printf 'PRETTY_NAME="mirror shell test image"\nNAME="mirror-shell"\nID=%s\n' \
	"$OSR_ID" >"$R/etc/os-release"
CONFIG="listen: 8080 # $(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
echo "$CONFIG" >"$R/app/config.yaml"
tar -C "$R" -c . | podman import -q - "$IMAGE" >/dev/null || fail "podman import $IMAGE"
on_exit "podman rmi -f $IMAGE"

say "the pod"
podman kube down "$YAML" >/dev/null 2>&1
(cd "$T" && podman kube play "$YAML") >"$T/kube-play.out" 2>&1 ||
	fail "podman kube play: $(cat "$T/kube-play.out")"
on_exit "podman kube down '$YAML'; podman volume rm -f mirror-shell-sa"
PID=$(podman inspect --format '{{.State.Pid}}' "$CTR") || fail "podman inspect $CTR"
IP=$(podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$CTR")
[ "${PID:-0}" -gt 0 ] && [ -n "$IP" ] || fail "$CTR: pid '$PID', address '$IP'"
pod_token() { podman exec "$CTR" /bin/cat "$SA/token" >"$T/pod-token" 2>/dev/null && [ -s "$T/pod-token" ]; }
wait_for 10 pod_token || fail "the pod made no token in its volume"
grep -q " $SA " "/proc/$PID/mountinfo" || fail "$SA is not a volume of the pod"
say "$CTR: pid $PID, address $IP, token $(cat "$T/pod-token")"
getent hosts "$POD" >/dev/null && fail "this machine resolves $POD itself: the DNS check would prove nothing"
tuns_before=$(ip -o link show type tun | sed 's/^[0-9]*: //; s/:.*//' | sort)

# sh_ok NAME [SHELL OPTIONS] -- CMD...: the shell's stdout in $T/NAME.
sh_ok() {
	local n=$1 o=()
	shift
	while [ "$1" != -- ]; do o+=("$1"); shift; done
	shift
	timeout 60 "$CTL" shell "${o[@]}" "$TGT" -- "$@" >"$T/$n" 2>"$T/$n.err" ||
		fail "shell ${o[*]} -- $*: exit $? ($(cat "$T/$n.err"))"
}

# What is left of shells, on stdout: a session, a mount or a process of
# ours (agent, mountd, netd: each has the state directory in its
# arguments), an agent on the pod, a TUN device here that was not there
# before, a process in the shell's network namespace NS.
left() {
	local ns=${1:-} p
	[ -z "$(ls "$SESS" 2>/dev/null)" ] || echo "sessions: $(ls "$SESS")"
	grep "$MIRROR_STATE_DIR" /proc/mounts
	pgrep -af "$MIRROR_STATE_DIR"
	pgrep -af "mirror-agent.*--target-pid $PID( |\$)"
	[ "$(ip -o link show type tun | sed 's/^[0-9]*: //; s/:.*//' | sort)" = "$tuns_before" ] ||
		echo "TUN devices: $(ip -o link show type tun)"
	[ -n "$ns" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(stat -Lc %i "$p/ns/net" 2>/dev/null)" = "$ns" ] &&
			echo "${p#/proc/} is in the shell's netns"
	done
	grep -l "net:\[$ns\]" /proc/mounts /proc/[0-9]*/mountinfo 2>/dev/null |
		sed 's/^/the netns is bind-mounted: /'
	return 0
}
nothing_left() { # WHAT [NS]
	wait_for 10 eval '[ -z "$(left "${2:-}")" ]' ||
		fail "$1: left behind: $(left "${2:-}")"
}

say "the pod's token at its pod path, by coreutils' and by a static busybox's cat"
sh_ok tok -- cat "$SA/token"
cmp -s "$T/tok" "$T/pod-token" || fail "token in the shell: '$(cat "$T/tok")', in the pod: '$(cat "$T/pod-token")'"
ldd /bin/busybox >/dev/null 2>&1 && fail "/bin/busybox is not static"
sh_ok tokbb -- /bin/busybox cat "$SA/token"
cmp -s "$T/tokbb" "$T/pod-token" || fail "static busybox cat read: $(cat "$T/tokbb")"
nothing_left "after a shell"

say "environment and hostname"
sh_ok env -- env
grep -qx 'MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/env" ||
	fail "the pod's MIRRORD_FAKE_VAR_FIRST is not in: $(cat "$T/env")"
grep -qx "PATH=$PATH" "$T/env" || fail "the local PATH is not in the shell: $(grep ^PATH= "$T/env")"
grep -qx "MIRROR_TARGET=$TGT" "$T/env" || fail "no MIRROR_TARGET=$TGT"
# env.exclude keeps a variable the pod also has at the local value.
printf 'env = { exclude = [ "MIRRORD_FAKE_VAR_SEC*" ]; };\n' >"$T/excl.conf"
MIRRORD_FAKE_VAR_SECOND=laptop-value sh_ok excl --config "$T/excl.conf" -- env
grep -qx 'MIRRORD_FAKE_VAR_SECOND=laptop-value' "$T/excl" ||
	fail "an env.exclude variable did not stay local: $(grep SECOND "$T/excl")"
grep -qx 'MIRRORD_FAKE_VAR_FIRST=mirrord.is.running' "$T/excl" || fail "env.exclude took too much"
grep -qx 'MIRRORD_FAKE_VAR_SECOND=7777' "$T/env" || fail "no pod MIRRORD_FAKE_VAR_SECOND without exclude"
sh_ok host -- hostname
assert_eq "$HOST" "$(cat "$T/host")" "hostname in the shell"
assert_eq "$(podman exec "$CTR" /bin/hostname)" "$(cat "$T/host")" "the pod's own hostname"
[ "$(hostname)" != "$HOST" ] || fail "the laptop's hostname changed"
sh_ok hosts -- cat /etc/hosts
podman exec "$CTR" /bin/cat /etc/hosts >"$T/pod-hosts"
cmp -s "$T/hosts" "$T/pod-hosts" || fail "/etc/hosts in the shell is not the pod's: $(cat "$T/hosts")"

say "--chroot: the image's os-release"
sh_ok osr --chroot -- cat /etc/os-release
grep -qx "ID=$OSR_ID" "$T/osr" || fail "--chroot os-release: $(cat "$T/osr")"
cmp -s "$T/osr" /etc/os-release && fail "--chroot shows the laptop's os-release"
sh_ok chr --chroot -- /bin/sh -c 'readlink /bin/cat; cat /app/config.yaml'
assert_eq "busybox
$CONFIG" "$(cat "$T/chr")" "--chroot: the image's /bin and /app"

say "the user behind sudo"
SUDO_UID=65534 SUDO_GID=65534 SUDO_USER=nobody timeout 60 "$CTL" shell "$TGT" -- \
	sh -c "id -u; id -g; cat $SA/token; echo; echo \"\$HOME\"" >"$T/id" 2>"$T/id.err" ||
	fail "shell as nobody: $(cat "$T/id.err")"
assert_eq 65534 "$(sed -n 1p "$T/id")" "id -u under SUDO_UID"
assert_eq 65534 "$(sed -n 2p "$T/id")" "id -g under SUDO_GID"
assert_eq "$(cat "$T/pod-token")" "$(sed -n 3p "$T/id")" "nobody reads the pod's token"
assert_eq "$(getent passwd nobody | cut -d: -f6)" "$(sed -n 4p "$T/id")" "HOME of nobody"

say "exec: python3 app.py reads the pod's config by its pod path"
W=$T/work
mkdir -p "$W"
echo "a local file, by a relative path" >"$W/rel.txt"
cat >"$W/app.py" <<'EOF'
# What an app reads by the paths it uses in the pod, as JSON.
import json, sys
out = {}
for p in sys.argv[1:]:
    try:
        out[p] = open(p).read()
    except OSError as e:
        out[p] = e.__class__.__name__
json.dump(out, sys.stdout)
EOF
(cd "$W" && timeout 60 "$CTL" exec "$TGT" -- "$PY" app.py /app/config.yaml \
	/usr/lib/os-release rel.txt "$SA/token") >"$T/app.json" 2>"$T/app.err" ||
	fail "exec python3 app.py: $(cat "$T/app.err")"
get() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end="")' "$T/app.json" "$1"; }
assert_eq "$CONFIG" "$(get /app/config.yaml)" "exec: /app/config.yaml is the pod's"
assert_eq "$(cat /usr/lib/os-release)" "$(get /usr/lib/os-release)" "exec: /usr/lib/os-release is the laptop's"
assert_eq "$(cat "$W/rel.txt")" "$(get rel.txt)" "exec: a relative path is local"
assert_eq "$(cat "$T/pod-token")" "$(get "$SA/token")" "exec: the token"
nothing_left "after exec, --chroot and sudo"

say "network: the pod's server by address, hostname and pod name"
sh_ok curl1 -- curl -sS --max-time 10 "http://$IP:8080/"
cmp -s "$T/curl1" "$R/app/www/index.html" || fail "curl $IP:8080 in the shell: $(cat "$T/curl1")"
sh_ok curl2 -- curl -sS --max-time 10 "http://$HOST:8080/"
cmp -s "$T/curl2" "$R/app/www/index.html" || fail "curl $HOST:8080 (the pod's /etc/hosts): $(cat "$T/curl2")"
sh_ok curl3 -- sh -c "getent hosts $POD; curl -sS --max-time 10 http://$POD:8080/"
assert_eq "$IP" "$(head -n 1 "$T/curl3" | awk '{print $1}')" "$POD by the pod's DNS"
tail -n +2 "$T/curl3" | cmp -s - "$R/app/www/index.html" || fail "curl $POD:8080 (the pod's DNS): $(cat "$T/curl3")"
sh_ok routes -- sh -c 'stat -Lc %i /proc/self/ns/net; ip -o link show; ip route'
ns=$(head -n 1 "$T/routes")
grep -q "^default dev mirror0" "$T/routes" || fail "no default route into the shell's TUN: $(cat "$T/routes")"
grep -Eq ': (eth|veth|podman|lap|sink)' "$T/routes" && fail "the shell sees a link of the laptop's: $(cat "$T/routes")"
# httpd -v logs each client: the connections of the shell come from the
# pod itself (the agent connects in its network namespace), never from
# the bridge's address the laptop would use. Three curls, three peers.
podman logs "$CTR" 2>&1 | grep -oE '^\[[^]]*\]:[0-9]+' | sort -u |
	sed 's/^\[\(::ffff:\)\{0,1\}\(.*\)\]:[0-9]*$/\2/' | uniq -c >"$T/peers"
assert_eq "3 $IP" "$(echo $(cat "$T/peers"))" "the clients the pod's server saw"
nothing_left "after the network checks" "$ns"

say "SIGKILL of mirrorctl: nothing of the shell is left"
"$CTL" shell "$TGT" -- sh -c 'sleep 300 & sleep 300' >/dev/null 2>&1 &
ctl=$!
on_exit "kill -9 $ctl"
# Listed with what it placed: the shell's child, in its namespaces.
wait_for 30 eval '"$CTL" status | grep -q "^$TGT .*/var/run/secrets"' ||
	fail "no shell in status: $("$CTL" status)"
"$CTL" status >"$T/st"
spid=$(awk '/^SHELL TARGET/ { getline; print $2 }' "$T/st")
[ -n "$spid" ] && [ -d "/proc/$spid" ] || fail "status: no live shell pid: $(cat "$T/st")"
ns=$(stat -Lc %i "/proc/$spid/ns/net")
wait_for 10 nsenter -t "$spid" -n ip link show mirror0 >/dev/null 2>&1 ||
	fail "no TUN device in the namespace of shell $spid: $(cat "$T/st";
		nsenter -t "$spid" -n ip -o link 2>&1; cat /proc/$spid/cmdline | tr '\0' ' ')"
grep -q "$MIRROR_STATE_DIR" /proc/mounts || fail "the shell made no mount"
pgrep -f "mirror-agent.*--target-pid $PID( |\$)" >/dev/null || fail "no agent on the pod"
kill -9 "$ctl"
wait "$ctl" 2>/dev/null
nothing_left "after SIGKILL of mirrorctl" "$ns"
podman exec "$CTR" /bin/cat "$SA/token" | cmp -s - "$T/pod-token" || fail "the pod lost its token"
say "ok"
