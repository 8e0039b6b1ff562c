# SPDX-License-Identifier: MIT
# bash completion for spmi: commands, options, and the IDs of registered manageables (read from the
# state directory, $SPMI_PATH or ~/.spmi, without running spmi).

_spmi_ids()
{
    local root=${SPMI_PATH:-$HOME/.spmi} dir
    for dir in "$root"/*/manageable.json; do
        [[ -e $dir ]] || continue
        dir=${dir%/manageable.json}
        printf '%s\n' "${dir##*/}"
    done
}

_spmi()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="list load run reload start stop kill clean restart status logs top wait connect resurrect startup web"
    local global="-h --help -v --version -d --debug --no-color"
    local command="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            -*) ;;
            *) command=${COMP_WORDS[i]}; break ;;
        esac
    done
    COMPREPLY=()
    if [[ -z $command ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi
    local options="-h --help -d --debug"
    case $command in
        list) options+=" --json" ;;
        web)
            options+=" --listen --allow-remote"
            [[ $prev == --listen ]] && return
            ;;
        connect)
            options+=" --no-history --timeout --until"
            [[ $prev == --timeout || $prev == --until ]] && return
            ;;
        load) options+=" --strict --replace --dry-run" ;;
        run)
            options+=" --id --backend --restart --cwd -d --detach"
            case $prev in
                --backend) COMPREPLY=($(compgen -W "local screen tmux slurm" -- "$cur")); return ;;
                --restart) COMPREPLY=($(compgen -W "no on-failure always" -- "$cur")); return ;;
                --cwd) COMPREPLY=($(compgen -d -- "$cur")); compopt -o filenames 2>/dev/null; return ;;
                --id) return ;;
            esac
            ;;
        wait)
            options+=" --timeout"
            [[ $prev == --timeout ]] && return
            ;;
        status) options+=" --json" ;;
        stop | kill | clean | restart | resurrect) options+=" --dry-run" ;;
        reload) options+=" --dry-run --strict" ;;
        startup)
            options+=" --install --uninstall --method --dry-run"
            if [[ $prev == --method ]]; then
                COMPREPLY=($(compgen -W "systemd cron" -- "$cur"))
                return
            fi
            ;;
        top)
            options+=" -i --interval -o --sort -b --batch -n --iterations"
            case $prev in
                -o | --sort) COMPREPLY=($(compgen -W "id state cpu mem uptime restarts" -- "$cur")); return ;;
                -i | --interval | -n | --iterations) return ;;
            esac
            ;;
        logs)
            options+=" -n --lines -f --follow --stderr"
            [[ $prev == -n || $prev == --lines ]] && return
            ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$options" -- "$cur"))
        return
    fi
    case $command in
        load) COMPREPLY=($(compgen -f -- "$cur")); compopt -o filenames 2>/dev/null ;;
        run) COMPREPLY=($(compgen -c -- "$cur")) ;;
        list | start | stop | kill | clean | restart | reload | status | logs | top | wait | connect | resurrect)
            COMPREPLY=($(compgen -W "$(_spmi_ids)" -- "$cur")) ;;
    esac
}
complete -F _spmi spmi
