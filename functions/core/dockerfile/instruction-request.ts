// What every instruction parser works from, and the checks they share: flags against what the
// instruction accepts, exec vs shell form, JSON arrays that fall back to words.
import { DockerfileError } from './errors';
import { FlagError, parseFlags, type FlagSpec, type ParsedFlags } from './flags';
import type { CommandLine, SourceNode } from './instructions';
import type { Heredoc } from './lexer';
import { NotStringArrayError, tryParseJsonArray, WHITESPACE } from './shell-words';

/** The flags each instruction accepts; the others accept none. */
export const FLAGS: Record<string, FlagSpec> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'strings', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  ADD: { chown: 'string', chmod: 'string', link: 'bool', 'keep-git-dir': 'bool', checksum: 'string', exclude: 'strings', unpack: 'bool' },
  HEALTHCHECK: { interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string' },
};

/** One instruction line, split, with what its parser needs. */
export interface Request {
  node: SourceNode;
  /** Uppercased; `written` keeps the case the author used, for messages. */
  keyword: string;
  written: string;
  flags: string[];
  rest: string;
  heredocs: Heredoc[];
  escape: string;
}

export function fail(req: Request, detail: string): never {
  throw new DockerfileError(req.node.line, detail);
}

export function flagsOf(req: Request): ParsedFlags {
  try {
    return parseFlags(req.keyword, req.flags, FLAGS[req.keyword] ?? {});
  } catch (err) {
    if (err instanceof FlagError) fail(req, err.message);
    throw err;
  }
}

/** parseMaybeJSON: exec form when `rest` is a JSON string array, else shell form. */
export function commandLine(req: Request): CommandLine {
  const args = jsonOrUndefined(req);
  return args ? { form: 'exec', args } : { form: 'shell', command: req.rest };
}

export function jsonOrUndefined(req: Request): string[] | undefined {
  try {
    return tryParseJsonArray(req.rest);
  } catch (err) {
    if (err instanceof NotStringArrayError) fail(req, `${req.keyword}: ${err.message}`);
    throw err;
  }
}

/** parseMaybeJSONToList: a JSON array, or words split on whitespace (quotes are not special). */
export function jsonOrWords(req: Request): { words: string[]; json: boolean } {
  const json = jsonOrUndefined(req);
  if (json) return { words: json, json: true };
  return { words: req.rest === '' ? [] : req.rest.split(WHITESPACE), json: false };
}

export function noFlags(req: Request): void {
  flagsOf(req);
}
