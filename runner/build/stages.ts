// Which stages of a Dockerfile of them a build needs: the target and everything it reaches
// through FROM <stage>, COPY --from and RUN --mount from=. Stages the target does not reach are
// skipped, as BuildKit does. Pure.
import { expandWord, lookupFrom } from '../../functions/core/dockerfile/expand';
import type { Dockerfile, Stage } from '../../functions/core/dockerfile/parse';

export class BuildPlanError extends Error {
  override name = 'BuildPlanError';
}

/** A stage by name (case-insensitive) or index as written in `--from`/FROM; undefined when it is an image. */
export function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  const byName = stages.find((s) => s.name === lower && s.index < before);
  if (byName) return byName;
  if (/^\d+$/.test(ref)) {
    const i = Number(ref);
    if (i >= before) throw new BuildPlanError(`Cannot use stage ${i}: a stage can only refer to an earlier one`);
    return stages[i];
  }
  return undefined;
}

export function targetStageIndex(stages: Stage[], target?: string): number {
  if (!target) return stages.length - 1;
  const s = stages.find((st) => st.name === target.toLowerCase());
  if (!s) throw new BuildPlanError(`Cannot build target "${target}": no stage has that name (stages: ${stages.map((x) => x.name ?? x.index).join(', ')})`);
  return s.index;
}

/** A stage lookup whose error names the line that asked for it. */
function stageAt(line: number, find: () => Stage | undefined): Stage | undefined {
  try {
    return find();
  } catch (err) {
    throw new BuildPlanError(`Dockerfile:${line}: ${(err as Error).message}`);
  }
}

/** The stage indexes the target needs, in build order. */
export function neededStages(dockerfile: Dockerfile, target: string | undefined, metaArgValues: Map<string, string>): number[] {
  const { stages } = dockerfile;
  const lookup = lookupFrom(metaArgValues);
  const needed = new Set<number>();
  const visit = (i: number) => {
    if (needed.has(i)) return;
    needed.add(i);
    const st = stages[i]!;
    const base = stageAt(st.line, () => findStage(stages, expandWord(st.from, lookup, dockerfile.escape), i));
    if (base) visit(base.index);
    for (const ins of st.instructions) {
      const refs: string[] = [];
      if (ins.kind === 'COPY' && ins.from) refs.push(ins.from);
      if (ins.kind === 'RUN') for (const m of ins.mounts) if (m.from) refs.push(m.from);
      for (const r of refs) {
        const dep = stageAt(ins.line, () => findStage(stages, expandWord(r, lookup, dockerfile.escape), i));
        if (dep) visit(dep.index);
      }
    }
  };
  visit(targetStageIndex(stages, target));
  return [...needed].sort((a, b) => a - b);
}
