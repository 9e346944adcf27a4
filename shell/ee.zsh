# shellcheck shell=bash # zsh, checked with shellcheck's bash rules where they apply
# earlyexit hook for zsh. Put this line in ~/.zshrc:
#   eval "$(ee init zsh)"
# Commands chosen with `ee route add NAME` (or `ee init zsh --route NAME`) then run through
# `ee run` in interactive shells. Bypass: `command NAME`, or EARLYEXIT_DISABLE=1.
# Route changes are picked up at the next prompt; an unchanged prompt costs one file test.

typeset -g __ee_bin='@EE_BIN@'
typeset -ga __ee_inline __ee_hashed
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

# No function stands in a routed command's place: before each command line (preexec), each
# routed program named on the line is resolved to ee's path for that line only (`hash
# NAME=PATH`), with EARLYEXIT_HOOK (the routes) exported. ee, started as NAME, runs `ee run --
# NAME ARGS...` when the command is routed (`cargo test`, not `cargo build`; not with
# EARLYEXIT_DISABLE=1) and replaces itself with the bare program otherwise. The shell thus runs
# an external command as typed: `jobs`, `fg`, `time` and job control in pipelines treat it as
# the bare command. A name following `command` on the line is left alone (the bypass). Without
# an ee binary (uninstalled) nothing is hashed: the hook never stands between the user and the
# command.
__ee_preexec() {
  emulate -L zsh
  [[ -z ${EARLYEXIT_ROUTED-} && ${EARLYEXIT_DISABLE:-0} == 0 && -x $__ee_bin ]] || return 0
  local p
  local -a w
  # shellcheck disable=SC2296 # zsh flags: (z) splits the line as the shell does
  w=("${(z)3}")
  for p in "${__ee_defined[@]}"; do
    # shellcheck disable=SC2004 # zsh subscript flags need the ${...} form
    (( ${w[(Ie)$p]} )) || continue
    [[ " ${w[*]} " == *" command $p "* ]] && continue
    hash -- "$p=$__ee_bin"
    __ee_hashed+=("$p")
  done
  # shellcheck disable=SC2296 # (F) joins with newlines
  (( ${#__ee_hashed} )) && export EARLYEXIT_HOOK="${(F)__ee_routes}"
  return 0
}

# After the line (at the next prompt): the names resolve through PATH again.
__ee_unhash() {
  unhash -- "${__ee_hashed[@]}" 2>/dev/null
  __ee_hashed=()
  unset EARLYEXIT_HOOK
}

# Which programs are routed (the routes' first words).
__ee_define() {
  emulate -L zsh
  local r p
  local -a new
  for r in "${__ee_routes[@]}"; do
    p=${r%% *}
    # ee validated the names already; only a plain word is ever hashed.
    [[ $p == [A-Za-z0-9_]* && $p != *[^A-Za-z0-9_.+-]* ]] || continue
    (( ${new[(Ie)$p]} )) && continue
    new+=("$p")
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
  (( ${#__ee_hashed} )) && __ee_unhash
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
  typeset -ga precmd_functions preexec_functions
  # shellcheck disable=SC2004 # zsh subscript flags need the ${...} form
  (( ${precmd_functions[(Ie)__ee_precmd]} )) || precmd_functions+=(__ee_precmd)
  # shellcheck disable=SC2004
  (( ${preexec_functions[(Ie)__ee_preexec]} )) || preexec_functions+=(__ee_preexec)
fi
