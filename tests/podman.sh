# Real pods for the tests, run by podman from a Kubernetes manifest
# (sourced after lib.sh). No registry is reachable: the image is a
# busybox root file system imported as localhost/mirror-pyserv:test.
PODMAN_DIR=$SRC/tests/podman
export CONTAINERS_CONF=$PODMAN_DIR/containers.conf
PYSERV_YAML=$PODMAN_DIR/py-serv.yaml
PYSERV_IMAGE=localhost/mirror-pyserv:test
PYSERV_CTR=py-serv-py-serv

need_podman() {
	need_root
	need_cmd podman
	need_cmd runc
	need_cmd busybox busybox-static
	podman info >/dev/null 2>"$T/podman-info.err" ||
		missing "podman does not work here: $(tail -n 1 "$T/podman-info.err")"
	# The pod's name and the image's tag are fixed: one test at a time.
	exec {PODMAN_LOCK}>/tmp/mirror-test-podman.lock
	flock "$PODMAN_LOCK"
}

# Builds the sample app's image: busybox, a page, and a marker file with
# random content ($PYSERV_MARKER) that only this container holds.
pyserv_image() {
	local r=$T/pyserv-rootfs a
	rm -rf "$r"
	mkdir -p "$r/bin" "$r/etc" "$r/app/www" "$r/tmp"
	cp "$(command -v busybox)" "$r/bin/busybox"
	for a in sh ls cat sleep httpd env echo mkdir rm sha256sum wget; do
		ln -s busybox "$r/bin/$a"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
	echo 'root:x:0:' >"$r/etc/group"
	PYSERV_MARKER=pyserv-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	echo "$PYSERV_MARKER" >"$r/app/MARKER"
	echo "<h1>py-serv</h1>" >"$r/app/www/index.html"
	tar -C "$r" -c . | podman import -q - "$PYSERV_IMAGE" >/dev/null ||
		fail "podman import of the py-serv image failed"
	on_exit "podman rmi -f $PYSERV_IMAGE"
}

# Starts the py-serv pod with "podman kube play"; stopped at exit.
# Sets PYSERV_PID (the app container's PID on this machine) and PYSERV_IP.
pyserv_up() {
	podman kube down "$PYSERV_YAML" >/dev/null 2>&1
	(cd "$T" && podman kube play "$PYSERV_YAML") >"$T/kube-play.out" 2>&1 ||
		{ cat "$T/kube-play.out" >&2; fail "podman kube play failed"; }
	on_exit "podman kube down '$PYSERV_YAML'"
	PYSERV_PID=$(podman inspect --format '{{.State.Pid}}' "$PYSERV_CTR") ||
		fail "podman inspect $PYSERV_CTR failed"
	[ "${PYSERV_PID:-0}" -gt 0 ] || fail "py-serv container has no PID"
	PYSERV_IP=$(podman inspect --format \
		'{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$PYSERV_CTR")
}

pyserv_down() {
	podman kube down "$PYSERV_YAML" >/dev/null 2>&1 ||
		fail "podman kube down failed"
}
