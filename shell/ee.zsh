# shellcheck shell=bash # zsh, checked with shellcheck's bash rules where they apply
# earlyexit hook for zsh. Put this line in ~/.zshrc:
#   eval "$(ee init zsh)"
# Commands chosen with `ee route add NAME` (or `ee init zsh --route NAME`) then run through
# `ee run` in interactive shells. Bypass: `command NAME`, or EARLYEXIT_DISABLE=1.
# Route changes are picked up at the next prompt; an unchanged prompt costs one file test.

typeset -g __ee_bin='@EE_BIN@'
typeset -ga __ee_inline
__ee_inline=('@EE_INLINE@')

# Succeeds when "$@" (program, arguments) is routed: the program alone, or with its first argument.
__ee_routed() {
  emulate -L zsh
  local r
  for r in "${__ee_routes[@]}"; do
    if [[ $r == "$1" ]] || { (( $# > 1 )) && [[ $r == "$1 $2" ]]; }; then
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
    printf '%s: %s: not run again inside its own ee wrapper\n' "zsh" "$1" >&2
    return 127
  fi
  local __ee_active="${__ee_active-} $1"
  if [[ -z ${EARLYEXIT_ROUTED-} && ${EARLYEXIT_DISABLE:-0} == 0 && -x $__ee_bin ]] && __ee_routed "$@"; then
    EARLYEXIT_ROUTED=1 "$__ee_bin" run -- "$@"
  else
    command "$@"
  fi
}

# Define one wrapper function per routed program; remove wrappers of programs no longer routed.
__ee_define() {
  emulate -L zsh
  local r p
  local -a new
  for r in "${__ee_routes[@]}"; do
    p=${r%% *}
    # ee validated the names already; a wrapper is only ever made for a plain word.
    [[ $p == [A-Za-z0-9_]* && $p != *[^A-Za-z0-9_.+-]* ]] || continue
    (( ${new[(Ie)$p]} )) && continue
    new+=("$p")
    eval "function $p { __ee_dispatch $p \"\$@\" }"
  done
  for p in "${__ee_defined[@]}"; do
    (( ${new[(Ie)$p]} )) || unfunction -- "$p" 2>/dev/null
  done
  typeset -ga __ee_defined
  __ee_defined=("${new[@]}")
}

# Called by ee (at load and after a change): routes file, load stamp, routes from the file.
__ee_load() {
  emulate -L zsh
  typeset -g __ee_file=$1 __ee_stamp=$2
  shift 2
  typeset -ga __ee_routes
  __ee_routes=("${__ee_inline[@]}" "$@")
  __ee_define
}

__ee_reload() {
  emulate -L zsh
  local code
  if code=$("$__ee_bin" init zsh --reload 2>/dev/null); then
    eval "$code"
  else
    __ee_stamp=-
  fi
}

# Runs before each prompt: builtin file tests only, unless the routes file changed.
__ee_precmd() {
  local s=$?
  emulate -L zsh
  if [[ $__ee_stamp == - ]]; then
    :
  elif [[ -z $__ee_stamp ]]; then
    if [[ -e $__ee_file ]]; then __ee_reload; fi
  elif [[ $__ee_file -nt $__ee_stamp || ! -e $__ee_file || ! -e $__ee_stamp ]]; then
    __ee_reload
  fi
  return $s
}

if [[ -o interactive && -z ${EARLYEXIT_ROUTED-} ]]; then
  __ee_load '@EE_LOAD@'
  typeset -ga precmd_functions
  # shellcheck disable=SC2004 # zsh subscript flags need the ${...} form
  (( ${precmd_functions[(Ie)__ee_precmd]} )) || precmd_functions+=(__ee_precmd)
fi
