# bash completion for mirrorctl and its kubectl plugin, kubectl-mirror.
# shellcheck shell=bash
# Nothing is listed here that mirrorctl already says: the subcommands
# come from "mirrorctl --help", each one's flags, their arguments and its
# positional words from "mirrorctl CMD --help" (its usage line and its
# option lines), so a new flag is offered as soon as --help shows it.
# TARGETs are what "mirrorctl ls" prints (cached for a few seconds, per
# user and per -n/--context), mount points to unmount what "mirrorctl
# status" lists.

# CTL --help: the subcommands.
_mirrorctl_commands()
{
	"$1" --help 2>&1 | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'
}

@COMMON@

# CUR: the lines of stdin that start with CUR. Names from a cluster or
# from status go through this, never through compgen -W, which would
# expand $(...) in them.
_mirrorctl_prefix()
{
	local w
	while IFS= read -r w; do
		[[ -n $w && $w == "$1"* ]] && printf '%s\n' "$w"
	done
}

# ARGNAME CUR [kubectl flags]: candidates for a flag's argument.
_mirrorctl_argument()
{
	local name=$1 cur=$2
	shift 2
	case $name in
	*\|*) compgen -W "${name//|/ }" -- "$cur" ;;
	json) compgen -W json -- "$cur" ;;
	FILE) compopt -o filenames 2>/dev/null; compgen -f -- "$cur" ;;
	NS|NAMESPACE)
		command -v kubectl >/dev/null &&
			timeout 5 kubectl "$@" get namespaces -o name 2>/dev/null |
			sed 's|^namespace/||' | _mirrorctl_prefix "$cur" ;;
	CTX)
		command -v kubectl >/dev/null &&
			kubectl config get-contexts -o name 2>/dev/null |
			_mirrorctl_prefix "$cur" ;;
	esac
}

_mirrorctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} ctl=${COMP_WORDS[0]}
	local cmd= i w spec prev kube=() pos=() npos=0 name flagarg
	# mirrorctl as typed, if it runs; else the one on PATH
	ctl=${ctl/#\~/$HOME}
	if [[ $ctl == */* ]]; then [ -x "$ctl" ] || ctl=${ctl##*/}; fi
	COMPREPLY=()

	# The subcommand, the kubectl flags given (for ls and kubectl),
	# and the positional words before the cursor.
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		-n|--namespace|--context|--kubeconfig)
			if ((i + 1 < COMP_CWORD)); then
				kube+=("$w" "${COMP_WORDS[i + 1]}")
			fi ;;
		--namespace=*|--context=*|--kubeconfig=*) kube+=("$w") ;;
		--) [ -n "$cmd" ] && return 0 ;;	# a command's own words
		esac
		if [ -z "$cmd" ]; then
			case $w in
			-n|--namespace|--context|--kubeconfig) ((i++)); continue ;;
			-*) continue ;;
			esac
			cmd=$w
		fi
	done
	if [ -z "$cmd" ]; then
		if [[ $cur == -* ]]; then
			[[ $ctl == *kubectl-mirror ]] &&
				COMPREPLY=($(compgen -W "-n --namespace --context --kubeconfig --help" -- "$cur"))
			[[ $ctl == *kubectl-mirror ]] ||
				COMPREPLY=($(compgen -W "--help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_mirrorctl_commands "$ctl")" -- "$cur"))
		fi
		return 0
	fi
	spec=$(_mirrorctl_spec "$ctl" "$cmd")

	# A flag's argument?
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	if [[ $prev == -* ]] && ((COMP_CWORD > 1)) && [ "$prev" != "$cmd" ]; then
		flagarg=$(awk -v f="$prev" '$1 == "F" && $2 == f { print $3; exit }' <<<"$spec")
		if [ -n "$flagarg" ] && [ "$flagarg" != - ]; then
			mapfile -t COMPREPLY < <(_mirrorctl_argument "$flagarg" "$cur" "${kube[@]}")
			return 0
		fi
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(awk '$1 == "F" { print $2 }' <<<"$spec") --help" -- "$cur"))
		return 0
	fi

	# Which positional word is this? Count the words after the
	# subcommand that are neither flags nor their arguments.
	local seen=0
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [ $seen = 0 ]; then [ "$w" = "$cmd" ] && seen=1; continue; fi
		if [[ $w == -* ]]; then
			flagarg=$(awk -v f="$w" '$1 == "F" && $2 == f { print $3; exit }' <<<"$spec")
			[ -n "$flagarg" ] && [ "$flagarg" != - ] && ((i++))
			continue
		fi
		npos=$((npos + 1))
	done
	mapfile -t pos < <(awk '$1 == "P" { print $2 }' <<<"$spec")
	if grep -q '^A ' <<<"$spec"; then
		((npos == 0)) &&
			COMPREPLY=($(compgen -W "$(awk '$1 == "A" { print $2 }' <<<"$spec")" -- "$cur"))
		return 0
	fi
	name=${pos[npos]:-}
	case $name in
	TARGET)
		mapfile -t COMPREPLY < <({ echo demo; _mirrorctl_targets "$ctl" "${kube[@]}"; } |
			_mirrorctl_prefix "$cur") ;;
	MOUNTPOINT)
		if ((npos == 0)); then
			mapfile -t COMPREPLY < <(_mirrorctl_mounts "$ctl" | _mirrorctl_prefix "$cur")
		else
			compopt -o filenames 2>/dev/null
			COMPREPLY=($(compgen -d -- "$cur"))
		fi ;;
	FILE)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur")) ;;
	esac
	return 0
}
complete -F _mirrorctl mirrorctl kubectl-mirror
