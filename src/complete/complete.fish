# Load with: ee completions fish | source   (ee init fish loads it too), or save it as
# ~/.config/fish/completions/ee.fish. TAB asks `ee __complete` what fits here; fish escapes the raw
# candidates itself on insertion.

# Completion functions see the line only up to the cursor; the TAB binding below keeps the whole
# command so that `ee -e <TAB> -- pytest` knows the command. Installed only over the default binding.
function __ee_tab
    set -g __ee_line (commandline -p | string collect)
    commandline -f complete
end
if bind \t 2>/dev/null | string match -qr '^bind (--preset )?\\\\t complete$'
    bind \t __ee_tab
end
if bind -M insert \t 2>/dev/null | string match -qr '^bind (--preset )?-M insert \\\\t complete$'
    bind -M insert \t __ee_tab
end

function __ee_complete
    set -l before (commandline -cp | string collect)
    set -l line $before
    if set -q __ee_line; and string match -q -- "$before*" "$__ee_line"
        set line $__ee_line
    end
    set -l bin ee
    set -q __ee_bin; and set bin $__ee_bin
    set -l out (command $bin __complete fish --point=(string length -- "$before") --line="$line" 2>/dev/null)
    switch "$out[1]"
        case values
            for l in $out[2..-1]
                printf '%s\n' $l
            end
        case 'command *'
            # The command after `--`: the shell's own completion for that part of the line.
            complete -C "$out[2]"
        case files
            __fish_complete_path (commandline -ct)
        case dirs
            __fish_complete_directories (commandline -ct)
    end
end

complete -c ee -f -k -a '(__ee_complete)'
complete -c earlyexit -f -k -a '(__ee_complete)'
