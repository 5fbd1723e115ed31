// From a parsed command to the argv Docker runs or records: shell form goes through the SHELL
// (default /bin/sh -c); RUN heredocs follow BuildKit's three cases.
import type { CommandLine, RunInstruction } from './instructions';
import { chompHeredocContent, parseHeredocWord } from './lexer';

export const DEFAULT_SHELL: readonly string[] = ['/bin/sh', '-c'];

/** The argv for CMD and ENTRYPOINT as the image config stores it. */
export function commandArgv(command: CommandLine, shell: readonly string[] = DEFAULT_SHELL): string[] {
  return command.form === 'exec' ? [...command.args] : [...shell, command.command];
}

/** A file the RUN needs mounted read-only while it executes (a heredoc script with a shebang). */
export interface RunFile {
  path: string;
  content: string;
  mode: number;
}

export interface RunCommand {
  argv: string[];
  files: RunFile[];
}

/**
 * The argv a RUN executes with. With heredocs, as BuildKit does:
 * - the command is only `<<EOF` and the body starts with `#!`: the body becomes an executable file
 *   under /dev/pipes/ and runs directly, without the shell;
 * - the command is only `<<EOF`: the (chomped, for `<<-`) body runs as the shell's script;
 * - otherwise the heredocs are appended to the command line and the shell reads them itself.
 */
export function runCommand(run: RunInstruction, shell: readonly string[] = DEFAULT_SHELL, os = 'linux'): RunCommand {
  if (run.command.form === 'exec') return { argv: [...run.command.args], files: [] };
  const line = run.command.command;
  const first = run.heredocs[0];
  if (!first) return { argv: [...shell, line], files: [] };
  if (parseHeredocWord(line)) {
    const body = first.chomp ? chompHeredocContent(first.content) : first.content;
    if (os !== 'windows' && first.content.startsWith('#!')) {
      const path = `/dev/pipes/${first.name}`;
      return { argv: [path], files: [{ path, content: body, mode: 0o755 }] };
    }
    return { argv: [...shell, body], files: [] };
  }
  const full = run.heredocs.reduce((acc, h) => `${acc}\n${h.content}${h.name}`, line);
  return { argv: [...shell, full], files: [] };
}
