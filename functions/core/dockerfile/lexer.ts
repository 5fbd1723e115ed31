// Source text → logical lines, the way Docker's parser reads a Dockerfile: parser directives at
// the top, comments (also inside continuations), continuation with the escape character (trailing
// whitespace after it allowed), empty continuation lines skipped, heredoc bodies collected.
import { DockerfileError } from './errors';
import { processWord } from './expand';
import { splitCommand, tryParseJsonArray, type SplitCommand } from './shell-words';

export type DirectiveName = 'syntax' | 'escape' | 'check';

export interface Directive {
  name: DirectiveName;
  value: string;
  line: number;
}

export interface Heredoc {
  /** The delimiter word with quotes removed: `EOF` for `<<"EOF"`. */
  name: string;
  /** The body exactly as written, each line ending in `\n`, leading tabs kept even for `<<-`. */
  content: string;
  /** False when any part of the delimiter was quoted: the body is then not expanded. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** The file descriptor before `<<` (`3<<EOF`), 0 when none. */
  fileDescriptor: number;
}

export interface LogicalLine extends SplitCommand {
  line: number;
  endLine: number;
  /** The instruction with continuations joined and comments removed (Docker's "original"). */
  original: string;
  heredocs: Heredoc[];
}

export interface ScannedDockerfile {
  directives: Directive[];
  escape: string;
  lines: LogicalLine[];
}

// The value is trimmed by hand (trimEndBlanks): a regex for it is quadratic on a line of blanks.
const DIRECTIVE = /^#[ \t]*([a-zA-Z][a-zA-Z0-9]*)[ \t]*=[ \t]*(.*)$/;
const KNOWN_DIRECTIVES = new Set<string>(['syntax', 'escape', 'check']);
const HEREDOC_WORD = /^(\d*)<<(-?)\s*([^<]*)$/;
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);

/** Without a regex: `/[ \t]+$/` backtracks quadratically over a long run of blanks. */
function trimEndBlanks(s: string): string {
  let end = s.length;
  while (end > 0 && (s[end - 1] === ' ' || s[end - 1] === '\t')) end--;
  return s.slice(0, end);
}

/** Go's trimNewline: every trailing CR goes (CRLF files, and stray CRs before the newline). */
function trimEndCarriageReturns(s: string): string {
  let end = s.length;
  while (end > 0 && s[end - 1] === '\r') end--;
  return s.slice(0, end);
}

function isComment(line: string): boolean {
  return /^\s*#/u.test(line);
}

function continuationPattern(escape: string): RegExp {
  return new RegExp(`\\${escape}[ \\t]*$`);
}

/** Reads a heredoc word (`<<EOF`, `<<-"EOF"`, `3<<EOF`, `<< EOF`); undefined when the word is not one. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m || m[3] === '') return undefined;
  const rest = m[3]!;
  // Lexing the delimiter with and without quotes tells whether any part of it was quoted.
  let plain: string[];
  let raw: string[];
  try {
    plain = processWord(rest, () => undefined, { skipUnset: true }).words;
    raw = processWord(rest, () => undefined, { skipUnset: true, rawQuotes: true }).words;
  } catch {
    return undefined;
  }
  if (plain.length !== 1 || raw.length !== 1) return undefined;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return {
    name: plain[0]!,
    expand: quotes(plain[0]!) === quotes(raw[0]!),
    chomp: m[2] === '-',
    fileDescriptor: m[1] ? Number(m[1]) : 0,
  };
}

function heredocWords(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    // Unset variables stay as written so `<<$EOF` keeps its name, as BuildKit does.
    words = processWord(line, () => undefined, { rawQuotes: true, rawEscapes: true, skipUnset: true, heredocWords: true }).words;
  } catch {
    return []; // an unbalanced quote: Docker finds no heredoc either
  }
  return words.flatMap((w) => parseHeredocWord(w) ?? []);
}

/** RUN, COPY and ADD (also as an ONBUILD trigger) take heredocs, unless written in JSON form. */
function canContainHeredoc(cmd: SplitCommand): boolean {
  let c = cmd;
  if (c.keyword.toLowerCase() === 'onbuild') c = splitCommand(c.rest);
  if (!HEREDOC_INSTRUCTIONS.has(c.keyword.toLowerCase())) return false;
  try {
    return tryParseJsonArray(c.rest) === undefined;
  } catch {
    return false;
  }
}

export function scanDockerfile(text: string): ScannedDockerfile {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const rows = source.split('\n').map(trimEndCarriageReturns);
  if (rows.length > 0 && rows[rows.length - 1] === '' && source.endsWith('\n')) rows.pop();

  const directives: Directive[] = [];
  let directivesDone = false;
  let escape = '\\';
  let continuation = continuationPattern(escape);
  const lines: LogicalLine[] = [];

  const readDirective = (row: string, lineNo: number) => {
    if (directivesDone) return;
    const m = DIRECTIVE.exec(row);
    const name = m?.[1]?.toLowerCase();
    const value = trimEndBlanks(m?.[2] ?? '');
    if (!m || !name || value === '' || !KNOWN_DIRECTIVES.has(name)) {
      directivesDone = true;
      return;
    }
    if (directives.some((d) => d.name === name)) throw new DockerfileError(lineNo, `only one ${name} parser directive can be used`);
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') throw new DockerfileError(lineNo, `invalid escape token "${value}": it must be \` or \\`);
      escape = value;
      continuation = continuationPattern(escape);
    }
    directives.push({ name: name as DirectiveName, value, line: lineNo });
  };

  let i = 0;
  while (i < rows.length) {
    const startLine = i + 1;
    const first = rows[i]!.replace(/^\s+/u, '');
    i++;
    readDirective(first, startLine);
    if (isComment(first)) continue;

    let joined = first;
    let ended = !continuation.test(joined);
    if (!ended) joined = joined.replace(continuation, '');
    if (ended && joined === '') continue;
    while (!ended && i < rows.length) {
      const row = rows[i]!;
      i++;
      if (isComment(row)) continue;
      if (row.trim() === '') continue; // an empty continuation line (Docker only warns)
      ended = !continuation.test(row);
      joined += ended ? row : row.replace(continuation, '');
    }

    const cmd = splitCommand(joined);
    const heredocs: Heredoc[] = [];
    if (joined.includes('<<') && canContainHeredoc(cmd)) {
      for (const doc of heredocWords(joined)) {
        let content = '';
        let terminated = false;
        while (i < rows.length) {
          const row = rows[i]!;
          i++;
          const candidate = doc.chomp ? row.replace(/^\t+/, '') : row;
          if (candidate === doc.name) {
            terminated = true;
            break;
          }
          content += `${row}\n`;
        }
        if (!terminated) throw new DockerfileError(startLine, `unterminated heredoc: no line "${doc.name}" ends the heredoc`);
        heredocs.push({ ...doc, content });
      }
    }
    lines.push({ ...cmd, line: startLine, endLine: i, original: joined, heredocs });
  }
  return { directives, escape, lines };
}

/** The body of a `<<-` heredoc with each line's leading tabs removed. */
export function chompHeredocContent(content: string): string {
  return content.replace(/^\t+/gm, '');
}
