
use builtin;
use str;

set edit:completion:arg-completer[ee] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ee'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ee'= {
            cand --pattern 'Pattern given as an option (use it for a pattern that is a subcommand name)'
            cand --profile 'Apply a built-in or user profile''s patterns as error patterns (repeatable; see --list-profiles)'
            cand -m 'Stop after N matches'
            cand --max-count 'Stop after N matches'
            cand -X 'Lines matching PAT never count (repeatable)'
            cand --exclude 'Lines matching PAT never count (repeatable)'
            cand -s 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)'
            cand --success-pattern 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)'
            cand -e 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)'
            cand --error-pattern 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)'
            cand -B 'Lines before the match kept as context in the report (never printed twice)'
            cand --before-context 'Lines before the match kept as context in the report (never printed twice)'
            cand -C 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)'
            cand --context 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)'
            cand -A 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]'
            cand --delay-exit 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]'
            cand --delay-exit-after-lines 'End the delay early after N more lines (grep''s --after-context)'
            cand --after-context 'End the delay early after N more lines (grep''s --after-context)'
            cand --delay-exit-quiet 'End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]'
            cand -t 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)'
            cand --timeout 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)'
            cand -I 'Stop when there has been no output for DURATION'
            cand --idle-timeout 'Stop when there has been no output for DURATION'
            cand -F 'Stop when there is no first output within DURATION'
            cand --first-output-timeout 'Stop when there is no first output within DURATION'
            cand --stderr-idle-exit 'Stop once stderr has been quiet this long after it first spoke'
            cand --max-repeat 'Stuck when the same line repeats N times in a row (blank lines never count)'
            cand --stuck-pattern 'Compare only the part of each line that RE extracts (first group, else whole match)'
            cand --progress-pattern 'Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)'
            cand --transition-states 'States in order, ''A>B>C'' (regexes): stuck (exit 2) when a state goes backwards'
            cand --kill-after 'After SIGTERM, wait this long before SIGKILL'
            cand --pty 'Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)'
            cand --pid-file 'Write the child''s PID (and process group) to PATH when detaching'
            cand --color 'Highlight matches and keep the child''s colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)'
            cand --fd 'Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)'
            cand --fd-pattern 'Use PAT (instead of the main pattern) for descriptor N (repeatable)'
            cand --expect 'Allowlist pattern (repeatable), for --expect-only / --expect-all'
            cand --unexpected 'A line matching PAT is unexpected (exit 5) (repeatable)'
            cand --on-unexpected 'On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)'
            cand --file-prefix 'Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]'
            cand --log-dir 'Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user''s state directory]'
            cand --list-profiles 'List the pattern profiles (as ''ee profile list'')'
            cand -i 'Case-insensitive matching'
            cand --ignore-case 'Case-insensitive matching'
            cand -v 'Invert: a line that does NOT match counts as a match'
            cand --invert-match 'Invert: a line that does NOT match counts as a match'
            cand -w 'Match whole words only'
            cand --word-regexp 'Match whole words only'
            cand -x 'Match whole lines only'
            cand --line-regexp 'Match whole lines only'
            cand -P 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking'
            cand --pcre 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking'
            cand --stdout 'Match only the child''s stdout (stderr is still passed through)'
            cand --stderr 'Match only the child''s stderr (stdout is still passed through)'
            cand --stuck-ignore-timestamps 'Compare lines with clock times, dates, ISO-8601 stamps and epochs removed'
            cand -D 'On match, exit 4 and leave the child running (its output still drained)'
            cand --detach 'On match, exit 4 and leave the child running (its output still drained)'
            cand --detach-on-timeout 'On a timeout, detach (exit 4) instead of stopping the child'
            cand -n 'Prefix passed-through lines with their line number (per stream in command mode)'
            cand --line-number 'Prefix passed-through lines with their line number (per stream in command mode)'
            cand -q 'Silence ee''s own messages (not the child''s output)'
            cand --quiet 'Silence ee''s own messages (not the child''s output)'
            cand --json 'Print one JSON object describing the run on stdout; the child''s output goes to stderr'
            cand --unix-exit-codes 'Swap exit statuses 0 and 1 (0 = no match, 1 = match)'
            cand --no-telemetry 'Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)'
            cand --test-pattern 'Read a log on stdin and print match statistics, running nothing'
            cand --progress 'A self-updating status line on stderr (when it is a terminal)'
            cand --watch 'Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation'
            cand --fd-prefix 'Label passed-through lines [stdout], [stderr], [fdN]'
            cand --expect-only 'Any non-blank line matching no --expect pattern is unexpected (exit 5)'
            cand --expect-all 'An --expect pattern never seen by the end fails the run (exit 6)'
            cand -l 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)'
            cand --log 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)'
            cand -a 'Append to the log files instead of truncating them'
            cand --append 'Append to the log files instead of truncating them'
            cand -z 'Compress the log files with gzip (.gz)'
            cand --gzip 'Compress the log files with gzip (.gz)'
            cand -Z 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes'
            cand --decompress 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand run 'Run a command with command semantics, applying learned patterns and timeouts'
            cand init 'Print the shell hook code: eval "$(ee init bash)"'
            cand route 'Manage the commands routed through ee by the shell hooks'
            cand suggest 'Show the recommended patterns and timeout for a command'
            cand stats 'Show statistics from the telemetry database'
            cand telemetry 'Inspect and maintain the telemetry database'
            cand feedback 'Correct a learned judgement about a run'
            cand profile 'List and show pattern profiles (built-in and user)'
            cand team 'Share what was learned with a team through PostgreSQL'
            cand completions 'Print a shell completion script'
            cand man 'Print or install the man pages'
        }
        &'ee;run'= {
            cand --pattern 'Error pattern given positionally is not accepted here; use -e/--pattern'
            cand -m 'Stop after N matches'
            cand --max-count 'Stop after N matches'
            cand -X 'Lines matching PAT never count (repeatable)'
            cand --exclude 'Lines matching PAT never count (repeatable)'
            cand -s 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)'
            cand --success-pattern 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)'
            cand -e 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)'
            cand --error-pattern 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)'
            cand -B 'Lines before the match kept as context in the report (never printed twice)'
            cand --before-context 'Lines before the match kept as context in the report (never printed twice)'
            cand -C 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)'
            cand --context 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)'
            cand -A 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]'
            cand --delay-exit 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]'
            cand --delay-exit-after-lines 'End the delay early after N more lines (grep''s --after-context)'
            cand --after-context 'End the delay early after N more lines (grep''s --after-context)'
            cand --delay-exit-quiet 'End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]'
            cand -t 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)'
            cand --timeout 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)'
            cand -I 'Stop when there has been no output for DURATION'
            cand --idle-timeout 'Stop when there has been no output for DURATION'
            cand -F 'Stop when there is no first output within DURATION'
            cand --first-output-timeout 'Stop when there is no first output within DURATION'
            cand --stderr-idle-exit 'Stop once stderr has been quiet this long after it first spoke'
            cand --max-repeat 'Stuck when the same line repeats N times in a row (blank lines never count)'
            cand --stuck-pattern 'Compare only the part of each line that RE extracts (first group, else whole match)'
            cand --progress-pattern 'Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)'
            cand --transition-states 'States in order, ''A>B>C'' (regexes): stuck (exit 2) when a state goes backwards'
            cand --kill-after 'After SIGTERM, wait this long before SIGKILL'
            cand --pty 'Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)'
            cand --pid-file 'Write the child''s PID (and process group) to PATH when detaching'
            cand --color 'Highlight matches and keep the child''s colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)'
            cand --fd 'Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)'
            cand --fd-pattern 'Use PAT (instead of the main pattern) for descriptor N (repeatable)'
            cand --expect 'Allowlist pattern (repeatable), for --expect-only / --expect-all'
            cand --unexpected 'A line matching PAT is unexpected (exit 5) (repeatable)'
            cand --on-unexpected 'On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)'
            cand --file-prefix 'Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]'
            cand --log-dir 'Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user''s state directory]'
            cand --no-learn 'Apply no learned pattern or timeout'
            cand --dry-run 'Print what would be applied and why, without running'
            cand -i 'Case-insensitive matching'
            cand --ignore-case 'Case-insensitive matching'
            cand -v 'Invert: a line that does NOT match counts as a match'
            cand --invert-match 'Invert: a line that does NOT match counts as a match'
            cand -w 'Match whole words only'
            cand --word-regexp 'Match whole words only'
            cand -x 'Match whole lines only'
            cand --line-regexp 'Match whole lines only'
            cand -P 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking'
            cand --pcre 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking'
            cand --stdout 'Match only the child''s stdout (stderr is still passed through)'
            cand --stderr 'Match only the child''s stderr (stdout is still passed through)'
            cand --stuck-ignore-timestamps 'Compare lines with clock times, dates, ISO-8601 stamps and epochs removed'
            cand -D 'On match, exit 4 and leave the child running (its output still drained)'
            cand --detach 'On match, exit 4 and leave the child running (its output still drained)'
            cand --detach-on-timeout 'On a timeout, detach (exit 4) instead of stopping the child'
            cand -n 'Prefix passed-through lines with their line number (per stream in command mode)'
            cand --line-number 'Prefix passed-through lines with their line number (per stream in command mode)'
            cand -q 'Silence ee''s own messages (not the child''s output)'
            cand --quiet 'Silence ee''s own messages (not the child''s output)'
            cand --json 'Print one JSON object describing the run on stdout; the child''s output goes to stderr'
            cand --unix-exit-codes 'Swap exit statuses 0 and 1 (0 = no match, 1 = match)'
            cand --no-telemetry 'Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)'
            cand --test-pattern 'Read a log on stdin and print match statistics, running nothing'
            cand --progress 'A self-updating status line on stderr (when it is a terminal)'
            cand --watch 'Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation'
            cand --fd-prefix 'Label passed-through lines [stdout], [stderr], [fdN]'
            cand --expect-only 'Any non-blank line matching no --expect pattern is unexpected (exit 5)'
            cand --expect-all 'An --expect pattern never seen by the end fails the run (exit 6)'
            cand -l 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)'
            cand --log 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)'
            cand -a 'Append to the log files instead of truncating them'
            cand --append 'Append to the log files instead of truncating them'
            cand -z 'Compress the log files with gzip (.gz)'
            cand --gzip 'Compress the log files with gzip (.gz)'
            cand -Z 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes'
            cand --decompress 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'ee;init'= {
            cand --route 'Route this command too (repeatable), besides the routes file'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;route'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand add 'Route a command (a program, optionally with a leading subcommand: ''cargo test'')'
            cand remove 'Stop routing a command'
            cand list 'List the routed commands'
        }
        &'ee;route;add'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;route;remove'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;route;list'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;suggest'= {
            cand --json 'Machine-readable output'
            cand --plot 'Draw the runtimes of the command as a histogram, the hang limit marked'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;stats'= {
            cand --json 'Machine-readable output'
            cand --plot 'Draw runs per day, time saved per week and the top commands by time saved'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand check 'Integrity check, journal mode, foreign keys, size, row counts, spool backlog'
            cand path 'Print the database path'
            cand export 'Export executions (redacted) as JSON lines, one JSON document, or CSV'
            cand clear 'Delete all recorded data'
            cand prune 'Delete old executions'
            cand export-learned 'Write the learned patterns and timeouts (no command lines) as a JSON document'
            cand import-learned 'Merge a document written by export-learned into what this machine learned'
        }
        &'ee;telemetry;check'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry;path'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry;export'= {
            cand --format 'format'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'ee;telemetry;clear'= {
            cand -y 'Do not ask for confirmation'
            cand --yes 'Do not ask for confirmation'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry;prune'= {
            cand --older-than 'Delete executions older than DURATION (e.g. 30d)'
            cand --keep 'Keep only the newest N executions'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry;export-learned'= {
            cand -o 'Write to FILE instead of stdout'
            cand --output 'Write to FILE instead of stdout'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;telemetry;import-learned'= {
            cand --force 'Import a document again although it was imported before (adds its counts again)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;feedback'= {
            cand --false-positive 'The pattern matched but the run did not really fail'
            cand --missed 'The run failed but the pattern did not catch it'
            cand --good 'The judgement was right'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;profile'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List built-in and user profiles'
            cand show 'Show one profile'
        }
        &'ee;profile;list'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;profile;show'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team'= {
            cand -h 'Print help'
            cand --help 'Print help'
            cand connect 'Store the team database URL (never its password) after checking it'
            cand disconnect 'Forget the team database and stop using the team''s knowledge'
            cand status 'Server, last push and pull, backlog and the last error'
            cand init 'Create or upgrade the team schema and roles (run once, as the database owner)'
            cand preview 'Print exactly what the next push would send, as JSON'
            cand sync 'Push new evidence, then pull the team''s knowledge'
        }
        &'ee;team;connect'= {
            cand --share-runs 'Also share executions (redacted command lines, status, duration)'
            cand --no-check 'Store the URL without connecting first'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team;disconnect'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team;status'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team;init'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team;preview'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;team;sync'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;completions'= {
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'ee;man'= {
            cand --install-dir 'Write all pages into DIR (its parent must exist) instead of showing one'
            cand --install 'Install all pages into your own man directory ($XDG_DATA_HOME/man, default ~/.local/share/man) and check that `man ee` finds them'
            cand -h 'Print help'
            cand --help 'Print help'
        }
    ]
    $completions[$command]
}
