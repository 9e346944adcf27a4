# Load with: source <(ee completions zsh)   (ee init zsh loads it too), or put it on $fpath as _ee.
# TAB asks `ee __complete` what fits here; zsh quotes the raw candidates itself on insertion.

_ee() {
    local -a _ee_out _ee_vals _ee_disp _ee_w
    local _ee_l _ee_v _ee_d _ee_n
    # The words as typed, the one under the cursor cut at the cursor (with its opening quote).
    _ee_w=("${(@)words}")
    _ee_w[CURRENT]="${compstate[quote]}${PREFIX}"
    _ee_out=("${(@f)$(command "${__ee_bin:-ee}" __complete zsh --cword $((CURRENT - 1)) -- "${(@)_ee_w}" 2>/dev/null)}")
    case ${_ee_out[1]} in
        values*)
            if [[ ${_ee_out[1]} == values$'\t'* ]]; then
                compset -P "${(b)${_ee_out[1]#values$'\t'}}"
            fi
            for _ee_l in "${(@)_ee_out[2,-1]}"; do
                [[ -z $_ee_l ]] && continue
                _ee_v=${_ee_l%%$'\t'*}
                _ee_d=${_ee_l#*$'\t'}
                _ee_vals+=("$_ee_v")
                if [[ -n $_ee_d && $_ee_d != "$_ee_l" ]]; then
                    _ee_disp+=("$_ee_v  -- $_ee_d")
                else
                    _ee_disp+=("$_ee_v")
                fi
            done
            (( ${#_ee_vals} )) && compadd -V ee -l -d _ee_disp -a _ee_vals
            ;;
        command*)
            # The command after `--`: the shell's own completion from that word on.
            _ee_n=${${_ee_out[1]#command }%% *}
            shift $_ee_n words
            (( CURRENT -= _ee_n ))
            _normal
            ;;
        files) _files ;;
        dirs) _files -/ ;;
    esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _ee "$@"
elif (( $+functions[compdef] )); then
    compdef _ee ee earlyexit
else
    # compinit is not loaded yet: register at the first prompt after it is.
    __ee_compdef() {
        (( $+functions[compdef] )) || return 0
        compdef _ee ee earlyexit
        add-zsh-hook -d precmd __ee_compdef
    }
    autoload -Uz add-zsh-hook
    add-zsh-hook precmd __ee_compdef
fi
