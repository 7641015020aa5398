# What "mirrorctl CMD --help" offers, for the bash and zsh completions
# (make puts this program into both; see completions/mirrorctl.bash).
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
