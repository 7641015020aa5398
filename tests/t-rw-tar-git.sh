#!/usr/bin/env bash
# A writable mount takes real-world tree writers without losing anything:
# - tar x of an archive of ~5,000 files (nested dirs, sizes from 0 to
#   200 KiB and two of 2-3 MiB, modes, relative symlinks, a dangling
#   one, hard links, empty dirs, fixed mtimes) into the mount, then
#   tar c of the extracted tree (deterministic options) is
#   byte-identical to tar c of the original, both through the mount and
#   as the agent's root sees it directly;
# - git clone (local path, --no-hardlinks) of a ~5,000-file repository
#   with two commits into the mount: git fsck --full and an empty
#   git status --porcelain through the mount and on the agent side; a
#   commit made in the mount-side clone has the same id as the same
#   commit made in a local clone, and the agent side's git log shows it.
. "$(dirname "$0")/lib.sh"

need_mount
need_cmd python3
need_cmd tar
need_cmd git
need_cmd cmp diffutils

R=$T/root M=$T/mnt O=$T/orig
mkdir -p "$R" "$M" "$O"

say "building the original tree in $O"
python3 - "$O" <<'EOF' || fail "cannot build the original tree"
import os, random, sys
root = sys.argv[1]
rng = random.Random(20240601)
def p(rel):
    return os.path.join(root, rel)
dirs = ['']
for i in range(10):
    dirs.append('d%02d' % i)
    os.mkdir(p(dirs[-1]))
for i in range(10, 90):
    parent = rng.choice(dirs)
    if parent.count('/') >= 5:
        parent = ''
    d = (parent + '/' if parent else '') + 'd%02d' % i
    dirs.append(d)
    os.mkdir(p(d))
files = []
def mkfile(rel, size, mode=0o644):
    with open(p(rel), 'wb') as f:
        f.write(rng.randbytes(size))
    os.chmod(p(rel), mode)
    files.append(rel)
mkfile('zero', 0)
mkfile('max-200k', 204800)
mkfile('d01/exactly-4096', 4096)
mkfile('d02/exactly-131072', 131072)
mkfile('with space and é.txt', 100)
# A few files past a MiB (writes through the mount may go behind there).
mkfile('d09/big-2m', 2 * 1048576 + 12345)
mkfile('d00/big-3m', 3 * 1048576, 0o755)
for i in range(4995):
    d = rng.choice(dirs)
    r = rng.random()
    if r < 0.03:
        size = 0
    elif r < 0.90:
        size = rng.randint(1, 4096)
    elif r < 0.99:
        size = rng.randint(4097, 65536)
    else:
        size = rng.randint(65537, 204800)
    name = 'f%04d' % i + rng.choice(['', '.txt', '.c', '.bin'])
    mode = rng.choice([0o644] * 8 + [0o755, 0o600, 0o444, 0o664])
    mkfile((d + '/' if d else '') + name, size, mode)
# Hard links, in the same and in other dirs.
for i in range(6):
    src = rng.choice(files[5:])
    d = rng.choice(dirs)
    os.link(p(src), p((d + '/' if d else '') + 'hardlink%d' % i))
os.link(p('zero'), p('d03/zero-link'))
# Relative symlinks: same dir, up and across, to a dir, dangling.
os.symlink('zero', p('sl-same'))
for i in range(6):
    src = rng.choice(files[5:])
    d = rng.choice([x for x in dirs if x])
    depth = d.count('/') + 1
    os.symlink('../' * depth + src, p(d + '/symlink%d' % i))
os.symlink('d01', p('sl-dir'))
os.symlink('no/such/file', p('d04/dangling'))
# Empty dirs, one with an unusual mode.
os.mkdir(p('empty'))
os.mkdir(p('d05/empty-sub'))
os.chmod(p('d05/empty-sub'), 0o750)
os.chmod(p('d06'), 0o700)
# Fixed mtimes everywhere (children before their dirs).
t = 1600000000
for dirpath, dirnames, filenames in os.walk(root, topdown=False):
    for n in filenames + dirnames:
        t += 7
        os.utime(os.path.join(dirpath, n), ns=(t * 10**9, t * 10**9 + 123456789),
                 follow_symlinks=False)
os.utime(root, ns=(t * 10**9, t * 10**9))
EOF
nfiles=$(find "$O" -type f | wc -l)
say "$nfiles files, $(du -sm "$O" | cut -f1) MiB"

# Deterministic archives of a tree; with --mtime=@0 only the contents,
# names, types, modes and links count, without it the mtimes too.
TAROPTS=(--sort=name --owner=0 --group=0 --numeric-owner --format=gnu)
tar_of() { # dir out [extra options]
	local d=$1 out=$2; shift 2
	tar -c -f "$out" "${TAROPTS[@]}" "$@" -C "$d" . || fail "tar c of $d failed"
}
same_archive() { # want got what
	cmp -s "$1" "$2" && return 0
	tar -tvf "$1" "${TAROPTS[@]}" --full-time >"$1.list" 2>&1
	tar -tvf "$2" "${TAROPTS[@]}" --full-time >"$2.list" 2>&1
	echo "differences (original vs $3):" >&2
	diff "$1.list" "$2.list" | head -n 20 >&2
	# Same names and attributes: which contents differ.
	tar -d -f "$2" -C "$O" 2>&1 | head -n 20 >&2
	fail "tar c of $3 is not byte-identical to tar c of the original"
}
tar_of "$O" "$T/orig.tar"
tar_of "$O" "$T/orig.m0.tar" --mtime=@0

start_agent "$R" --rw
mount_url "$AGENT_URL" "$M" --rw

# ------------------------------------------------------------------- tar
say "tar x into the mount"
mkdir "$M/x" || fail "mkdir in the mount"
s=$(date +%s%N)
tar -x -f "$T/orig.tar" -C "$M/x" 2>"$T/tarx.err" ||
	fail "tar x into the mount failed: $(head -n 20 "$T/tarx.err")"
[ -s "$T/tarx.err" ] && fail "tar x into the mount complained: $(head -n 20 "$T/tarx.err")"
say "tar x: $((($(date +%s%N) - s) / 1000000)) ms"

say "tar c of the extracted tree, through the mount and on the agent side"
tar_of "$M/x" "$T/mnt.m0.tar" --mtime=@0
same_archive "$T/orig.m0.tar" "$T/mnt.m0.tar" "the mount (mtimes ignored)"
tar_of "$R/x" "$T/root.m0.tar" --mtime=@0
same_archive "$T/orig.m0.tar" "$T/root.m0.tar" "the agent's root (mtimes ignored)"
tar_of "$M/x" "$T/mnt.tar"
same_archive "$T/orig.tar" "$T/mnt.tar" "the mount, with mtimes"
tar_of "$R/x" "$T/root.tar"
same_archive "$T/orig.tar" "$T/root.tar" "the agent's root, with mtimes"
diff -r --no-dereference "$O" "$R/x" >"$T/diff.out" 2>&1 ||
	fail "diff -r original vs agent side: $(head -n 20 "$T/diff.out")"
diff -r --no-dereference "$O" "$M/x" >"$T/diff.out" 2>&1 ||
	fail "diff -r original vs mount: $(head -n 20 "$T/diff.out")"
# Hard links are one inode on both sides.
for side in "$M/x" "$R/x"; do
	a=$(stat -c '%i %h' "$side/zero") b=$(stat -c '%i %h' "$side/d03/zero-link")
	assert_eq "$a" "$b" "inode and link count of zero and its hard link in $side"
	assert_eq 2 "${a#* }" "link count of zero in $side"
done

# ------------------------------------------------------------------- git
export HOME=$T/home GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=Tester GIT_AUTHOR_EMAIL=tester@example.com
export GIT_COMMITTER_NAME=Tester GIT_COMMITTER_EMAIL=tester@example.com
mkdir -p "$HOME"
at() { export GIT_AUTHOR_DATE="@$1 +0000" GIT_COMMITTER_DATE="@$1 +0000"; }

say "a local repository with two commits"
G=$T/repo
(
	set -e
	git init -q -b main "$G"
	cp -a "$O/." "$G/"
	cd "$G"
	git add -A
	at 1700000000
	git commit -q -m "first"
	# Packed, as a fetched repository is (5,000 loose objects would make
	# the clone copy them one by one); the second commit's stay loose.
	git repack -q -a -d
	# Second commit: change, add, delete and rename some files.
	find . -path ./.git -prune -o -type f -name 'f*.txt' -print | sort | head -n 200 |
		while read -r f; do echo "changed $f" >>"$f"; done
	for i in $(seq 1 50); do echo "new $i" >"d07/new$i"; done
	git rm -q $(git ls-files 'd08/*' | head -n 20)
	git mv zero zero-renamed
	git add -A
	at 1700000100
	git commit -q -m "second"
) >"$T/git.out" 2>&1 || fail "cannot build the local repository: $(tail -n 20 "$T/git.out")"
assert_eq 2 "$(git -C "$G" rev-list --count HEAD)" "commits in the local repository"
say "$(git -C "$G" ls-files | wc -l) files in the repository"

say "git clone into the mount"
s=$(date +%s%N)
git clone -q --no-hardlinks "$G" "$M/clone" >"$T/clone.out" 2>&1 ||
	fail "git clone into the mount: $(tail -n 20 "$T/clone.out")"
say "git clone: $((($(date +%s%N) - s) / 1000000)) ms"
git -C "$M/clone" fsck --full --no-progress >"$T/fsck.out" 2>&1 ||
	fail "git fsck --full in the mount: $(tail -n 20 "$T/fsck.out")"
s=$(date +%s%N)
st=$(git -C "$M/clone" status --porcelain 2>&1) || fail "git status in the mount: $st"
[ -z "$st" ] || fail "git status --porcelain in the mount is not empty: $(echo "$st" | head -n 20)"
say "git status through the mount: $((($(date +%s%N) - s) / 1000000)) ms"
git -C "$R/clone" fsck --full --no-progress >"$T/fsck.out" 2>&1 ||
	fail "git fsck --full on the agent side: $(tail -n 20 "$T/fsck.out")"
st=$(git -C "$R/clone" status --porcelain 2>&1) || fail "git status on the agent side: $st"
[ -z "$st" ] || fail "git status --porcelain on the agent side is not empty: $(echo "$st" | head -n 20)"
assert_eq "$(git -C "$G" rev-parse HEAD^{tree})" "$(git -C "$R/clone" rev-parse HEAD^{tree})" \
	"the clone's tree on the agent side"
git clone -q --no-hardlinks "$G" "$T/local-clone" >/dev/null 2>&1 || fail "local git clone"
diff -r --no-dereference -x .git "$T/local-clone" "$R/clone" >"$T/diff.out" 2>&1 ||
	fail "diff -r local clone vs clone on the agent side: $(head -n 20 "$T/diff.out")"

say "a commit in the mount-side clone"
commit_in() { # dir
	(
		set -e
		cd "$1"
		echo "edited in the clone" >>max-200k
		echo "a new file" >added-in-clone
		git add max-200k added-in-clone
		at 1700000200
		git commit -q -m "third, made in the clone"
	) >"$T/commit.out" 2>&1 || fail "git commit in $1: $(tail -n 20 "$T/commit.out")"
}
commit_in "$T/local-clone"
commit_in "$M/clone"
want=$(git -C "$T/local-clone" rev-parse HEAD)
assert_eq "$want" "$(git -C "$M/clone" rev-parse HEAD)" "the new commit's id through the mount"
assert_eq "$want third, made in the clone" "$(git -C "$R/clone" log -1 --format='%H %s')" \
	"git log on the agent side"
assert_eq 3 "$(git -C "$R/clone" rev-list --count HEAD)" "commits on the agent side"
git -C "$R/clone" fsck --full --no-progress >"$T/fsck.out" 2>&1 ||
	fail "git fsck --full on the agent side after the commit: $(tail -n 20 "$T/fsck.out")"
st=$(git -C "$R/clone" status --porcelain 2>&1) || fail "git status on the agent side: $st"
[ -z "$st" ] || fail "git status --porcelain on the agent side after the commit: $(echo "$st" | head -n 20)"
st=$(git -C "$M/clone" status --porcelain 2>&1) || fail "git status in the mount: $st"
[ -z "$st" ] || fail "git status --porcelain in the mount after the commit: $(echo "$st" | head -n 20)"

"$CTL" umount "$M" >"$T/umount.out" 2>&1 || fail "mirrorctl umount: $(cat "$T/umount.out")"
is_mounted "$M" && fail "$M still mounted after umount"
echo "ok"
