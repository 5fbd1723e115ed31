// Which parts of which instruction Docker expands — the reference's "Environment replacement" list:
// ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (and ONBUILD triggers of
// those, when they run in the child image). RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK are left to
// the shell at run time; ARG values are expanded by scope.ts as it walks the stage. BuildKit also
// expands --chown, --chmod, ADD --checksum and the --mount fields, but not COPY --from (refused at
// parse time when it holds a variable), a mount's from=, nor --exclude patterns.
// EXPOSE alone splits its expanded words.
import { DockerfileError, ExpansionError } from './errors';
import { expandWord, expandWords, processWord, type EnvLookup } from './expand';
import type { FromInstruction, Instruction, Mount } from './instructions';

function guard<T>(line: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ExpansionError) throw new DockerfileError(line, err.message);
    throw err;
  }
}

/** The FROM image and --platform, in the global scope (meta-args and automatic platform args). */
export function expandFrom(from: FromInstruction, global: EnvLookup, escape = '\\'): FromInstruction {
  return guard(from.line, () => {
    const out: FromInstruction = { ...from, image: expandWord(from.image, global, escape) };
    if (from.platform !== undefined) out.platform = expandWord(from.platform, global, escape);
    return out;
  });
}

function expandMount(mount: Mount, x: (s: string) => string): Mount {
  const out: Mount = { ...mount };
  for (const key of ['target', 'source', 'id', 'mode', 'uid', 'gid', 'size', 'env'] as const) {
    const v = mount[key];
    if (v !== undefined) out[key] = x(v);
  }
  return out;
}

/** A copy of the instruction with Docker's expansion applied in `lookup` (from computeStageScopes). */
export function expandInstruction(instruction: Instruction, lookup: EnvLookup, escape = '\\'): Instruction {
  const x = (word: string) => expandWord(word, lookup, escape);
  const opt = (word: string | undefined) => (word === undefined ? undefined : x(word));
  return guard(instruction.line, (): Instruction => {
    switch (instruction.kind) {
      case 'FROM':
        return expandFrom(instruction, lookup, escape);
      case 'ENV':
        return { ...instruction, env: instruction.env.map(({ key, value }) => ({ key: x(key), value: x(value) })) };
      case 'LABEL':
        return { ...instruction, labels: instruction.labels.map(({ key, value }) => ({ key: x(key), value: x(value) })) };
      case 'EXPOSE':
        return { ...instruction, ports: instruction.ports.flatMap((p) => expandWords(p, lookup, escape)) };
      case 'STOPSIGNAL':
        return { ...instruction, signal: x(instruction.signal) };
      case 'USER':
        return { ...instruction, user: x(instruction.user) };
      case 'WORKDIR':
        return { ...instruction, path: x(instruction.path) };
      case 'VOLUME':
        return { ...instruction, paths: instruction.paths.map(x) };
      case 'ADD':
      case 'COPY': {
        const out = {
          ...instruction,
          sources: instruction.sources.map(x),
          destination: x(instruction.destination),
          // A heredoc body is expanded unless its delimiter was quoted; quotes in it are text.
          inline: instruction.inline.map((s) => (s.expand ? { ...s, content: processWord(s.content, lookup, { escape, skipQuotes: true }).result } : s)),
        };
        if (instruction.chown !== undefined) out.chown = opt(instruction.chown);
        if (instruction.chmod !== undefined) out.chmod = opt(instruction.chmod);
        if (out.kind === 'ADD' && out.checksum !== undefined) out.checksum = x(out.checksum);
        return out;
      }
      case 'RUN':
        return { ...instruction, mounts: instruction.mounts.map((m) => expandMount(m, x)) };
      default:
        return instruction;
    }
  });
}
