# earlyexit hook for fish. Put this line in ~/.config/fish/config.fish:
#   ee init fish | source
# Commands chosen with `ee route add NAME` (or `ee init fish --route NAME`) then run through
# `ee run` in interactive shells. Bypass: `command NAME`, or EARLYEXIT_DISABLE=1.
# Route changes are picked up at the next prompt; an unchanged prompt costs one file test.
# A program that already has a fish function or alias of its own is left alone.

set -g __ee_bin '@EE_BIN@'
set -g __ee_inline '@EE_INLINE@'

# Succeeds when $argv (program, arguments) is routed: the program alone, or with its first argument.
function __ee_routed
    contains -- $argv[1] $__ee_routes
    and return 0
    set -q argv[2]
    and contains -- "$argv[1] $argv[2]" $__ee_routes
end

# Every wrapper calls this with its own name first. Without an ee binary (uninstalled), the
# command runs bare: the hook never stands between the user and the command.
function __ee_dispatch
    if not set -q EARLYEXIT_ROUTED; and contains -- "$EARLYEXIT_DISABLE" '' 0; and test -x $__ee_bin; and __ee_routed $argv
        EARLYEXIT_ROUTED=1 $__ee_bin run -- $argv
    else
        command $argv
    end
end

# Define one wrapper function per routed program; remove wrappers of programs no longer routed.
function __ee_define
    set -l new
    for r in $__ee_routes
        set -l p (string split -m1 ' ' -- $r)[1]
        # ee validated the names already; a wrapper is only ever made for a plain word.
        string match -qr '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$' -- $p
        or continue
        contains -- $p $new
        and continue
        if functions -q $p; and not contains -- $p $__ee_defined
            continue
        end
        set -a new $p
        function $p --description 'routed through ee (earlyexit)'
            __ee_dispatch (status current-function) $argv
        end
    end
    for p in $__ee_defined
        contains -- $p $new
        or functions -e $p
    end
    set -g __ee_defined $new
end

# Called by ee (at load and after a change): routes file, load stamp, routes from the file.
function __ee_load
    set -g __ee_file $argv[1]
    set -g __ee_stamp $argv[2]
    set -g __ee_routes $__ee_inline $argv[3..-1]
    __ee_define
end

function __ee_reload
    $__ee_bin init fish --reload 2>/dev/null | source
    test $pipestatus[1] -eq 0
    or set -g __ee_stamp -
end

if status is-interactive; and not set -q EARLYEXIT_ROUTED
    # Runs before each prompt: builtin file tests only, unless the routes file changed.
    function __ee_prompt --on-event fish_prompt
        if test "$__ee_stamp" = -
            return
        else if test -z "$__ee_stamp"
            test -e "$__ee_file"
            and __ee_reload
        else if test "$__ee_file" -nt "$__ee_stamp"; or not test -e "$__ee_file"; or not test -e "$__ee_stamp"
            __ee_reload
        end
    end
    __ee_load '@EE_LOAD@'
end
