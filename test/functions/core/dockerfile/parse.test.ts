import { describe, expect, it } from 'vitest';
import { DockerfileError } from '../../../../functions/core/dockerfile/errors';
import { chompHeredocContent, parseHeredocWord, scanDockerfile } from '../../../../functions/core/dockerfile/lexer';
import { parseDockerfile, tryParseDockerfile } from '../../../../functions/core/dockerfile/parse';

function errorOf(text: string): DockerfileError {
  try {
    parseDockerfile(text);
  } catch (err) {
    if (err instanceof DockerfileError) return err;
    throw err;
  }
  throw new Error('expected a DockerfileError');
}

describe('scanDockerfile', () => {
  it('ignores directives after a blank line or a comment', () => {
    expect(scanDockerfile('\n# escape=`\nFROM a\n').escape).toBe('\\');
    expect(scanDockerfile('# hello\n# syntax=x\nFROM a\n').directives).toEqual([]);
    expect(scanDockerfile('# unknown=1\n# escape=`\nFROM a\n').escape).toBe('\\');
  });

  it('continues lines with the chosen escape character only', () => {
    const lines = scanDockerfile('# escape=`\nFROM a\nRUN echo \\\nRUN b `\n  c\n').lines;
    expect(lines.map((l) => [l.line, l.endLine, l.original])).toEqual([
      [2, 2, 'FROM a'],
      [3, 3, 'RUN echo \\'],
      [4, 5, 'RUN b   c'],
    ]);
  });

  it('reads heredoc words the way BuildKit does', () => {
    expect(parseHeredocWord('<<EOF')).toEqual({ name: 'EOF', expand: true, chomp: false, fileDescriptor: 0 });
    expect(parseHeredocWord('<<-"EOF"')).toEqual({ name: 'EOF', expand: false, chomp: true, fileDescriptor: 0 });
    expect(parseHeredocWord("<<E'O'F")).toMatchObject({ name: 'EOF', expand: false });
    expect(parseHeredocWord('2<<EOF')).toMatchObject({ fileDescriptor: 2 });
    expect(parseHeredocWord('<<')).toBeUndefined();
    expect(parseHeredocWord('cat<<EOF')).toBeUndefined();
    expect(parseHeredocWord('<<<EOF')).toBeUndefined();
  });

  it('keeps heredoc bodies verbatim and strips tabs only on request', () => {
    const [, run] = scanDockerfile('FROM a\nRUN <<-EOF\n\t\tindented\n  spaces stay\n\tEOF\n').lines;
    expect(run!.heredocs[0]!.content).toBe('\t\tindented\n  spaces stay\n');
    expect(chompHeredocContent(run!.heredocs[0]!.content)).toBe('indented\n  spaces stay\n');
  });

  it('does not end a heredoc on a line with trailing spaces', () => {
    expect(() => parseDockerfile('FROM a\nRUN <<EOF\nx\nEOF \n')).toThrow('Dockerfile:2: unterminated heredoc');
  });
});

describe('parseDockerfile', () => {
  it('spans stages from FROM to their last instruction', () => {
    const df = parseDockerfile('FROM a AS one\nRUN x\n\n# gap\nFROM one\nCMD y \\\n  z\n');
    expect(df.stages.map((s) => [s.index, s.name, s.from, s.line, s.endLine])).toEqual([
      [0, 'one', 'a', 1, 2],
      [1, undefined, 'one', 5, 7],
    ]);
  });

  it('parses heredocs of an ONBUILD trigger', () => {
    const [onbuild] = parseDockerfile('FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n').stages[0]!.instructions;
    expect(onbuild).toMatchObject({ kind: 'ONBUILD', endLine: 4, expression: 'RUN <<EOF\necho hi\nEOF', trigger: { kind: 'RUN', heredocs: [{ name: 'EOF', content: 'echo hi\n' }] } });
  });

  it('names the line for every kind of error', () => {
    const cases: [string, number, string][] = [
      ['FROM a\nRUN x\n\n  FOO bar\n', 4, 'unknown instruction "FOO"'],
      ['FROM a\nrunn x\n', 2, 'unknown instruction "runn" (did you mean RUN?)'],
      ['FROM a\nRUN --mount=type=cache x\n', 2, 'needs a target'],
      ['FROM a\nRUN --network=bridge x\n', 2, '--network "bridge"'],
      ['FROM a\nRUN --security=yes x\n', 2, '--security "yes"'],
      ['FROM a\nCOPY <<EOF <<EOF2\nx\nEOF\ny\nEOF2\n', 2, 'cannot take a heredoc as a destination'],
      ['FROM a\nHEALTHCHECK NONE extra\n', 2, 'HEALTHCHECK NONE takes no arguments'],
      ['FROM a\nVOLUME [" "]\n', 2, 'can not be an empty string'],
      ['FROM a\nHEALTHCHECK --retries=-1 CMD x\n', 2, '--retries cannot be negative'],
      ['FROM a\nHEALTHCHECK --timeout=1us CMD x\n', 2, 'cannot be less than 1ms'],
      ['FROM a\nHEALTHCHECK CMD\n', 2, 'missing its command'],
      ['FROM a\nHEALTHCHECK\n', 2, 'requires at least one argument'],
      ['FROM a\nARG =x\n', 2, 'ARG names can not be blank'],
      ['FROM a\nARG\n', 2, 'ARG requires at least one argument'],
      ['FROM a\nLABEL\n', 2, 'LABEL requires at least one argument'],
      ['FROM a\nEXPOSE\n', 2, 'EXPOSE requires at least one argument'],
      ['FROM a\nVOLUME []\n', 2, 'VOLUME requires at least one argument'],
      ['FROM a\nVOLUME ["/a", ""]\n', 2, 'can not be an empty string'],
      ['FROM a\nSHELL []\n', 2, 'SHELL requires at least one argument'],
      ['FROM a\nONBUILD\n', 2, 'ONBUILD requires at least one argument'],
      ['FROM a\nONBUILD MAINTAINER me\n', 2, 'MAINTAINER is not allowed as an ONBUILD trigger'],
      ['FROM a\nONBUILD COPY --nope a b\n', 2, 'unknown flag "--nope" for COPY'],
      ['FROM\n', 1, 'FROM requires exactly one argument'],
      ['FROM --platform a\n', 1, 'missing a value'],
      ['FROM a\nWORKDIR\n', 2, 'WORKDIR requires exactly one argument'],
      ['FROM a\nSTOPSIGNAL\n', 2, 'STOPSIGNAL requires exactly one argument'],
      ['FROM a\nMAINTAINER\n', 2, 'MAINTAINER requires exactly one argument'],
      ['FROM a\nENV =x\n', 2, 'ENV names can not be blank'],
      ['FROM a\nADD a\n', 2, 'ADD requires at least two arguments'],
      ['FROM a\nADD --link=maybe a b\n', 2, 'expects true or false'],
      ['', 1, 'no build stage'],
      ['ARG IMG=a\nFROM a\nCOPY --from=$IMG /x /y\n', 3, 'variable expansion is not supported for COPY --from="$IMG"'],
    ];
    for (const [text, line, detail] of cases) {
      const err = errorOf(text);
      expect(err.line, text).toBe(line);
      expect(err.message, text).toContain(`Dockerfile:${line}: `);
      expect(err.detail, text).toContain(detail);
    }
  });

  it('returns undefined from tryParseDockerfile on a bad Dockerfile', () => {
    expect(tryParseDockerfile('RUNN x')).toBeUndefined();
    expect(tryParseDockerfile('FROM a')?.stages).toHaveLength(1);
  });

  it('stays fast on a large Dockerfile', () => {
    const body = Array.from({ length: 2000 }, (_, i) => `RUN echo ${i} \\\n  && echo "$HOME" # not a comment\nENV K${i}="v ${i}"`).join('\n');
    const t = performance.now();
    const df = parseDockerfile(`FROM a\n${body}\n`);
    expect(df.stages[0]!.instructions).toHaveLength(4000);
    expect(performance.now() - t).toBeLessThan(2000);
  });
});

describe('hostile input', () => {
  it('reads a directive line of a million blanks in linear time', () => {
    const t = performance.now();
    const df = parseDockerfile(`# syntax=x${' '.repeat(1_000_000)}y\nFROM a\n`);
    expect(df.directives[0]!.value).toBe(`x${' '.repeat(1_000_000)}y`);
    expect(performance.now() - t).toBeLessThan(1000);
  });

  it('refuses durations beyond exact integers', () => {
    expect(() => parseDockerfile('FROM a\nHEALTHCHECK --interval=99999999999h CMD x\n')).toThrow('Dockerfile:2: HEALTHCHECK --interval: Invalid duration "99999999999h": too long');
  });

  it('refuses a NUL byte, naming its line (no program, log or database takes one)', () => {
    expect(() => parseDockerfile('FROM a\nRUN echo \0\n')).toThrow('Dockerfile:2: the line holds a NUL byte: a Dockerfile is text');
    expect(() => parseDockerfile('FROM a\n# c\0\n')).toThrow('Dockerfile:2:');
  });
});

describe('heredoc spellings of newer BuildKit', () => {
  it('accepts blanks between << and the delimiter, and keeps $ in a delimiter', () => {
    const [run, copy, dollar] = parseDockerfile('FROM a\nRUN cat << EOF\nx\nEOF\nCOPY <<  EOT /dst\n\ty\nEOT\nRUN <<$END\nz\n$END\n').stages[0]!.instructions;
    expect(run).toMatchObject({ heredocs: [{ name: 'EOF', content: 'x\n' }] });
    expect(copy).toMatchObject({ sources: [], inline: [{ name: 'EOT', content: '\ty\n' }], destination: '/dst' });
    expect(dollar).toMatchObject({ heredocs: [{ name: '$END', content: 'z\n' }] });
  });

  it('does not take `<<- EOT` (a blank after the dash) as a heredoc, like BuildKit', () => {
    const [copy] = parseDockerfile('FROM a\nCOPY <<- EOT /dst\n').stages[0]!.instructions;
    expect(copy).toMatchObject({ sources: ['<<-', 'EOT'], inline: [] });
  });

  it('reads several heredocs in order, each ended by its own delimiter', () => {
    const [copy] = parseDockerfile('FROM a\nCOPY <<X <<Y /dest\nY\nX\nX\nY\n').stages[0]!.instructions;
    expect(copy).toMatchObject({ inline: [{ name: 'X', content: 'Y\n' }, { name: 'Y', content: 'X\n' }] });
  });
});
