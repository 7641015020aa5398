# The part of mirrorctl's bash and zsh completions that is the same in
# both shells (make puts it into each; see the Makefile's
# MIRROR_COMPLETE_SED). Plain sh that bash and zsh read alike.

# CTL CMD: what "CTL CMD --help" offers, one per line:
#   F FLAG ARG   a flag; ARG is its argument's name, "-" if it takes none,
#                or its choices as a|b|c
#   P NAME       a positional argument (TARGET, MOUNTPOINT, ...)
#   A WORD       an action word (demo up|down|status)
_mirrorctl_spec()
{
	"$1" "$2" --help 2>/dev/null | awk -v cmd="$2" '
	function isflag(t) { return t ~ /^--?[A-Za-z][-A-Za-z0-9]*$/ }
	function isarg(t) { return t ~ /^[A-Z][A-Z_]*$/ || t ~ /^[a-z]+(\|[a-z]+)+$/ }
	function flag(f, a) {
		if (!(f in arg) || (arg[f] !~ /\|/ && a != "-")) arg[f] = a
		if (!(f in seen)) { seen[f] = 1; order[n++] = f }
	}
	/^usage: / {
		line = $0
		sub(/^usage: [^ ]+ [^ ]+/, "", line)
		gsub(/\[/, " [ ", line); gsub(/\]/, " ] ", line)
		nt = split(line, t, " ")
		depth = 0
		for (i = 1; i <= nt; i++) {
			if (t[i] == "[") { depth++; continue }
			if (t[i] == "]") { depth--; continue }
			if (t[i] == "--") break
			if (t[i] ~ /^--?[A-Za-z][-A-Za-z0-9]*(\|--?[A-Za-z][-A-Za-z0-9]*)+$/) {
				m = split(t[i], alt, "|")
				for (j = 1; j <= m; j++) flag(alt[j], "-")
				continue
			}
			if (isflag(t[i])) {
				# [-o json]: inside brackets the next word is its argument
				if (i < nt && (isarg(t[i + 1]) || (depth > 0 &&
				    t[i + 1] !~ /^[][|]$/ && !isflag(t[i + 1])))) {
					flag(t[i], t[i + 1]); i++
				}
				else flag(t[i], "-")
				continue
			}
			if (t[i] ~ /^[A-Z][A-Z_]*$/) print "P " t[i]
			else if (depth == 0 && t[i] ~ /^[a-z]+$/) print "A " t[i]
		}
		next
	}
	/^  -/ {
		nt = split($0, t, " ")
		ng = 0
		for (i = 1; i <= nt; i++) {
			w = t[i]; sub(/,$/, "", w)
			if (isflag(w)) { g[ng++] = w; continue }
			# "  -o json    a JSON array": an argument before the gap
			if (ng > 0 && (isarg(w) || index($0, " " w "  "))) {
				a = w
				for (j = 0; j < ng; j++) if (arg[g[j]] ~ /\|/) a = arg[g[j]]
				for (j = 0; j < ng; j++) flag(g[j], a)
				ng = 0
				continue
			}
			break
		}
		for (j = 0; j < ng; j++) flag(g[j], "-")
	}
	END { for (i = 0; i < n; i++) print "F " order[i] " " arg[order[i]] }
'
}

# CTL [ls flags]: the TARGETs "CTL ls" prints, reused for
# ${_MIRRORCTL_LS_CACHE_S:-10} seconds from a file of this user's.
_mirrorctl_targets()
{
	local ctl=$1 dir file key now mtime tmp
	shift
	dir=${XDG_RUNTIME_DIR:-/tmp}
	key=$(printf '%s\n' "$@" | cksum | cut -d' ' -f1)
	file=$dir/mirrorctl-complete.$UID.ls.$key
	now=$(date +%s)
	if [ -f "$file" ] && [ -O "$file" ] && [ ! -L "$file" ]; then
		mtime=$(stat -c %Y -- "$file" 2>/dev/null || echo 0)
		if [ $((now - mtime)) -lt "${_MIRRORCTL_LS_CACHE_S:-10}" ] &&
			[ "$mtime" -le "$now" ]; then
			cat -- "$file"
			return
		fi
	fi
	tmp=$(mktemp "$dir/mirrorctl-complete.XXXXXX" 2>/dev/null) || tmp=
	"$ctl" ls "$@" 2>/dev/null | awk 'NR > 1 && $1 ~ /\// { print $1 }' |
		if [ -n "$tmp" ]; then tee -- "$tmp"; else cat; fi
	# rename() does not follow a link or replace another user's file in /tmp
	[ -n "$tmp" ] && { mv -f -- "$tmp" "$file" 2>/dev/null || rm -f -- "$tmp"; }
}

# CTL: the mount points "CTL status" lists.
_mirrorctl_mounts()
{
	"$1" status 2>/dev/null | awk '
		/^TARGET[ ]+MOUNTPOINT/ { t = 1; next }
		/^$/ { t = 0 }
		t && /^[^ ]/ { print $2 }'
}
