// Evaluation of the npm package dockerfile-ast against Berth's golden Dockerfile cases, as issue 3
// asks before writing our own parser. Run: npx tsx test/bench/dockerfile-parsers.ts [-v]
//
// Each case is reduced to "facts" a builder needs: every instruction's keyword and line span, exec
// vs shell form and the exact command, heredoc bodies, ENV/LABEL pairs with quotes resolved, flags,
// COPY sources/destination, HEALTHCHECK config, ONBUILD triggers; for a bad Dockerfile, the line of
// the error. A parser passes a case when its facts equal those of the reviewed expected.json.
// dockerfile-ast is a language-server AST: where it only gives raw text (mount specs, durations) we
// run our own small helpers on it, which only helps it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Arg,
  DockerfileParser,
  Healthcheck,
  type Instruction as AstInstruction,
  JSONInstruction,
  ModifiableInstruction,
  Onbuild,
  PropertyInstruction,
} from 'dockerfile-ast';
import { parseGoDuration } from '../../functions/core/dockerfile/duration';
import { DockerfileError } from '../../functions/core/dockerfile/errors';
import { processWord } from '../../functions/core/dockerfile/expand';
import type { Instruction } from '../../functions/core/dockerfile/instructions';
import { parseMount } from '../../functions/core/dockerfile/mounts';
import { parseDockerfile, type Dockerfile } from '../../functions/core/dockerfile/parse';

const casesDir = join(import.meta.dirname, '..', 'functions', 'core', 'dockerfile', 'cases');
const verbose = process.argv.includes('-v');

type Golden = { dockerfile: Dockerfile } | { error: { line: number; message: string } };

/** Quotes and escapes resolved, `$VARS` kept: what a value means before its scope is known. */
function resolve(word: string, escape: string): string {
  try {
    return processWord(word, () => undefined, { escape, skipUnset: true }).result;
  } catch {
    return `<invalid ${word}>`;
  }
}

function flagFacts(flags: Record<string, string | string[] | boolean | undefined>): string[] {
  return Object.entries(flags)
    .filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `--${k}=${Array.isArray(v) ? v.join('|') : String(v)}`)
    .sort();
}

function ourInstructionFacts(i: Instruction, escape: string): string[] {
  const head = `${i.kind}@${i.line}-${i.endLine}`;
  const cmd = (c: { form: string; args?: string[]; command?: string }) => (c.form === 'exec' ? `exec:${JSON.stringify(c.args)}` : `shell:${c.command}`);
  switch (i.kind) {
    case 'FROM':
      return [head, `image=${i.image}`, `as=${i.stageName ?? ''}`, ...flagFacts({ platform: i.platform })];
    case 'RUN':
      return [
        head,
        cmd(i.command),
        ...i.heredocs.map((h) => `heredoc:${h.name}=${h.content}`),
        ...flagFacts({ network: i.network, security: i.security }),
        ...i.mounts.map((m) => `mount:${JSON.stringify(m)}`),
      ];
    case 'CMD':
    case 'ENTRYPOINT':
      return [head, cmd(i.command)];
    case 'SHELL':
      return [head, `exec:${JSON.stringify(i.shell)}`];
    case 'ENV':
      return [head, ...i.env.map((kv) => `${resolve(kv.key, escape)}=${resolve(kv.value, escape)}`)];
    case 'LABEL':
      return [head, ...i.labels.map((kv) => `${resolve(kv.key, escape)}=${resolve(kv.value, escape)}`)];
    case 'ARG':
      return [head, ...i.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`))];
    case 'COPY':
    case 'ADD':
      return [
        head,
        ...flagFacts({
          from: i.kind === 'COPY' ? i.from : undefined,
          chown: i.chown,
          chmod: i.chmod,
          link: i.link,
          parents: i.kind === 'COPY' ? i.parents : undefined,
          exclude: i.exclude,
          checksum: i.kind === 'ADD' ? i.checksum : undefined,
          'keep-git-dir': i.kind === 'ADD' ? i.keepGitDir : undefined,
        }),
        `src=${JSON.stringify(i.sources)}`,
        `dest=${i.destination}`,
        ...i.inline.map((h) => `heredoc:${h.name}=${h.content}`),
      ];
    case 'EXPOSE':
      return [head, ...i.ports];
    case 'VOLUME':
      return [head, ...i.paths];
    case 'USER':
      return [head, i.user];
    case 'WORKDIR':
      return [head, i.path];
    case 'STOPSIGNAL':
      return [head, i.signal];
    case 'MAINTAINER':
      return [head, i.maintainer];
    case 'HEALTHCHECK':
      return [head, JSON.stringify(i.health)];
    case 'ONBUILD':
      return [head, 'trigger', ...ourInstructionFacts(i.trigger, escape).slice(1)];
  }
}

function ourFacts(golden: Golden): string[] {
  if ('error' in golden) return [`error@${golden.error.line}`];
  const df = golden.dockerfile;
  const all: Instruction[] = [...df.metaArgs];
  for (const s of df.stages) all.push(s.fromInstruction, ...s.instructions);
  all.sort((a, b) => a.line - b.line);
  return [`escape=${df.escape}`, ...all.flatMap((i) => ourInstructionFacts(i, df.escape))];
}

function astFacts(text: string): string[] {
  const df = DockerfileParser.parse(text);
  const rows = text.replace(/^\uFEFF/, '').split('\n').map((r) => r.replace(/\r$/, ''));
  const escape = df.getEscapeCharacter();
  const flagsOf = (i: AstInstruction): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    if (i instanceof ModifiableInstruction) for (const f of i.getFlags()) (out[f.getName()] ??= []).push(f.getValue() ?? 'true');
    return out;
  };
  const heredocs = (i: AstInstruction): string[] => {
    const getter = (i as unknown as { getHeredocs?: () => { getName(): string; getContentRange(): { start: { line: number }; end: { line: number } } | null }[] }).getHeredocs;
    if (!getter) return [];
    return getter.call(i).map((h) => {
      const r = h.getContentRange();
      const body = r ? `${rows.slice(r.start.line, r.end.line + 1).join('\n')}\n` : '';
      return `heredoc:${h.getName()}=${body}`;
    });
  };
  const commandFact = (i: AstInstruction): string => {
    if (i instanceof JSONInstruction && i.getOpeningBracket() && i.getClosingBracket()) return `exec:${JSON.stringify(i.getJSONStrings().map((s) => s.getJSONValue()))}`;
    const content = i.getArgumentsContent() ?? '';
    return `shell:${heredocs(i).length ? content.split('\n')[0] : content}`;
  };
  const facts = (i: AstInstruction, head: string): string[] => {
    const kw = i.getKeyword().toUpperCase();
    const flags = flagsOf(i);
    const one = (k: string) => flags[k]?.[0];
    const args = i.getArguments().map((a) => a.getValue());
    switch (kw) {
      case 'FROM':
        return [head, `image=${args[0] ?? ''}`, `as=${args.length === 3 ? args[2]!.toLowerCase() : ''}`, ...flagFacts({ platform: one('platform') })];
      case 'RUN':
        return [
          head,
          commandFact(i),
          ...heredocs(i),
          ...flagFacts({ network: one('network'), security: one('security') }),
          ...(flags.mount ?? []).map((m) => {
            try {
              return `mount:${JSON.stringify(parseMount(m))}`;
            } catch {
              return `mount:<invalid ${m}>`;
            }
          }),
        ];
      case 'CMD':
      case 'ENTRYPOINT':
      case 'SHELL':
        return [head, commandFact(i)];
      case 'ENV':
      case 'LABEL':
        return [head, ...(i instanceof PropertyInstruction ? i.getProperties().map((p) => `${p.getName()}=${p.getValue() ?? ''}`) : [])];
      case 'ARG':
        return [head, ...(i instanceof Arg ? args : [])];
      case 'COPY':
      case 'ADD': {
        const json = i instanceof JSONInstruction && i.getOpeningBracket() && i.getClosingBracket();
        const words = json ? (i as JSONInstruction).getJSONStrings().map((s) => s.getJSONValue()) : args.filter((a) => !a.startsWith('--'));
        const docs = heredocs(i);
        const paths = docs.length ? words.slice(0, words.findIndex((w) => !w.startsWith('<<') && w !== words.find((x) => x.startsWith('<<'))) + 1) : words;
        const pathWords = docs.length ? paths.filter((w) => !w.startsWith('<<')) : words;
        const bool = (k: string) => (one(k) === undefined || one(k) === 'false' ? undefined : true);
        return [
          head,
          ...flagFacts({
            from: one('from'),
            chown: one('chown'),
            chmod: one('chmod'),
            link: bool('link'),
            parents: bool('parents'),
            exclude: flags.exclude,
            checksum: one('checksum'),
            'keep-git-dir': bool('keep-git-dir'),
          }),
          `src=${JSON.stringify(pathWords.slice(0, -1))}`,
          `dest=${pathWords[pathWords.length - 1] ?? ''}`,
          ...docs,
        ];
      }
      case 'EXPOSE':
      case 'VOLUME':
        return [head, ...(i instanceof JSONInstruction && i.getOpeningBracket() && i.getClosingBracket() ? i.getJSONStrings().map((s) => s.getJSONValue()) : args)];
      case 'USER':
      case 'WORKDIR':
      case 'STOPSIGNAL':
      case 'MAINTAINER':
        return [head, i.getArgumentsContent() ?? ''];
      case 'HEALTHCHECK': {
        const sub = i instanceof Healthcheck ? i.getSubcommand()?.getValue().toUpperCase() : undefined;
        if (sub === 'NONE') return [head, JSON.stringify({ Test: ['NONE'] })];
        const c = commandFact(i);
        const health: Record<string, unknown> = {};
        const afterCmd = (i.getArgumentsContent() ?? '').replace(/^[\s\S]*?\bCMD\s+/i, '');
        health.Test = c.startsWith('exec:') ? ['CMD', ...(JSON.parse(c.slice(5)) as string[])] : ['CMD-SHELL', afterCmd];
        const durations: [string, string][] = [
          ['interval', 'Interval'],
          ['timeout', 'Timeout'],
          ['start-period', 'StartPeriod'],
          ['start-interval', 'StartInterval'],
        ];
        for (const [flag, field] of durations) {
          const v = one(flag);
          if (v) health[field] = tryDuration(v);
        }
        if (one('retries')) health.Retries = Number(one('retries'));
        return [head, JSON.stringify(health)];
      }
      case 'ONBUILD': {
        const t = i instanceof Onbuild ? i.getTriggerInstruction() : null;
        return t ? [head, 'trigger', ...facts(t, '').slice(1)] : [head, 'trigger:none'];
      }
      default:
        return [`${kw}@?`];
    }
  };
  return [
    `escape=${escape}`,
    ...df.getInstructions().flatMap((i) => {
      const r = i.getRange();
      return facts(i, `${i.getKeyword().toUpperCase()}@${r.start.line + 1}-${r.end.line + 1}`);
    }),
  ];
}

function tryDuration(v: string): number | string {
  try {
    return parseGoDuration(v);
  } catch {
    return `<invalid ${v}>`;
  }
}

function ownFacts(text: string): string[] {
  try {
    return ourFacts({ dockerfile: parseDockerfile(text) });
  } catch (err) {
    if (err instanceof DockerfileError) return ourFacts({ error: { line: err.line, message: err.message } });
    throw err;
  }
}

function main(): void {
  const names = readdirSync(casesDir).sort();
  const score = { ast: { valid: 0, errors: 0 }, own: { valid: 0, errors: 0 } };
  let validCases = 0;
  let errorCases = 0;
  const astFailures: string[] = [];
  for (const name of names) {
    const text = readFileSync(join(casesDir, name, 'Dockerfile'), 'utf8');
    const golden = JSON.parse(readFileSync(join(casesDir, name, 'expected.json'), 'utf8')) as Golden;
    const expected = JSON.stringify(ourFacts(golden));
    const bucket = 'error' in golden ? 'errors' : 'valid';
    if (bucket === 'errors') errorCases++;
    else validCases++;
    let ast: string[];
    try {
      ast = astFacts(text);
    } catch (err) {
      ast = [`crash: ${(err as Error).message}`];
    }
    if (JSON.stringify(ast) === expected) score.ast[bucket]++;
    else {
      const exp = ourFacts(golden);
      const firstDiff = exp.findIndex((f, k) => ast[k] !== f);
      astFailures.push(`${name}: expected ${JSON.stringify(exp[firstDiff] ?? '<end>')}, dockerfile-ast gave ${JSON.stringify(ast[firstDiff] ?? '<end>')}`);
    }
    if (JSON.stringify(ownFacts(text)) === expected) score.own[bucket]++;
  }
  const total = validCases + errorCases;
  console.log(`golden cases: ${total} (${validCases} valid Dockerfiles, ${errorCases} that must be refused with the line)`);
  for (const [who, s] of Object.entries(score)) {
    const label = who === 'ast' ? 'dockerfile-ast 0.7.1' : 'berth parser';
    console.log(`${label.padEnd(22)} ${s.valid + s.errors}/${total} passed (valid ${s.valid}/${validCases}, errors ${s.errors}/${errorCases})`);
  }
  if (verbose) for (const f of astFailures) console.log(`  ${f.replace(/\n/g, '\\n').slice(0, 300)}`);
}

main();
