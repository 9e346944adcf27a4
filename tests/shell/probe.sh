#!/bin/sh
# Test program for the shell hook tests: says what it got and who its parent is (`via=ee` when the
# hook routed it through `ee run`, `via=bash|zsh|fish` when the shell ran it directly).
via() { e=$(readlink /proc/$PPID/exe); echo "via=${e##*/}"; }
case "$1" in
  via) via ;;
  nest) echo "nest-$(via)"; eval "$NEST" ;;
  exit) exit "$2" ;;
  hookenv) echo "hook=[${EARLYEXIT_HOOK-}${EARLYEXIT_HOOK_SHIMS-}] path1=[${PATH%%:*}]"; via ;;
  stdin) while IFS= read -r l; do echo "got=$l"; done; via ;;
  color) if [ -t 1 ]; then printf '\033[31mRED\033[0m\n'; else echo PLAIN; fi ;;
  ask) printf 'Continue? [y/N] '; read -r ans; echo "answer=$ans"; via ;;
  sleep) echo sleeping; sleep 30; echo woke ;;
  # One process, no fork per tick: a Ctrl-Z that lands between dash's vfork and the exec of
  # `sleep` stops the vfork child while dash itself waits for it in the kernel, never stopping,
  # so no shell would ever see the job stop (bare or routed alike).
  count) exec python3 -c 'import time
for i in range(16):
    print("tick%d" % i, flush=True)
    time.sleep(0.25)
print("finished", flush=True)' ;;
  *) for a in "$@"; do printf '[%s]' "$a"; done; echo; via ;;
esac
