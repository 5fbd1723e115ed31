// Naming stages the way `--target`, `FROM <stage>` and `COPY --from=` do: by AS name (case
// insensitive) or by index; anything else is an image.
import type { Dockerfile, Stage } from './parse';

/** The stage a `COPY --from`/`FROM` value names, if it is one. An index only counts when given as digits. */
export function findStage(dockerfile: Dockerfile, ref: string, before = dockerfile.stages.length): Stage | undefined {
  const name = ref.toLowerCase();
  const byName = dockerfile.stages.slice(0, before).find((s) => s.name === name);
  if (byName) return byName;
  if (/^[0-9]+$/.test(ref)) return dockerfile.stages.slice(0, before)[Number(ref)];
  return undefined;
}

/** The stage FROM builds on when its (expanded) base names an earlier stage, else undefined (an image or scratch). */
export function baseStage(dockerfile: Dockerfile, stage: Stage, expandedFrom = stage.from): Stage | undefined {
  const name = expandedFrom.toLowerCase();
  return dockerfile.stages.slice(0, stage.index).find((s) => s.name === name);
}

/** A build asked for a stage the Dockerfile does not have: the request's fault, not a line's. */
export class TargetStageError extends Error {
  override name = 'TargetStageError';
}

/** The stage `--target` selects; the last one without a target. */
export function targetStage(dockerfile: Dockerfile, target?: string): Stage {
  if (target === undefined || target === '') return dockerfile.stages[dockerfile.stages.length - 1]!;
  const stage = dockerfile.stages.find((s) => s.name === target.toLowerCase());
  if (!stage) {
    const names = dockerfile.stages.flatMap((s) => (s.name ? [`"${s.name}"`] : []));
    throw new TargetStageError(`Target stage "${target}" could not be found${names.length ? `: the stages are ${names.join(', ')}` : ': no stage has a name'}`);
  }
  return stage;
}
