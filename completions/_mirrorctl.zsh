#compdef mirrorctl kubectl-mirror
# zsh completion for mirrorctl and its kubectl plugin, kubectl-mirror.
# As the bash one: subcommands from "mirrorctl --help", each one's flags,
# their arguments and its positional words from "mirrorctl CMD --help",
# TARGETs from "mirrorctl ls" (cached for a few seconds per user and per
# -n/--context, in the same files as bash), mount points to unmount from
# "mirrorctl status".

@COMMON@

_mirrorctl()
{
	local ctl=${words[1]} cmd= w spec flagarg name i seen=0 npos=0
	local -a kube pos flags actions
	ctl=${~ctl}
	[[ $ctl == */* && ! -x $ctl ]] && ctl=${ctl:t}

	for (( i = 2; i < CURRENT; i++ )); do
		w=${words[i]}
		case $w in
		(-n|--namespace|--context|--kubeconfig)
			(( i + 1 < CURRENT )) && kube+=($w ${words[i+1]}) ;;
		(--namespace=*|--context=*|--kubeconfig=*) kube+=($w) ;;
		(--) [[ -n $cmd ]] && { _normal; return; } ;;
		esac
		if [[ -z $cmd ]]; then
			case $w in
			(-n|--namespace|--context|--kubeconfig) (( i++ )); continue ;;
			(-*) continue ;;
			esac
			cmd=$w
		fi
	done
	if [[ -z $cmd ]]; then
		if [[ $PREFIX == -* ]]; then
			if [[ $ctl == *kubectl-mirror ]]; then
				compadd -- -n --namespace --context --kubeconfig --help
			else
				compadd -- --help
			fi
		else
			local -a cmds
			cmds=(${(f)"$("$ctl" --help 2>&1 | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)  *\(.*\)/\1:\2/p')"})
			_describe -t commands 'mirrorctl command' cmds
		fi
		return
	fi
	spec=$(_mirrorctl_spec "$ctl" "$cmd")

	w=${words[CURRENT-1]}
	if [[ $w == -* && $w != $cmd ]]; then
		flagarg=$(awk -v f="$w" '$1 == "F" && $2 == f { print $3; exit }' <<<"$spec")
		if [[ -n $flagarg && $flagarg != - ]]; then
			case $flagarg in
			(*\|*) compadd -- ${(s:|:)flagarg} ;;
			(json) compadd -- json ;;
			(FILE) _files ;;
			(NS|NAMESPACE)
				(( $+commands[kubectl] )) && compadd -- ${(f)"$(timeout 5 kubectl $kube get namespaces \
				    -o name 2>/dev/null | sed 's|^namespace/||')"} ;;
			(CTX)
				(( $+commands[kubectl] )) && compadd -- ${(f)"$(kubectl config get-contexts -o name 2>/dev/null)"} ;;
			esac
			return
		fi
	fi
	if [[ $PREFIX == -* ]]; then
		flags=(${(f)"$(awk '$1 == "F" { print $2 }' <<<"$spec")"} --help)
		compadd -- $flags
		return
	fi

	for (( i = 2; i < CURRENT; i++ )); do
		w=${words[i]}
		if (( ! seen )); then [[ $w == $cmd ]] && seen=1; continue; fi
		if [[ $w == -* ]]; then
			flagarg=$(awk -v f="$w" '$1 == "F" && $2 == f { print $3; exit }' <<<"$spec")
			[[ -n $flagarg && $flagarg != - ]] && (( i++ ))
			continue
		fi
		(( npos++ ))
	done
	actions=(${(f)"$(awk '$1 == "A" { print $2 }' <<<"$spec")"})
	if (( $#actions )); then
		(( npos == 0 )) && compadd -- $actions
		return
	fi
	pos=(${(f)"$(awk '$1 == "P" { print $2 }' <<<"$spec")"})
	name=${pos[npos+1]}
	case $name in
	(TARGET)
		compadd -- demo ${(f)"$(_mirrorctl_targets "$ctl" $kube)"} ;;
	(MOUNTPOINT)
		if (( npos == 0 )); then
			compadd -- ${(f)"$(_mirrorctl_mounts "$ctl")"}
		else
			_files -/
		fi ;;
	(FILE) _files ;;
	esac
}

_mirrorctl "$@"
