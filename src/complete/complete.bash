# Load with: source <(ee completions bash)   (ee init bash loads it too)
# TAB asks `ee __complete` what fits here; candidates arrive already escaped for the place readline
# puts them (`$2`, the text it replaces), so no stored value is ever expanded. The hook's
# $__ee_bin, when set, names the binary.

_ee_complete() {
    local -a _ee_out
    local _ee_dir
    mapfile -t _ee_out < <(command "${__ee_bin:-ee}" __complete bash --point="$COMP_POINT" --line="$COMP_LINE" --word="${2-}" 2>/dev/null)
    _ee_dir=${_ee_out[0]-}
    COMPREPLY=()
    case $_ee_dir in
        values)
            # Best first, as ee ranks them; each word is already escaped for where it goes.
            compopt -o nosort 2>/dev/null
            COMPREPLY=("${_ee_out[@]:1}")
            ;;
        command\ *)
            # The command after `--`: the shell's own completion, from the word at that offset.
            local _ee_off=${_ee_dir##* } _ee_pos=0 _ee_i _ee_w _ee_rest
            for ((_ee_i = 0; _ee_i < ${#COMP_WORDS[@]}; _ee_i++)); do
                _ee_w=${COMP_WORDS[_ee_i]}
                _ee_rest=${COMP_LINE:_ee_pos}
                _ee_rest=${_ee_rest%%"$_ee_w"*}
                ((_ee_pos += ${#_ee_rest}))
                ((_ee_pos >= _ee_off)) && break
                ((_ee_pos += ${#_ee_w}))
            done
            if declare -F _command_offset >/dev/null; then
                _command_offset "$_ee_i"
            elif ((_ee_i >= COMP_CWORD)); then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -c -- "${2-}")
            else
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "${2-}")
            fi
            ;;
        files)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "${2-}")
            ;;
        dirs)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "${2-}")
            ;;
    esac
    return 0
}
complete -F _ee_complete ee earlyexit
