# earlyexit hook for fish. Put this line in ~/.config/fish/config.fish:
#   ee init fish | source
# Commands chosen with `ee route add NAME` (or `ee init fish --route NAME`) then run through
# `ee run` in interactive shells. Bypass: `command NAME`, or EARLYEXIT_DISABLE=1.
# Route changes are picked up at the next prompt; an unchanged prompt costs one file test.
# A program that already has a fish function or alias of its own is left alone.

set -g __ee_bin '@EE_BIN@'
set -g __ee_inline '@EE_INLINE@'
set -g __ee_shims '@EE_SHIMS@'

# Succeeds when $argv (program, arguments) is routed: the program alone, or with its first argument.
function __ee_routed
    contains -- $argv[1] $__ee_routes
    and return 0
    set -q argv[2]
    and contains -- "$argv[1] $argv[2]" $__ee_routes
end

# No function stands in a routed command's place (fish would run a pipeline holding one in its
# own process group, where Ctrl-Z does nothing, and name the job by the function's inner line).
# Before a command line that names a routed program, the shims directory (links to ee named after
# the routed programs, kept by ee) goes first in PATH for that line, with EARLYEXIT_HOOK (the
# routes) and EARLYEXIT_HOOK_SHIMS (this shell's pid and the directory) exported. ee, started as
# the program, takes the directory out of PATH again and runs `ee run -- NAME ARGS...` when the
# command is routed (`cargo test`, not `cargo build`; not with EARLYEXIT_DISABLE=1; only when this
# shell started it, never from a script), the bare program otherwise. A line with `command NAME`
# for a routed NAME is left alone (the bypass). Without an ee binary (uninstalled) nothing
# changes: the hook never stands between the user and the command.
function __ee_preexec
    set -q __ee_defined[1]
    and not set -q EARLYEXIT_ROUTED
    and contains -- "$EARLYEXIT_DISABLE" '' 0
    and test -x "$__ee_bin" -a -n "$__ee_shims"
    or return
    set -l w (string match -ar -- '[^\s;|&()<>]+' $argv[1])
    set -l on
    for p in $__ee_defined
        contains -- $p $w
        or continue
        if contains -- command $w
            string match -qr -- '(^|[\s;|&(])command(\s+-\S+)*\s+'(string escape --style=regex -- $p)'(\s|$)' $argv[1]
            and return
        end
        set -a on $p
    end
    set -q on[1]
    or return
    set -g __ee_on 1
    set -gx PATH $__ee_shims $PATH
    set -gx EARLYEXIT_HOOK (string join \n -- $__ee_active_routes | string collect)
    set -gx EARLYEXIT_HOOK_SHIMS "$fish_pid:$__ee_shims"
end

# After the line: PATH as it was.
function __ee_postexec
    set -q __ee_on
    or return
    set -e __ee_on
    set -l i (contains -i -- $__ee_shims $PATH)
    and set -e PATH[$i[1]]
    set -e EARLYEXIT_HOOK
    set -e EARLYEXIT_HOOK_SHIMS
end

# Which programs are routed (the routes' first words), and their routes. A program with a fish
# function or alias of its own is left alone.
function __ee_define
    set -l new
    set -l active
    for r in $__ee_routes
        set -l p (string split -m1 ' ' -- $r)[1]
        # ee validated the names already; a shim is only ever used for a plain word.
        string match -qr '^[A-Za-z0-9_][A-Za-z0-9_.+-]*$' -- $p
        or continue
        functions -q $p
        and continue
        set -a active $r
        contains -- $p $new
        or set -a new $p
    end
    set -g __ee_defined $new
    set -g __ee_active_routes $active
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
    function __ee_preexec_event --on-event fish_preexec
        __ee_preexec $argv
    end
    function __ee_postexec_event --on-event fish_postexec
        __ee_postexec
    end
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
