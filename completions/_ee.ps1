
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ee' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ee'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ee' {
            [CompletionResult]::new('--pattern', '--pattern', [CompletionResultType]::ParameterName, 'Pattern given as an option (use it for a pattern that is a subcommand name)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Apply a built-in or user profile''s patterns as error patterns (repeatable; see --list-profiles)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Stop after N matches')
            [CompletionResult]::new('--max-count', '--max-count', [CompletionResultType]::ParameterName, 'Stop after N matches')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'Lines matching PAT never count (repeatable)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Lines matching PAT never count (repeatable)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('--success-pattern', '--success-pattern', [CompletionResultType]::ParameterName, 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('--error-pattern', '--error-pattern', [CompletionResultType]::ParameterName, 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Lines before the match kept as context in the report (never printed twice)')
            [CompletionResult]::new('--before-context', '--before-context', [CompletionResultType]::ParameterName, 'Lines before the match kept as context in the report (never printed twice)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]')
            [CompletionResult]::new('--delay-exit', '--delay-exit', [CompletionResultType]::ParameterName, 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]')
            [CompletionResult]::new('--delay-exit-after-lines', '--delay-exit-after-lines', [CompletionResultType]::ParameterName, 'End the delay early after N more lines (grep''s --after-context)')
            [CompletionResult]::new('--after-context', '--after-context', [CompletionResultType]::ParameterName, 'End the delay early after N more lines (grep''s --after-context)')
            [CompletionResult]::new('--delay-exit-quiet', '--delay-exit-quiet', [CompletionResultType]::ParameterName, 'End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Stop when there has been no output for DURATION')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Stop when there has been no output for DURATION')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Stop when there is no first output within DURATION')
            [CompletionResult]::new('--first-output-timeout', '--first-output-timeout', [CompletionResultType]::ParameterName, 'Stop when there is no first output within DURATION')
            [CompletionResult]::new('--stderr-idle-exit', '--stderr-idle-exit', [CompletionResultType]::ParameterName, 'Stop once stderr has been quiet this long after it first spoke')
            [CompletionResult]::new('--max-repeat', '--max-repeat', [CompletionResultType]::ParameterName, 'Stuck when the same line repeats N times in a row (blank lines never count)')
            [CompletionResult]::new('--stuck-pattern', '--stuck-pattern', [CompletionResultType]::ParameterName, 'Compare only the part of each line that RE extracts (first group, else whole match)')
            [CompletionResult]::new('--progress-pattern', '--progress-pattern', [CompletionResultType]::ParameterName, 'Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)')
            [CompletionResult]::new('--transition-states', '--transition-states', [CompletionResultType]::ParameterName, 'States in order, ''A>B>C'' (regexes): stuck (exit 2) when a state goes backwards')
            [CompletionResult]::new('--kill-after', '--kill-after', [CompletionResultType]::ParameterName, 'After SIGTERM, wait this long before SIGKILL')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)')
            [CompletionResult]::new('--pid-file', '--pid-file', [CompletionResultType]::ParameterName, 'Write the child''s PID (and process group) to PATH when detaching')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Highlight matches and keep the child''s colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)')
            [CompletionResult]::new('--fd', '--fd', [CompletionResultType]::ParameterName, 'Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)')
            [CompletionResult]::new('--fd-pattern', '--fd-pattern', [CompletionResultType]::ParameterName, 'Use PAT (instead of the main pattern) for descriptor N (repeatable)')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Allowlist pattern (repeatable), for --expect-only / --expect-all')
            [CompletionResult]::new('--unexpected', '--unexpected', [CompletionResultType]::ParameterName, 'A line matching PAT is unexpected (exit 5) (repeatable)')
            [CompletionResult]::new('--on-unexpected', '--on-unexpected', [CompletionResultType]::ParameterName, 'On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)')
            [CompletionResult]::new('--file-prefix', '--file-prefix', [CompletionResultType]::ParameterName, 'Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]')
            [CompletionResult]::new('--log-dir', '--log-dir', [CompletionResultType]::ParameterName, 'Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user''s state directory]')
            [CompletionResult]::new('--list-profiles', '--list-profiles', [CompletionResultType]::ParameterName, 'List the pattern profiles (as ''ee profile list'')')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Case-insensitive matching')
            [CompletionResult]::new('--ignore-case', '--ignore-case', [CompletionResultType]::ParameterName, 'Case-insensitive matching')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Invert: a line that does NOT match counts as a match')
            [CompletionResult]::new('--invert-match', '--invert-match', [CompletionResultType]::ParameterName, 'Invert: a line that does NOT match counts as a match')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Match whole words only')
            [CompletionResult]::new('--word-regexp', '--word-regexp', [CompletionResultType]::ParameterName, 'Match whole words only')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Match whole lines only')
            [CompletionResult]::new('--line-regexp', '--line-regexp', [CompletionResultType]::ParameterName, 'Match whole lines only')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking')
            [CompletionResult]::new('--pcre', '--pcre', [CompletionResultType]::ParameterName, 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking')
            [CompletionResult]::new('--stdout', '--stdout', [CompletionResultType]::ParameterName, 'Match only the child''s stdout (stderr is still passed through)')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Match only the child''s stderr (stdout is still passed through)')
            [CompletionResult]::new('--stuck-ignore-timestamps', '--stuck-ignore-timestamps', [CompletionResultType]::ParameterName, 'Compare lines with clock times, dates, ISO-8601 stamps and epochs removed')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'On match, exit 4 and leave the child running (its output still drained)')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'On match, exit 4 and leave the child running (its output still drained)')
            [CompletionResult]::new('--detach-on-timeout', '--detach-on-timeout', [CompletionResultType]::ParameterName, 'On a timeout, detach (exit 4) instead of stopping the child')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Prefix passed-through lines with their line number (per stream in command mode)')
            [CompletionResult]::new('--line-number', '--line-number', [CompletionResultType]::ParameterName, 'Prefix passed-through lines with their line number (per stream in command mode)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Silence ee''s own messages (not the child''s output)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Silence ee''s own messages (not the child''s output)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object describing the run on stdout; the child''s output goes to stderr')
            [CompletionResult]::new('--unix-exit-codes', '--unix-exit-codes', [CompletionResultType]::ParameterName, 'Swap exit statuses 0 and 1 (0 = no match, 1 = match)')
            [CompletionResult]::new('--no-telemetry', '--no-telemetry', [CompletionResultType]::ParameterName, 'Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)')
            [CompletionResult]::new('--test-pattern', '--test-pattern', [CompletionResultType]::ParameterName, 'Read a log on stdin and print match statistics, running nothing')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'A self-updating status line on stderr (when it is a terminal)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation')
            [CompletionResult]::new('--fd-prefix', '--fd-prefix', [CompletionResultType]::ParameterName, 'Label passed-through lines [stdout], [stderr], [fdN]')
            [CompletionResult]::new('--expect-only', '--expect-only', [CompletionResultType]::ParameterName, 'Any non-blank line matching no --expect pattern is unexpected (exit 5)')
            [CompletionResult]::new('--expect-all', '--expect-all', [CompletionResultType]::ParameterName, 'An --expect pattern never seen by the end fails the run (exit 6)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Append to the log files instead of truncating them')
            [CompletionResult]::new('--append', '--append', [CompletionResultType]::ParameterName, 'Append to the log files instead of truncating them')
            [CompletionResult]::new('-z', '-z', [CompletionResultType]::ParameterName, 'Compress the log files with gzip (.gz)')
            [CompletionResult]::new('--gzip', '--gzip', [CompletionResultType]::ParameterName, 'Compress the log files with gzip (.gz)')
            [CompletionResult]::new('-Z', '-Z ', [CompletionResultType]::ParameterName, 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes')
            [CompletionResult]::new('--decompress', '--decompress', [CompletionResultType]::ParameterName, 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('run', 'run', [CompletionResultType]::ParameterValue, 'Run a command with command semantics, applying learned patterns and timeouts')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Print the shell hook code: eval "$(ee init bash)"')
            [CompletionResult]::new('route', 'route', [CompletionResultType]::ParameterValue, 'Manage the commands routed through ee by the shell hooks')
            [CompletionResult]::new('suggest', 'suggest', [CompletionResultType]::ParameterValue, 'Show the recommended patterns and timeout for a command')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Show statistics from the telemetry database')
            [CompletionResult]::new('telemetry', 'telemetry', [CompletionResultType]::ParameterValue, 'Inspect and maintain the telemetry database')
            [CompletionResult]::new('feedback', 'feedback', [CompletionResultType]::ParameterValue, 'Correct a learned judgement about a run')
            [CompletionResult]::new('profile', 'profile', [CompletionResultType]::ParameterValue, 'List and show pattern profiles (built-in and user)')
            [CompletionResult]::new('team', 'team', [CompletionResultType]::ParameterValue, 'Share what was learned with a team through PostgreSQL')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print or install the man pages')
            break
        }
        'ee;run' {
            [CompletionResult]::new('--pattern', '--pattern', [CompletionResultType]::ParameterName, 'Error pattern given positionally is not accepted here; use -e/--pattern')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Stop after N matches')
            [CompletionResult]::new('--max-count', '--max-count', [CompletionResultType]::ParameterName, 'Stop after N matches')
            [CompletionResult]::new('-X', '-X ', [CompletionResultType]::ParameterName, 'Lines matching PAT never count (repeatable)')
            [CompletionResult]::new('--exclude', '--exclude', [CompletionResultType]::ParameterName, 'Lines matching PAT never count (repeatable)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('--success-pattern', '--success-pattern', [CompletionResultType]::ParameterName, 'A match means success: exit 0 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('--error-pattern', '--error-pattern', [CompletionResultType]::ParameterName, 'A match means failure: exit 1 (repeatable; first of -s/-e to match decides)')
            [CompletionResult]::new('-B', '-B ', [CompletionResultType]::ParameterName, 'Lines before the match kept as context in the report (never printed twice)')
            [CompletionResult]::new('--before-context', '--before-context', [CompletionResultType]::ParameterName, 'Lines before the match kept as context in the report (never printed twice)')
            [CompletionResult]::new('-C', '-C ', [CompletionResultType]::ParameterName, 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]')
            [CompletionResult]::new('--delay-exit', '--delay-exit', [CompletionResultType]::ParameterName, 'Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]')
            [CompletionResult]::new('--delay-exit-after-lines', '--delay-exit-after-lines', [CompletionResultType]::ParameterName, 'End the delay early after N more lines (grep''s --after-context)')
            [CompletionResult]::new('--after-context', '--after-context', [CompletionResultType]::ParameterName, 'End the delay early after N more lines (grep''s --after-context)')
            [CompletionResult]::new('--delay-exit-quiet', '--delay-exit-quiet', [CompletionResultType]::ParameterName, 'End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Stop when there has been no output for DURATION')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Stop when there has been no output for DURATION')
            [CompletionResult]::new('-F', '-F ', [CompletionResultType]::ParameterName, 'Stop when there is no first output within DURATION')
            [CompletionResult]::new('--first-output-timeout', '--first-output-timeout', [CompletionResultType]::ParameterName, 'Stop when there is no first output within DURATION')
            [CompletionResult]::new('--stderr-idle-exit', '--stderr-idle-exit', [CompletionResultType]::ParameterName, 'Stop once stderr has been quiet this long after it first spoke')
            [CompletionResult]::new('--max-repeat', '--max-repeat', [CompletionResultType]::ParameterName, 'Stuck when the same line repeats N times in a row (blank lines never count)')
            [CompletionResult]::new('--stuck-pattern', '--stuck-pattern', [CompletionResultType]::ParameterName, 'Compare only the part of each line that RE extracts (first group, else whole match)')
            [CompletionResult]::new('--progress-pattern', '--progress-pattern', [CompletionResultType]::ParameterName, 'Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)')
            [CompletionResult]::new('--transition-states', '--transition-states', [CompletionResultType]::ParameterName, 'States in order, ''A>B>C'' (regexes): stuck (exit 2) when a state goes backwards')
            [CompletionResult]::new('--kill-after', '--kill-after', [CompletionResultType]::ParameterName, 'After SIGTERM, wait this long before SIGKILL')
            [CompletionResult]::new('--pty', '--pty', [CompletionResultType]::ParameterName, 'Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)')
            [CompletionResult]::new('--pid-file', '--pid-file', [CompletionResultType]::ParameterName, 'Write the child''s PID (and process group) to PATH when detaching')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Highlight matches and keep the child''s colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)')
            [CompletionResult]::new('--fd', '--fd', [CompletionResultType]::ParameterName, 'Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)')
            [CompletionResult]::new('--fd-pattern', '--fd-pattern', [CompletionResultType]::ParameterName, 'Use PAT (instead of the main pattern) for descriptor N (repeatable)')
            [CompletionResult]::new('--expect', '--expect', [CompletionResultType]::ParameterName, 'Allowlist pattern (repeatable), for --expect-only / --expect-all')
            [CompletionResult]::new('--unexpected', '--unexpected', [CompletionResultType]::ParameterName, 'A line matching PAT is unexpected (exit 5) (repeatable)')
            [CompletionResult]::new('--on-unexpected', '--on-unexpected', [CompletionResultType]::ParameterName, 'On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)')
            [CompletionResult]::new('--file-prefix', '--file-prefix', [CompletionResultType]::ParameterName, 'Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]')
            [CompletionResult]::new('--log-dir', '--log-dir', [CompletionResultType]::ParameterName, 'Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user''s state directory]')
            [CompletionResult]::new('--no-learn', '--no-learn', [CompletionResultType]::ParameterName, 'Apply no learned pattern or timeout')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print what would be applied and why, without running')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Case-insensitive matching')
            [CompletionResult]::new('--ignore-case', '--ignore-case', [CompletionResultType]::ParameterName, 'Case-insensitive matching')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Invert: a line that does NOT match counts as a match')
            [CompletionResult]::new('--invert-match', '--invert-match', [CompletionResultType]::ParameterName, 'Invert: a line that does NOT match counts as a match')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Match whole words only')
            [CompletionResult]::new('--word-regexp', '--word-regexp', [CompletionResultType]::ParameterName, 'Match whole words only')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'Match whole lines only')
            [CompletionResult]::new('--line-regexp', '--line-regexp', [CompletionResultType]::ParameterName, 'Match whole lines only')
            [CompletionResult]::new('-P', '-P ', [CompletionResultType]::ParameterName, 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking')
            [CompletionResult]::new('--pcre', '--pcre', [CompletionResultType]::ParameterName, 'Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking')
            [CompletionResult]::new('--stdout', '--stdout', [CompletionResultType]::ParameterName, 'Match only the child''s stdout (stderr is still passed through)')
            [CompletionResult]::new('--stderr', '--stderr', [CompletionResultType]::ParameterName, 'Match only the child''s stderr (stdout is still passed through)')
            [CompletionResult]::new('--stuck-ignore-timestamps', '--stuck-ignore-timestamps', [CompletionResultType]::ParameterName, 'Compare lines with clock times, dates, ISO-8601 stamps and epochs removed')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'On match, exit 4 and leave the child running (its output still drained)')
            [CompletionResult]::new('--detach', '--detach', [CompletionResultType]::ParameterName, 'On match, exit 4 and leave the child running (its output still drained)')
            [CompletionResult]::new('--detach-on-timeout', '--detach-on-timeout', [CompletionResultType]::ParameterName, 'On a timeout, detach (exit 4) instead of stopping the child')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Prefix passed-through lines with their line number (per stream in command mode)')
            [CompletionResult]::new('--line-number', '--line-number', [CompletionResultType]::ParameterName, 'Prefix passed-through lines with their line number (per stream in command mode)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Silence ee''s own messages (not the child''s output)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Silence ee''s own messages (not the child''s output)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object describing the run on stdout; the child''s output goes to stderr')
            [CompletionResult]::new('--unix-exit-codes', '--unix-exit-codes', [CompletionResultType]::ParameterName, 'Swap exit statuses 0 and 1 (0 = no match, 1 = match)')
            [CompletionResult]::new('--no-telemetry', '--no-telemetry', [CompletionResultType]::ParameterName, 'Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)')
            [CompletionResult]::new('--test-pattern', '--test-pattern', [CompletionResultType]::ParameterName, 'Read a log on stdin and print match statistics, running nothing')
            [CompletionResult]::new('--progress', '--progress', [CompletionResultType]::ParameterName, 'A self-updating status line on stderr (when it is a terminal)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation')
            [CompletionResult]::new('--fd-prefix', '--fd-prefix', [CompletionResultType]::ParameterName, 'Label passed-through lines [stdout], [stderr], [fdN]')
            [CompletionResult]::new('--expect-only', '--expect-only', [CompletionResultType]::ParameterName, 'Any non-blank line matching no --expect pattern is unexpected (exit 5)')
            [CompletionResult]::new('--expect-all', '--expect-all', [CompletionResultType]::ParameterName, 'An --expect pattern never seen by the end fails the run (exit 6)')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)')
            [CompletionResult]::new('--log', '--log', [CompletionResultType]::ParameterName, 'Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Append to the log files instead of truncating them')
            [CompletionResult]::new('--append', '--append', [CompletionResultType]::ParameterName, 'Append to the log files instead of truncating them')
            [CompletionResult]::new('-z', '-z', [CompletionResultType]::ParameterName, 'Compress the log files with gzip (.gz)')
            [CompletionResult]::new('--gzip', '--gzip', [CompletionResultType]::ParameterName, 'Compress the log files with gzip (.gz)')
            [CompletionResult]::new('-Z', '-Z ', [CompletionResultType]::ParameterName, 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes')
            [CompletionResult]::new('--decompress', '--decompress', [CompletionResultType]::ParameterName, 'Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'ee;init' {
            [CompletionResult]::new('--route', '--route', [CompletionResultType]::ParameterName, 'Route this command too (repeatable), besides the routes file')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;route' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('add', 'add', [CompletionResultType]::ParameterValue, 'Route a command (a program, optionally with a leading subcommand: ''cargo test'')')
            [CompletionResult]::new('remove', 'remove', [CompletionResultType]::ParameterValue, 'Stop routing a command')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List the routed commands')
            break
        }
        'ee;route;add' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;route;remove' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;route;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;suggest' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output')
            [CompletionResult]::new('--plot', '--plot', [CompletionResultType]::ParameterName, 'Draw the runtimes of the command as a histogram, the hang limit marked')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;stats' {
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Machine-readable output')
            [CompletionResult]::new('--plot', '--plot', [CompletionResultType]::ParameterName, 'Draw runs per day, time saved per week and the top commands by time saved')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Integrity check, journal mode, foreign keys, size, row counts, spool backlog')
            [CompletionResult]::new('path', 'path', [CompletionResultType]::ParameterValue, 'Print the database path')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Export executions (redacted) as JSON lines, one JSON document, or CSV')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Delete all recorded data')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete old executions')
            [CompletionResult]::new('export-learned', 'export-learned', [CompletionResultType]::ParameterValue, 'Write the learned patterns and timeouts (no command lines) as a JSON document')
            [CompletionResult]::new('import-learned', 'import-learned', [CompletionResultType]::ParameterValue, 'Merge a document written by export-learned into what this machine learned')
            break
        }
        'ee;telemetry;check' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry;path' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry;export' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'format')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'ee;telemetry;clear' {
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry;prune' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Delete executions older than DURATION (e.g. 30d)')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep only the newest N executions')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry;export-learned' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE instead of stdout')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;telemetry;import-learned' {
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Import a document again although it was imported before (adds its counts again)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;feedback' {
            [CompletionResult]::new('--false-positive', '--false-positive', [CompletionResultType]::ParameterName, 'The pattern matched but the run did not really fail')
            [CompletionResult]::new('--missed', '--missed', [CompletionResultType]::ParameterName, 'The run failed but the pattern did not catch it')
            [CompletionResult]::new('--good', '--good', [CompletionResultType]::ParameterName, 'The judgement was right')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;profile' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List built-in and user profiles')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one profile')
            break
        }
        'ee;profile;list' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;profile;show' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('connect', 'connect', [CompletionResultType]::ParameterValue, 'Store the team database URL (never its password) after checking it')
            [CompletionResult]::new('disconnect', 'disconnect', [CompletionResultType]::ParameterValue, 'Forget the team database and stop using the team''s knowledge')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Server, last push and pull, backlog and the last error')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Create or upgrade the team schema and roles (run once, as the database owner)')
            [CompletionResult]::new('preview', 'preview', [CompletionResultType]::ParameterValue, 'Print exactly what the next push would send, as JSON')
            [CompletionResult]::new('sync', 'sync', [CompletionResultType]::ParameterValue, 'Push new evidence, then pull the team''s knowledge')
            break
        }
        'ee;team;connect' {
            [CompletionResult]::new('--share-runs', '--share-runs', [CompletionResultType]::ParameterName, 'Also share executions (redacted command lines, status, duration)')
            [CompletionResult]::new('--no-check', '--no-check', [CompletionResultType]::ParameterName, 'Store the URL without connecting first')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team;disconnect' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team;status' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team;init' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team;preview' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;team;sync' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;completions' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'ee;man' {
            [CompletionResult]::new('--install-dir', '--install-dir', [CompletionResultType]::ParameterName, 'Write all pages into DIR (its parent must exist) instead of showing one')
            [CompletionResult]::new('--install', '--install', [CompletionResultType]::ParameterName, 'Install all pages into your own man directory ($XDG_DATA_HOME/man, default ~/.local/share/man) and check that `man ee` finds them')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
