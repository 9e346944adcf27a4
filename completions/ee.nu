module completions {

  def "nu-complete ee pty" [] {
    [ "auto" "always" "never" ]
  }

  def "nu-complete ee color" [] {
    [ "auto" "always" "never" ]
  }

  def "nu-complete ee on_unexpected" [] {
    [ "warn" "error" "exit" ]
  }

  # Watch a command's output and stop it the moment the outcome is known
  export extern ee [
    --pattern: string         # Pattern given as an option (use it for a pattern that is a subcommand name)
    --profile: string         # Apply a built-in or user profile's patterns as error patterns (repeatable; see --list-profiles)
    --list-profiles           # List the pattern profiles (as 'ee profile list')
    --ignore-case(-i)         # Case-insensitive matching
    --invert-match(-v)        # Invert: a line that does NOT match counts as a match
    --word-regexp(-w)         # Match whole words only
    --line-regexp(-x)         # Match whole lines only
    --max-count(-m): string   # Stop after N matches
    --pcre(-P)                # Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking
    --exclude(-X): string     # Lines matching PAT never count (repeatable)
    --success-pattern(-s): string # A match means success: exit 0 (repeatable; first of -s/-e to match decides)
    --error-pattern(-e): string # A match means failure: exit 1 (repeatable; first of -s/-e to match decides)
    --stdout                  # Match only the child's stdout (stderr is still passed through)
    --stderr                  # Match only the child's stderr (stdout is still passed through)
    --before-context(-B): string # Lines before the match kept as context in the report (never printed twice)
    --context(-C): string     # Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)
    --delay-exit(-A): string  # Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]
    --delay-exit-after-lines: string # End the delay early after N more lines (grep's --after-context)
    --after-context: string   # End the delay early after N more lines (grep's --after-context)
    --delay-exit-quiet: string # End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]
    --timeout(-t): string     # Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)
    --idle-timeout(-I): string # Stop when there has been no output for DURATION
    --first-output-timeout(-F): string # Stop when there is no first output within DURATION
    --stderr-idle-exit: string # Stop once stderr has been quiet this long after it first spoke
    --max-repeat: string      # Stuck when the same line repeats N times in a row (blank lines never count)
    --stuck-ignore-timestamps # Compare lines with clock times, dates, ISO-8601 stamps and epochs removed
    --stuck-pattern: string   # Compare only the part of each line that RE extracts (first group, else whole match)
    --progress-pattern: string # Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)
    --transition-states: string # States in order, 'A>B>C' (regexes): stuck (exit 2) when a state goes backwards
    --kill-after: string      # After SIGTERM, wait this long before SIGKILL
    --pty: string@"nu-complete ee pty" # Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)
    --detach(-D)              # On match, exit 4 and leave the child running (its output still drained)
    --pid-file: path          # Write the child's PID (and process group) to PATH when detaching
    --detach-on-timeout       # On a timeout, detach (exit 4) instead of stopping the child
    --color: string@"nu-complete ee color" # Highlight matches and keep the child's colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)
    --line-number(-n)         # Prefix passed-through lines with their line number (per stream in command mode)
    --quiet(-q)               # Silence ee's own messages (not the child's output)
    --json                    # Print one JSON object describing the run on stdout; the child's output goes to stderr
    --unix-exit-codes         # Swap exit statuses 0 and 1 (0 = no match, 1 = match)
    --no-telemetry            # Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)
    --test-pattern            # Read a log on stdin and print match statistics, running nothing
    --progress                # A self-updating status line on stderr (when it is a terminal)
    --watch                   # Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation
    --fd: string              # Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)
    --fd-pattern: string      # Use PAT (instead of the main pattern) for descriptor N (repeatable)
    --fd-prefix               # Label passed-through lines [stdout], [stderr], [fdN]
    --expect: string          # Allowlist pattern (repeatable), for --expect-only / --expect-all
    --expect-only             # Any non-blank line matching no --expect pattern is unexpected (exit 5)
    --expect-all              # An --expect pattern never seen by the end fails the run (exit 6)
    --unexpected: string      # A line matching PAT is unexpected (exit 5) (repeatable)
    --on-unexpected: string@"nu-complete ee on_unexpected" # On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)
    --log(-l)                 # Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)
    --file-prefix: string     # Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]
    --log-dir: path           # Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user's state directory]
    --append(-a)              # Append to the log files instead of truncating them
    --gzip(-z)                # Compress the log files with gzip (.gz)
    --decompress(-Z)          # Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes
    --help(-h)                # Print help (see more with '--help')
    --version(-V)             # Print version
    pattern_pos?: string      # Regex whose match decides the outcome (Rust regex syntax, matched on bytes)
  ]

  def "nu-complete ee run pty" [] {
    [ "auto" "always" "never" ]
  }

  def "nu-complete ee run color" [] {
    [ "auto" "always" "never" ]
  }

  def "nu-complete ee run on_unexpected" [] {
    [ "warn" "error" "exit" ]
  }

  # Run a command with command semantics, applying learned patterns and timeouts
  export extern "ee run" [
    --pattern: string         # Error pattern given positionally is not accepted here; use -e/--pattern
    --no-learn                # Apply no learned pattern or timeout
    --dry-run                 # Print what would be applied and why, without running
    --ignore-case(-i)         # Case-insensitive matching
    --invert-match(-v)        # Invert: a line that does NOT match counts as a match
    --word-regexp(-w)         # Match whole words only
    --line-regexp(-x)         # Match whole lines only
    --max-count(-m): string   # Stop after N matches
    --pcre(-P)                # Perl-compatible patterns (PCRE2): look-around, backreferences; bounded backtracking
    --exclude(-X): string     # Lines matching PAT never count (repeatable)
    --success-pattern(-s): string # A match means success: exit 0 (repeatable; first of -s/-e to match decides)
    --error-pattern(-e): string # A match means failure: exit 1 (repeatable; first of -s/-e to match decides)
    --stdout                  # Match only the child's stdout (stderr is still passed through)
    --stderr                  # Match only the child's stderr (stdout is still passed through)
    --before-context(-B): string # Lines before the match kept as context in the report (never printed twice)
    --context(-C): string     # Context lines: -B N and --delay-exit-after-lines N (a pipe then reads on up to 10s for them)
    --delay-exit(-A): string  # Keep reading this long after the match to capture the stack trace [default: 10s command, 0 pipe]
    --delay-exit-after-lines: string # End the delay early after N more lines (grep's --after-context)
    --after-context: string   # End the delay early after N more lines (grep's --after-context)
    --delay-exit-quiet: string # End the delay early once output has been quiet this long after the match [ee run: learned, 300ms]
    --timeout(-t): string     # Overall timeout (plain seconds, or with ms/s/m/h/d: 1.5m, 500ms)
    --idle-timeout(-I): string # Stop when there has been no output for DURATION
    --first-output-timeout(-F): string # Stop when there is no first output within DURATION
    --stderr-idle-exit: string # Stop once stderr has been quiet this long after it first spoke
    --max-repeat: string      # Stuck when the same line repeats N times in a row (blank lines never count)
    --stuck-ignore-timestamps # Compare lines with clock times, dates, ISO-8601 stamps and epochs removed
    --stuck-pattern: string   # Compare only the part of each line that RE extracts (first group, else whole match)
    --progress-pattern: string # Stuck when the counter RE extracts does not change for N lines (N from --max-repeat, default 100)
    --transition-states: string # States in order, 'A>B>C' (regexes): stuck (exit 2) when a state goes backwards
    --kill-after: string      # After SIGTERM, wait this long before SIGKILL
    --pty: string@"nu-complete ee run pty" # Give the child pseudo-terminals for its output (auto: in ee run, on each stream whose destination is a terminal, as for the bare command; otherwise on both)
    --detach(-D)              # On match, exit 4 and leave the child running (its output still drained)
    --pid-file: path          # Write the child's PID (and process group) to PATH when detaching
    --detach-on-timeout       # On a timeout, detach (exit 4) instead of stopping the child
    --color: string@"nu-complete ee run color" # Highlight matches and keep the child's colour escapes (auto: only on a terminal, and no highlights with NO_COLOR; ee run highlights only with always)
    --line-number(-n)         # Prefix passed-through lines with their line number (per stream in command mode)
    --quiet(-q)               # Silence ee's own messages (not the child's output)
    --json                    # Print one JSON object describing the run on stdout; the child's output goes to stderr
    --unix-exit-codes         # Swap exit statuses 0 and 1 (0 = no match, 1 = match)
    --no-telemetry            # Record nothing in the telemetry database (also EARLYEXIT_NO_TELEMETRY=1)
    --test-pattern            # Read a log on stdin and print match statistics, running nothing
    --progress                # A self-updating status line on stderr (when it is a terminal)
    --watch                   # Interactive learning: on Ctrl-C, suggest an error pattern and a timeout from what was seen, and store them for this command on confirmation
    --fd: string              # Give the child an extra pipe as descriptor N (>= 3) and watch it too (repeatable)
    --fd-pattern: string      # Use PAT (instead of the main pattern) for descriptor N (repeatable)
    --fd-prefix               # Label passed-through lines [stdout], [stderr], [fdN]
    --expect: string          # Allowlist pattern (repeatable), for --expect-only / --expect-all
    --expect-only             # Any non-blank line matching no --expect pattern is unexpected (exit 5)
    --expect-all              # An --expect pattern never seen by the end fails the run (exit 6)
    --unexpected: string      # A line matching PAT is unexpected (exit 5) (repeatable)
    --on-unexpected: string@"nu-complete ee run on_unexpected" # On an unexpected line: warn and go on, fail at the end (error), or stop now (exit)
    --log(-l)                 # Log the complete output to files (PREFIX.log, PREFIX.err.log, PREFIX.fdN.log)
    --file-prefix: string     # Log file prefix P (implies --log) [default: DIR/ee-PROGRAM-PID]
    --log-dir: path           # Directory for log files, created (mode 0700) when missing (implies --log) [default: a private directory under the user's state directory]
    --append(-a)              # Append to the log files instead of truncating them
    --gzip(-z)                # Compress the log files with gzip (.gz)
    --decompress(-Z)          # Pipe mode: decompress gzip, bzip2 or xz input, recognised by its magic bytes
    --help(-h)                # Print help (see more with '--help')
    ...command: string        # The command to run
  ]

  def "nu-complete ee init shell" [] {
    [ "bash" "zsh" "fish" ]
  }

  # Print the shell hook code: eval "$(ee init bash)"
  export extern "ee init" [
    --route: string           # Route this command too (repeatable), besides the routes file
    --help(-h)                # Print help
    shell: string@"nu-complete ee init shell" # The shell to print hook code for
  ]

  # Manage the commands routed through ee by the shell hooks
  export extern "ee route" [
    --help(-h)                # Print help
  ]

  # Route a command (a program, optionally with a leading subcommand: 'cargo test')
  export extern "ee route add" [
    --help(-h)                # Print help
    ...names: string
  ]

  # Stop routing a command
  export extern "ee route remove" [
    --help(-h)                # Print help
    ...names: string
  ]

  # List the routed commands
  export extern "ee route list" [
    --help(-h)                # Print help
  ]

  # Show the recommended patterns and timeout for a command
  export extern "ee suggest" [
    --json                    # Machine-readable output
    --plot                    # Draw the runtimes of the command as a histogram, the hang limit marked
    --help(-h)                # Print help
    ...command: string        # The command to suggest for
  ]

  # Show statistics from the telemetry database
  export extern "ee stats" [
    --json                    # Machine-readable output
    --plot                    # Draw runs per day, time saved per week and the top commands by time saved
    --help(-h)                # Print help
  ]

  # Inspect and maintain the telemetry database
  export extern "ee telemetry" [
    --help(-h)                # Print help
  ]

  # Integrity check, journal mode, foreign keys, size, row counts, spool backlog
  export extern "ee telemetry check" [
    --help(-h)                # Print help
  ]

  # Print the database path
  export extern "ee telemetry path" [
    --help(-h)                # Print help
  ]

  def "nu-complete ee telemetry export format" [] {
    [ "jsonl" "json" "csv" ]
  }

  # Export executions (redacted) as JSON lines, one JSON document, or CSV
  export extern "ee telemetry export" [
    --format: string@"nu-complete ee telemetry export format"
    --help(-h)                # Print help (see more with '--help')
  ]

  # Delete all recorded data
  export extern "ee telemetry clear" [
    --yes(-y)                 # Do not ask for confirmation
    --help(-h)                # Print help
  ]

  # Delete old executions
  export extern "ee telemetry prune" [
    --older-than: string      # Delete executions older than DURATION (e.g. 30d)
    --keep: string            # Keep only the newest N executions
    --help(-h)                # Print help
  ]

  # Write the learned patterns and timeouts (no command lines) as a JSON document
  export extern "ee telemetry export-learned" [
    --output(-o): path        # Write to FILE instead of stdout
    --help(-h)                # Print help
  ]

  # Merge a document written by export-learned into what this machine learned
  export extern "ee telemetry import-learned" [
    --force                   # Import a document again although it was imported before (adds its counts again)
    --help(-h)                # Print help
    file: path                # The document (`-` for stdin)
  ]

  # Correct a learned judgement about a run
  export extern "ee feedback" [
    --false-positive          # The pattern matched but the run did not really fail
    --missed                  # The run failed but the pattern did not catch it
    --good                    # The judgement was right
    --help(-h)                # Print help
    run?: string              # The run id, or `last`
  ]

  # List and show pattern profiles (built-in and user)
  export extern "ee profile" [
    --help(-h)                # Print help
  ]

  # List built-in and user profiles
  export extern "ee profile list" [
    --help(-h)                # Print help
  ]

  # Show one profile
  export extern "ee profile show" [
    --help(-h)                # Print help
    name: string
  ]

  # Share what was learned with a team through PostgreSQL
  export extern "ee team" [
    --help(-h)                # Print help
  ]

  # Store the team database URL (never its password) after checking it
  export extern "ee team connect" [
    --share-runs              # Also share executions (redacted command lines, status, duration)
    --no-check                # Store the URL without connecting first
    --help(-h)                # Print help
    url: string               # postgres://user@host:port/db?sslmode=require
  ]

  # Forget the team database and stop using the team's knowledge
  export extern "ee team disconnect" [
    --help(-h)                # Print help
  ]

  # Server, last push and pull, backlog and the last error
  export extern "ee team status" [
    --help(-h)                # Print help
  ]

  # Create or upgrade the team schema and roles (run once, as the database owner)
  export extern "ee team init" [
    --help(-h)                # Print help
    url?: string              # The database URL (default: the connected one)
  ]

  # Print exactly what the next push would send, as JSON
  export extern "ee team preview" [
    --help(-h)                # Print help
  ]

  # Push new evidence, then pull the team's knowledge
  export extern "ee team sync" [
    --help(-h)                # Print help
  ]

  def "nu-complete ee completions shell" [] {
    [ "bash" "zsh" "fish" "elvish" "powershell" "nushell" ]
  }

  # Print a shell completion script
  export extern "ee completions" [
    --help(-h)                # Print help
    shell: string@"nu-complete ee completions shell" # The shell to print the completion script for
  ]

  # Print or install the man pages
  export extern "ee man" [
    --install                 # Install all pages into your own man directory ($XDG_DATA_HOME/man, default ~/.local/share/man) and check that `man ee` finds them
    --install-dir: directory  # Write all pages into DIR (its parent must exist) instead of showing one
    --help(-h)                # Print help
    page?: string             # The subcommand whose page to show
  ]

}

export use completions *
