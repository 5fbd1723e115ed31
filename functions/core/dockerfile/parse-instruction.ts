// One logical line → one typed instruction, with Docker's argument rules per instruction.
import { processWord } from './expand';
import type { ParsedFlags } from './flags';
import { commandLine, fail, flagsOf, jsonOrUndefined, jsonOrWords, noFlags, type Request } from './instruction-request';
import type { AddInstruction, ArgDefinition, CopyInstruction, InlineSource, Instruction, KeyValue } from './instructions';
import { parseHeredocWord, type LogicalLine } from './lexer';
import { MountError, parseMount } from './mounts';
import { parsePortSpec, PortSpecError } from './ports';
import { parseHealthcheck } from './parse-healthcheck';
import { splitCommand, splitWords, WHITESPACE } from './shell-words';
import { suggestInstruction } from './suggest';

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

export interface InstructionContext {
  escape: string;
}

/** ENV and LABEL: `K=V K2="v 2"`, or the legacy `K some value` (one pair, rest of the line). */
function keyValues(req: Request): KeyValue[] {
  const words = splitWords(req.rest, req.escape);
  if (words.length === 0) fail(req, `${req.keyword} requires at least one argument`);
  if (!words[0]!.includes('=')) {
    const m = WHITESPACE.exec(req.rest);
    if (!m) fail(req, `${req.keyword} must have two arguments: ${req.keyword} <key>=<value> or ${req.keyword} <key> <value>`);
    return [{ key: req.rest.slice(0, m.index), value: req.rest.slice(m.index + m[0].length) }];
  }
  return words.map((word) => {
    const eq = word.indexOf('=');
    if (eq === -1) fail(req, `${req.keyword} syntax error: can't find = in "${word}"; it must be of the form name=value`);
    if (eq === 0) fail(req, `${req.keyword} names can not be blank: "${word}"`);
    return { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
}

/** True when expansion could not change the word: BuildKit refuses variables in COPY --from. */
function isLiteral(word: string): boolean {
  try {
    return processWord(word, () => undefined).result === word;
  } catch {
    return false;
  }
}

function exactlyOne(req: Request): string {
  if (req.rest === '') fail(req, `${req.keyword} requires exactly one argument`);
  return req.rest;
}

function joinHeredocWords(words: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (/^\d*<<$/.test(w) && i + 1 < words.length - 1) out.push(w + words[++i]!);
    else out.push(w);
  }
  return out;
}

function copyCommon(req: Request, flags: ParsedFlags) {
  const split = jsonOrWords(req);
  const json = split.json;
  // `COPY << EOF /dest`: whitespace splitting separated the heredoc word from its name.
  const words = json ? split.words : joinHeredocWords(split.words);
  if (words.length < 2) fail(req, `${req.keyword} requires at least two arguments (sources and a destination), got ${words.length}`);
  const destination = words[words.length - 1]!;
  if (!json && parseHeredocWord(destination)) fail(req, `${req.keyword} cannot take a heredoc as a destination`);
  const byName = new Map(req.heredocs.map((h) => [h.name, h]));
  const sources: string[] = [];
  const inline: InlineSource[] = [];
  for (const word of words.slice(0, -1)) {
    const doc = json ? undefined : parseHeredocWord(word);
    const body = doc && byName.get(doc.name);
    if (doc && body) inline.push({ name: doc.name, content: body.content, expand: doc.expand, chomp: doc.chomp });
    else sources.push(word);
  }
  const common = {
    ...req.node,
    sources,
    inline,
    destination,
    link: flags.bools.get('link') ?? false,
    exclude: flags.lists.get('exclude') ?? [],
  };
  const chown = flags.strings.get('chown');
  const chmod = flags.strings.get('chmod');
  return { ...common, ...(chown !== undefined && { chown }), ...(chmod !== undefined && { chmod }) };
}

function parseFrom(req: Request): Instruction {
  const flags = flagsOf(req);
  const args = req.rest === '' ? [] : req.rest.split(WHITESPACE);
  let stageName: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    stageName = args[2]!.toLowerCase();
    if (!STAGE_NAME.test(stageName)) fail(req, `invalid stage name "${args[2]}": it must start with a letter and hold only letters, digits, "-", "_" and "."`);
  } else if (args.length !== 1) {
    fail(req, 'FROM requires exactly one argument (or three with AS): FROM [--platform=<platform>] <image> [AS <name>]');
  }
  const platform = flags.strings.get('platform');
  return { kind: 'FROM', ...req.node, image: args[0]!, ...(platform !== undefined && { platform }), ...(stageName && { stageName }) };
}

function parseRun(req: Request): Instruction {
  const flags = flagsOf(req);
  const network = flags.strings.get('network');
  if (network !== undefined && !['default', 'none', 'host'].includes(network)) fail(req, `RUN --network "${network}" is not default, none or host`);
  const security = flags.strings.get('security');
  if (security !== undefined && !['sandbox', 'insecure'].includes(security)) fail(req, `RUN --security "${security}" is not sandbox or insecure`);
  const mounts = (flags.lists.get('mount') ?? []).map((m) => {
    try {
      return parseMount(m);
    } catch (err) {
      if (err instanceof MountError) fail(req, `RUN --mount: ${err.message}`);
      throw err;
    }
  });
  return {
    kind: 'RUN',
    ...req.node,
    command: commandLine(req),
    heredocs: req.heredocs,
    mounts,
    ...(network !== undefined && { network: network as 'default' | 'none' | 'host' }),
    ...(security !== undefined && { security: security as 'sandbox' | 'insecure' }),
  };
}

function parseArg(req: Request): Instruction {
  noFlags(req);
  const words = splitWords(req.rest, req.escape);
  if (words.length === 0) fail(req, 'ARG requires at least one argument');
  const args = words.map((word): ArgDefinition => {
    const eq = word.indexOf('=');
    if (eq === 0) fail(req, `ARG names can not be blank: "${word}"`);
    return eq === -1 ? { key: word } : { key: word.slice(0, eq), value: word.slice(eq + 1) };
  });
  return { kind: 'ARG', ...req.node, args };
}

function parseOnbuild(req: Request): Instruction {
  noFlags(req);
  if (req.rest === '') fail(req, 'ONBUILD requires at least one argument');
  const inner = splitCommand(req.rest);
  const keyword = inner.keyword.toUpperCase();
  if (keyword === 'ONBUILD') fail(req, 'chaining ONBUILD via "ONBUILD ONBUILD" is not allowed');
  if (keyword === 'FROM' || keyword === 'MAINTAINER') fail(req, `${keyword} is not allowed as an ONBUILD trigger`);
  // The image config stores the trigger with its heredoc bodies, so the child build can re-parse it.
  const line = req.node.original.replace(/^\s*ONBUILD\s*/i, '');
  const expression = req.heredocs.reduce((acc, h) => `${acc}\n${h.content}${h.name}`, line);
  const node = { ...req.node, original: line };
  const trigger = parseInstructionRequest({ ...req, node, keyword, written: inner.keyword, flags: inner.flags, rest: inner.rest });
  return { kind: 'ONBUILD', ...req.node, expression, trigger };
}

function parseInstructionRequest(req: Request): Instruction {
  const node = req.node;
  switch (req.keyword) {
    case 'FROM':
      return parseFrom(req);
    case 'RUN':
      return parseRun(req);
    case 'CMD':
    case 'ENTRYPOINT':
      noFlags(req);
      return { kind: req.keyword, ...node, command: commandLine(req) };
    case 'SHELL': {
      noFlags(req);
      const args = jsonOrUndefined(req);
      if (!args) fail(req, `SHELL requires the arguments to be in JSON form: SHELL ["executable", "parameters"], got "${req.rest}"`);
      if (args.length === 0) fail(req, 'SHELL requires at least one argument');
      return { kind: 'SHELL', ...node, shell: args };
    }
    case 'LABEL':
      noFlags(req);
      return { kind: 'LABEL', ...node, labels: keyValues(req) };
    case 'ENV':
      noFlags(req);
      return { kind: 'ENV', ...node, env: keyValues(req) };
    case 'MAINTAINER':
      noFlags(req);
      return { kind: 'MAINTAINER', ...node, maintainer: exactlyOne(req) };
    case 'USER':
      noFlags(req);
      return { kind: 'USER', ...node, user: exactlyOne(req) };
    case 'WORKDIR':
      noFlags(req);
      return { kind: 'WORKDIR', ...node, path: exactlyOne(req) };
    case 'STOPSIGNAL':
      noFlags(req);
      return { kind: 'STOPSIGNAL', ...node, signal: exactlyOne(req) };
    case 'EXPOSE': {
      noFlags(req);
      const ports = req.rest === '' ? [] : req.rest.split(WHITESPACE);
      if (ports.length === 0) fail(req, 'EXPOSE requires at least one argument');
      for (const p of ports) {
        if (p.includes('$')) continue; // checked once expanded
        try {
          parsePortSpec(p);
        } catch (err) {
          if (err instanceof PortSpecError) fail(req, `EXPOSE: ${err.message}`);
          throw err;
        }
      }
      return { kind: 'EXPOSE', ...node, ports };
    }
    case 'VOLUME': {
      noFlags(req);
      const words = jsonOrWords(req).words.map((w) => w.trim());
      if (words.length === 0) fail(req, 'VOLUME requires at least one argument');
      if (words.some((w) => w === '')) fail(req, 'VOLUME specified can not be an empty string');
      return { kind: 'VOLUME', ...node, paths: words };
    }
    case 'COPY': {
      const flags = flagsOf(req);
      const from = flags.strings.get('from');
      if (from !== undefined && !isLiteral(from)) {
        fail(req, `variable expansion is not supported for COPY --from="${from}": define a stage with FROM using a global ARG, and copy from that stage`);
      }
      const copy: CopyInstruction = { kind: 'COPY', ...copyCommon(req, flags), parents: flags.bools.get('parents') ?? false };
      if (from !== undefined) copy.from = from;
      return copy;
    }
    case 'ADD': {
      const flags = flagsOf(req);
      const add: AddInstruction = { kind: 'ADD', ...copyCommon(req, flags), keepGitDir: flags.bools.get('keep-git-dir') ?? false };
      const checksum = flags.strings.get('checksum');
      if (checksum !== undefined) add.checksum = checksum;
      const unpack = flags.bools.get('unpack');
      if (unpack !== undefined) add.unpack = unpack;
      return add;
    }
    case 'ARG':
      return parseArg(req);
    case 'ONBUILD':
      return parseOnbuild(req);
    case 'HEALTHCHECK':
      return parseHealthcheck(req);
    default:
      fail(req, `unknown instruction "${req.written}"${suggestInstruction(req.keyword)}`);
  }
}

export function parseInstruction(line: LogicalLine, context: InstructionContext): Instruction {
  return parseInstructionRequest({
    node: { line: line.line, endLine: line.endLine, original: line.original },
    keyword: line.keyword.toUpperCase(),
    written: line.keyword,
    flags: line.flags,
    rest: line.rest,
    heredocs: line.heredocs,
    escape: context.escape,
  });
}
