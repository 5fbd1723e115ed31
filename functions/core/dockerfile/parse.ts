// Dockerfile text → directives, meta-args (ARGs before the first FROM) and build stages.
// Nothing is expanded here: that needs the ARG/ENV scope of a build (scope.ts).
import { DockerfileError } from './errors';
import type { ArgInstruction, FromInstruction, Instruction } from './instructions';
import { scanDockerfile, type Directive } from './lexer';
import { parseInstruction } from './parse-instruction';

export interface Stage {
  /** Position in the Dockerfile, from 0: what `COPY --from=0` names. */
  index: number;
  /** The `AS` name, lowercased. */
  name?: string;
  /** The base as written: an image reference, an earlier stage's name, or `scratch`; may hold `$ARGS`. */
  from: string;
  /** --platform as written. */
  platform?: string;
  /** The FROM instruction's first line to the stage's last instruction's last line. */
  line: number;
  endLine: number;
  /** The FROM itself, with its source text. */
  fromInstruction: FromInstruction;
  /** The instructions after FROM. */
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directive[];
  /** The escape character in effect (`\` or a backtick from `# escape=`). */
  escape: string;
  /** ARG instructions before the first FROM: usable in FROM lines, and in stages that redeclare them. */
  metaArgs: ArgInstruction[];
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  // No program takes a NUL in an argument, and no log or database stores one: refuse it here.
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new DockerfileError(text.slice(0, nul).split('\n').length, 'the line holds a NUL byte: a Dockerfile is text');
  const scanned = scanDockerfile(text);
  if (scanned.lines.length === 0) throw new DockerfileError(1, 'the Dockerfile has no instructions: no build stage');
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  for (const line of scanned.lines) {
    const instruction = parseInstruction(line, { escape: scanned.escape });
    if (instruction.kind === 'FROM') {
      if (instruction.stageName !== undefined) {
        const earlier = names.get(instruction.stageName);
        if (earlier !== undefined) throw new DockerfileError(instruction.line, `duplicate stage name "${instruction.stageName}": line ${earlier} already uses it`);
        names.set(instruction.stageName, instruction.line);
      }
      const stage: Stage = {
        index: stages.length,
        from: instruction.image,
        line: instruction.line,
        endLine: instruction.endLine,
        fromInstruction: instruction,
        instructions: [],
      };
      if (instruction.stageName !== undefined) stage.name = instruction.stageName;
      if (instruction.platform !== undefined) stage.platform = instruction.platform;
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (instruction.kind === 'ARG') {
        metaArgs.push(instruction);
        continue;
      }
      throw new DockerfileError(instruction.line, `${instruction.kind} before the first FROM: no build stage in current context (only ARG may come before FROM)`);
    }
    current.instructions.push(instruction);
    current.endLine = instruction.endLine;
  }
  if (stages.length === 0) throw new DockerfileError(metaArgs[0]?.line ?? 1, 'no build stage: the Dockerfile has no FROM');
  return { directives: scanned.directives, escape: scanned.escape, metaArgs, stages };
}

export function tryParseDockerfile(text: string): Dockerfile | undefined {
  try {
    return parseDockerfile(text);
  } catch (err) {
    if (err instanceof DockerfileError) return undefined;
    throw err;
  }
}
