#!/usr/bin/env bash
# An interactive "mirrorctl shell demo" on a real terminal, driven through
# tmux (send-keys, capture-pane): the prompt shows the target; Ctrl-C
# interrupts only the foreground job (the shell and mirrorctl live on); a
# window resize reaches "stty size"; "exit 7" makes mirrorctl exit 7; and
# nothing of the shell is left afterwards.
# Run it under "flock /tmp/mirror-net.lock" (the demo pod's link and
# addresses are fixed: one demo pod per machine).
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd tmux
need_cmd ip iproute2
need_cmd bash
[ -x /bin/busybox ] || missing "no /bin/busybox (apt-get install busybox-static)"
if ip link show mirror-demo0 >/dev/null 2>&1; then
	missing "a demo pod is already running here (mirror-demo0 exists)"
fi
on_exit "'$CTL' demo down --purge"
"$CTL" demo up >"$T/up" 2>&1 || { cat "$T/up"; fail "demo up failed"; }
SESS=$MIRROR_STATE_DIR/sessions

TM="tmux -L mirror-test-$$ -f /dev/null"
on_exit "$TM kill-server"
mkdir "$T/home"
echo 'PS1="\$ "' >"$T/home/.bashrc"
# The pane runs mirrorctl; its exit status lands in $T/exit.
$TM new-session -d -s t -x 100 -y 30 \
	"env HOME=$T/home SHELL=/bin/bash MIRROR_STATE_DIR=$MIRROR_STATE_DIR \
	MIRROR_MOUNTD=$MOUNTD MIRROR_AGENT=$AGENT MIRROR_NETD=$NETD \
	$CTL shell demo; echo \$? >$T/exit; sleep 600" || fail "tmux"
$TM set -g status off >/dev/null

screen() { $TM capture-pane -p -t t; }
# on_screen SECONDS REGEX: waits until the pane shows REGEX.
shows() { screen | grep -qE -- "$PAT"; }
on_screen() { PAT=$2; wait_for "$1" shows; }
keys() { $TM send-keys -t t "$@"; }

say "the prompt shows the target"
on_screen 30 '^\(mirror:demo\) \$' || fail "no prompt: $(screen)"
keys 'hostname' Enter
on_screen 10 '^py-serv$' || fail "hostname: $(screen)"

say "Ctrl-C interrupts only the foreground job"
# A length no other sleep on this machine has.
SL=$((100000 + $$))
keys "sleep $SL; echo after-\$((6*7))" Enter
wait_for 10 pgrep -x -f "sleep $SL" >/dev/null || fail "sleep did not start"
keys C-c
wait_for 10 eval '! pgrep -x -f "sleep $SL" >/dev/null' || fail "Ctrl-C did not end sleep"
keys 'echo alive-$((20+3))' Enter
on_screen 10 '^alive-23$' || fail "the shell did not survive Ctrl-C: $(screen)"
screen | grep -q '^after-42$' && fail "Ctrl-C did not stop the command list"
[ ! -e "$T/exit" ] || fail "mirrorctl ended on Ctrl-C: $(cat "$T/exit")"

say "job control"
keys 'sleep 101 &' Enter
keys 'jobs' Enter
on_screen 10 'Running +sleep 101' || fail "no background job: $(screen)"
keys 'kill %1' Enter

say "a resize reaches the program"
keys 'stty size' Enter
on_screen 10 '^30 100$' || fail "stty size before: $(screen)"
$TM resize-window -t t -x 120 -y 40
keys 'clear; stty size' Enter
on_screen 10 '^40 120$' || fail "stty size after resize: $(screen)"

say "exit 7"
keys 'exit 7' Enter
wait_for 20 test -s "$T/exit" || fail "mirrorctl did not end: $(screen)"
assert_eq 7 "$(cat "$T/exit")" "mirrorctl's exit status"

say "nothing is left"
[ -z "$(ls "$SESS" 2>/dev/null)" ] || fail "sessions left: $(ls "$SESS")"
! grep -q "$SESS" /proc/mounts || fail "a mount is left"
! pgrep -af "$SESS" >/dev/null || fail "processes left: $(pgrep -af "$SESS")"
echo "ok"
