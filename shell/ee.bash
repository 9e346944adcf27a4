# shellcheck shell=bash
# earlyexit hook for bash. Put this line in ~/.bashrc:
#   eval "$(ee init bash)"
# Commands chosen with `ee route add NAME` (or `ee init bash --route NAME`) then run through
# `ee run` in interactive shells. Bypass: `command NAME`, or EARLYEXIT_DISABLE=1.
# Route changes are picked up at the next prompt; an unchanged prompt costs one file test.

__ee_bin='@EE_BIN@'
__ee_inline=('@EE_INLINE@')
__ee_undo=()

# Succeeds when "$@" (program, arguments) is routed: the program alone, or with its first argument.
__ee_routed() {
  local r
  for r in ${__ee_routes[@]+"${__ee_routes[@]}"}; do
    if [[ $r == "$1" ]] || { (($# > 1)) && [[ $r == "$1 $2" ]]; }; then
      return 0
    fi
  done
  return 1
}

# Every wrapper calls this with its own name first. Without an ee binary (uninstalled), the
# command runs bare: the hook never stands between the user and the command. A wrapper the shell
# re-enters while it runs (through a handler such as command_not_found_handle, which runs in a
# forked copy of the shell) stops there instead of recursing.
__ee_dispatch() {
  if [[ " ${__ee_active-} " == *" $1 "* ]]; then
    printf '%s: %s: not run again inside its own ee wrapper\n' "bash" "$1" >&2
    return 127
  fi
  local __ee_active="${__ee_active-} $1"
  if [[ -z ${EARLYEXIT_ROUTED-} && ${EARLYEXIT_DISABLE:-0} == 0 && -x $__ee_bin ]] && __ee_routed "$@"; then
    if [[ $- != *h* ]]; then
      # (hashing off: no way to run ee under the program's name)
      EARLYEXIT_ROUTED=1 "$__ee_bin" run -- "$@"
      return
    fi
    local IFS=$'\n'
    local -x EARLYEXIT_HOOK="${__ee_routes[*]}"
    __ee_as_typed 1 "$@"
  else
    __ee_as_typed 0 "$@"
  fi
}

# Runs "$@" as the command line `NAME ARGS...` itself, so that the job table (`jobs`, `fg`, the
# "Stopped" line) shows what was typed: NAME's wrapper is set aside for that line and, when
# routed ($1 = 1), NAME is hashed to ee's path (ee, started as NAME with EARLYEXIT_HOOK set, runs
# `ee run -- NAME ARGS...`). The wrapper is restored after, or by the next prompt when Ctrl-C
# abandoned the rest of the line.
__ee_as_typed() {
  local routed=$1 line
  shift
  printf -v line '%q ' "$@"
  __ee_undo=("$1" "$routed")
  shopt -q expand_aliases && __ee_undo+=(aliases)
  shopt -u expand_aliases
  unset -f "$1"
  if ((routed)); then hash -p "$__ee_bin" "$1"; fi
  eval "$line"
  set -- $?
  __ee_restore
  return "$1"
}

__ee_restore() {
  local p=${__ee_undo[0]}
  if ((__ee_undo[1])); then hash -d "$p" 2>/dev/null; fi
  [[ ${__ee_undo[2]-} == aliases ]] && shopt -s expand_aliases
  __ee_undo=()
  eval "function $p { __ee_dispatch $p \"\$@\"; }"
}
# Define one wrapper function per routed program; remove wrappers of programs no longer routed.
__ee_define() {
  local r p new=" "
  for r in ${__ee_routes[@]+"${__ee_routes[@]}"}; do
    p=${r%% *}
    # ee validated the names already; a wrapper is only ever made for a plain word.
    [[ $p =~ ^[A-Za-z0-9_][A-Za-z0-9_.+-]*$ ]] || continue
    [[ $new == *" $p "* ]] && continue
    new+="$p "
    eval "function $p { __ee_dispatch $p \"\$@\"; }"
  done
  for p in ${__ee_defined[@]+"${__ee_defined[@]}"}; do
    [[ $new == *" $p "* ]] || unset -f "$p"
  done
  read -r -a __ee_defined <<<"$new"
}

# Called by ee (at load and after a change): routes file, load stamp, routes from the file.
__ee_load() {
  __ee_file=$1
  __ee_stamp=$2
  shift 2
  __ee_routes=(${__ee_inline[@]+"${__ee_inline[@]}"} "$@")
  __ee_define
}

__ee_reload() {
  local code
  if code=$("$__ee_bin" init bash --reload 2>/dev/null); then
    eval "$code"
  else
    __ee_stamp=-
  fi
}

# Runs before each prompt: builtin file tests only, unless the routes file changed.
__ee_prompt() {
  local s=$?
  if ((${#__ee_undo[@]})); then __ee_restore; fi
  if [[ $__ee_stamp == - ]]; then
    :
  elif [[ -z $__ee_stamp ]]; then
    if [[ -e $__ee_file ]]; then __ee_reload; fi
  elif [[ $__ee_file -nt $__ee_stamp || ! -e $__ee_file || ! -e $__ee_stamp ]]; then
    __ee_reload
  fi
  return "$s"
}

if [[ $- == *i* && -z ${EARLYEXIT_ROUTED-} ]]; then
  __ee_load '@EE_LOAD@'
  if [[ ${PROMPT_COMMAND[*]-} == *__ee_prompt* || " ${precmd_functions[*]-} " == *" __ee_prompt "* ]]; then
    : # loaded before
  elif declare -F __bp_precmd_invoke_cmd >/dev/null; then
    # bash-preexec (used by atuin and others) runs its precmd_functions list: join it.
    precmd_functions+=(__ee_prompt)
  elif ((${#PROMPT_COMMAND[@]} > 1)); then
    PROMPT_COMMAND+=(__ee_prompt)
  else
    # One string: every bash runs it, and a bash-preexec loaded later wraps it in its order.
    # shellcheck disable=SC2128,SC2178 # (element 0 when bash 5.1+ has an array)
    PROMPT_COMMAND="${PROMPT_COMMAND:+$PROMPT_COMMAND$'\n'}__ee_prompt"
  fi
fi
