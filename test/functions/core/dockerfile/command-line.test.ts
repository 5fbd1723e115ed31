import { describe, expect, it } from 'vitest';
import { commandArgv, runCommand } from '../../../../functions/core/dockerfile/command-line';
import type { CmdInstruction, RunInstruction } from '../../../../functions/core/dockerfile/instructions';
import { parseDockerfile } from '../../../../functions/core/dockerfile/parse';

function instructions(text: string) {
  return parseDockerfile(`FROM a\n${text}`).stages[0]!.instructions;
}

describe('commandArgv', () => {
  it('runs shell form through the SHELL and exec form as is', () => {
    const [cmd, entry] = instructions('CMD echo "$HOME"\nENTRYPOINT ["/bin/app", "--flag"]\n') as [CmdInstruction, CmdInstruction];
    expect(commandArgv(cmd.command)).toEqual(['/bin/sh', '-c', 'echo "$HOME"']);
    expect(commandArgv(cmd.command, ['pwsh', '-Command'])).toEqual(['pwsh', '-Command', 'echo "$HOME"']);
    expect(commandArgv(entry.command)).toEqual(['/bin/app', '--flag']);
  });
});

describe('runCommand', () => {
  const runs = instructions(
    [
      'RUN apt-get update',
      'RUN ["echo", "a b"]',
      'RUN <<EOF',
      'echo one',
      'EOF',
      'RUN <<-EOT',
      '\techo tabbed',
      '\tEOT',
      'RUN <<script.py',
      '#!/usr/bin/env python3',
      'print("hi")',
      'script.py',
      'RUN cat <<A >/a && cat <<-B >/b',
      'alpha',
      'A',
      '\tbeta',
      '\tB',
      '',
    ].join('\n'),
  ) as RunInstruction[];

  it('uses the shell for shell form and nothing for exec form', () => {
    expect(runCommand(runs[0]!)).toEqual({ argv: ['/bin/sh', '-c', 'apt-get update'], files: [] });
    expect(runCommand(runs[1]!)).toEqual({ argv: ['echo', 'a b'], files: [] });
  });

  it('runs a lone heredoc as the shell script, chomped for <<-', () => {
    expect(runCommand(runs[2]!).argv).toEqual(['/bin/sh', '-c', 'echo one\n']);
    expect(runCommand(runs[3]!).argv).toEqual(['/bin/sh', '-c', 'echo tabbed\n']);
  });

  it('runs a lone heredoc with a shebang as an executable file', () => {
    expect(runCommand(runs[4]!)).toEqual({
      argv: ['/dev/pipes/script.py'],
      files: [{ path: '/dev/pipes/script.py', content: '#!/usr/bin/env python3\nprint("hi")\n', mode: 0o755 }],
    });
    expect(runCommand(runs[4]!, undefined, 'windows').argv[0]).toBe('/bin/sh');
  });

  it('gives other heredocs back to the shell, bodies and terminators appended', () => {
    expect(runCommand(runs[5]!).argv).toEqual(['/bin/sh', '-c', 'cat <<A >/a && cat <<-B >/b\nalpha\nA\n\tbeta\nB']);
  });
});
