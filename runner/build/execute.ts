// The executor: stages in order, each instruction either a config change (no layer) or a layer step,
// every layer step keyed in the shared build cache first; then the image config and manifest stored
// as blobs and the tags recorded. A build with nothing changed runs nothing and uploads nothing.
import { expandWord } from '../../functions/core/dockerfile/expand';
import { parseDockerfile, type Stage } from '../../functions/core/dockerfile/parse';
import { computeStageScopes, platformArgs, resolveMetaArgs } from '../../functions/core/dockerfile/scope';
import type { Instruction } from '../../functions/core/dockerfile/instructions';
import type { ImageConfig, History } from '../../functions/core/oci/types';
import { findCacheEntries, touchCacheEntries } from '../../db/queries/build-cache';
import { resolveBaseImage } from '../image/base-images';
import { publishImage, type BuiltLayer } from '../image/registry-images';
import { baseCacheKey, nextCacheKey } from './cache-key';
import { atDockerfileLine, BuildStepError, throwIfCancelled, type BuilderEnv, type BuildRequest, type StageResult } from './build-env';
import { evaluateInstruction, initialState } from './step-state';
import { findStage, neededStages } from './stages';
import { runLayerStep } from './layer-step';
import { executeRun } from './run-step';
import { digestCopySources, executeCopy, mountFromTree } from './copy-step';

/** Manifest annotation listing the cache key of each layer, so the image can serve as --cache-from. */
export const CACHE_KEYS_ANNOTATION = 'org.berth.cache.keys';

const BUILD_PLATFORM = { os: 'linux', architecture: 'amd64' };

const SCRATCH_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Cache entries carried by --cache-from images Berth built: key → the layer at that key. */
async function loadCacheFrom(env: BuilderEnv, refs: string[], signal: AbortSignal): Promise<Map<string, BuiltLayer>> {
  const out = new Map<string, BuiltLayer>();
  for (const ref of refs) {
    const r = await resolveBaseImage(env.base, ref, signal).catch(() => undefined);
    if (r?.kind !== 'image') continue;
    const keys = r.image.manifest.annotations?.[CACHE_KEYS_ANNOTATION];
    if (!keys) continue;
    const list = JSON.parse(keys) as (string | null)[];
    list.forEach((k, i) => {
      const layer = r.image.layers[i];
      if (k && layer) out.set(k, layer);
    });
  }
  return out;
}

export interface BuildOutcome {
  manifestDigest: string;
  configDigest: string;
  /** Layer and document blobs this build put into S3. */
  uploaded: number;
  /** Layer steps that ran (not cached). */
  executed: number;
  cached: number;
}

function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function onbuildTriggers(config: ImageConfig | undefined, line: number): Instruction[] {
  const triggers = config?.config?.OnBuild ?? [];
  if (triggers.length === 0) return [];
  const df = parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`);
  return df.stages[0]!.instructions.map((i) => ({ ...i, line, endLine: line }));
}

export async function executeBuild(env: BuilderEnv, req: BuildRequest): Promise<BuildOutcome> {
  const df = parseDockerfile(req.dockerfile);
  const epochArg = req.buildArgs.SOURCE_DATE_EPOCH;
  const sourceDateEpoch = epochArg !== undefined && /^\d+$/.test(epochArg) ? Number(epochArg) : undefined;
  // Times come from SOURCE_DATE_EPOCH, else from when each layer was first built (a cache hit keeps
  // its time), so a rebuild with nothing changed reproduces the same config and manifest.
  const epochTime = sourceDateEpoch !== undefined ? isoSeconds(new Date(sourceDateEpoch * 1000)) : undefined;
  // BuildKit's automatic args (TARGETARCH, BUILDPLATFORM, …): Berth builds linux/amd64 on linux/amd64.
  const automaticArgs = platformArgs(BUILD_PLATFORM);
  const globalArgs = resolveMetaArgs(df, { buildArgs: req.buildArgs, automaticArgs });
  const needed = neededStages(df, req.target, globalArgs);
  const total = needed.reduce((n, i) => n + 1 + df.stages[i]!.instructions.length, 0);
  const results = new Map<number, StageResult>();
  let step = 0;
  let uploaded = 0;
  let executed = 0;
  let cached = 0;
  const log = req.log;
  const cacheFrom = req.noCache || !req.cacheFrom?.length ? new Map<string, BuiltLayer>() : await loadCacheFrom(env, req.cacheFrom, req.signal);

  for (const index of needed) {
    const stage: Stage = df.stages[index]!;
    throwIfCancelled(req.signal);
    const fromRef = expandWord(stage.from, (n) => globalArgs.get(n), df.escape);
    log.line(`Step ${++step}/${total} : FROM ${fromRef}${stage.name ? ` AS ${stage.name}` : ''}`, 'system');
    let base: StageResult;
    const fromStage = findStage(df.stages, fromRef, index);
    try {
      if (fromStage) {
        base = structuredClone(results.get(fromStage.index)!);
        base.cacheKey = baseCacheKey({ stageKey: base.cacheKey });
      } else {
        const resolved = await resolveBaseImage(env.base, fromRef, req.signal);
        if (resolved.kind === 'scratch') {
          // BuildKit's empty image: the default PATH and `/` as WORKDIR.
          base = { config: { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [SCRATCH_PATH], WorkingDir: '/' } }, layers: [], layerKeys: [], history: [], cacheKey: baseCacheKey('scratch') };
        } else {
          const img = resolved.image;
          base = { config: img.config, layers: img.layers, layerKeys: img.layers.map(() => null), history: img.config.history ?? [], cacheKey: baseCacheKey({ manifestDigest: img.manifestDigest }) };
          log.line(` ---> ${resolved.ref} (${img.manifestDigest.slice(7, 19)}, ${resolved.source})`, 'system');
        }
      }
    } catch (err) {
      throw atDockerfileLine(err, stage.line);
    }
    const instructions = [...onbuildTriggers(base.config, stage.line), ...stage.instructions];
    const state = initialState(base.config.config, df.escape);
    if (state.config.OnBuild) state.config.OnBuild = null; // triggers run once, in the child
    const { scopes } = computeStageScopes({ ...stage, instructions }, { buildArgs: req.buildArgs, automaticArgs, globalArgs, baseEnv: base.config.config?.Env ?? [], escape: df.escape });
    const layers: BuiltLayer[] = [...base.layers];
    const layerKeys: (string | null)[] = [...base.layerKeys];
    const history: History[] = [...base.history];
    let key = base.cacheKey;
    let created = epochTime ?? base.config.created ?? isoSeconds(new Date(0));

    for (const scope of scopes) {
      throwIfCancelled(req.signal);
      const ins = scope.instruction;
      const started = Date.now();
      if (stage.instructions.includes(ins)) step++;
      log.line(`Step ${step}/${total} : ${ins.original}`, 'system');
      try {
        let ev;
        try {
          ev = evaluateInstruction(state, scope);
        } catch (err) {
          throw new BuildStepError(`Dockerfile:${ins.line}: ${(err as Error).message}`);
        }
        if (ev.effect.kind === 'meta') {
          key = nextCacheKey(key, ev.keyText);
          history.push({ created, created_by: ev.createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true });
          continue;
        }
        let content: string | undefined;
        if (ev.effect.kind === 'copy') content = await digestCopySources(env, req, ev.effect, results, df.stages, index);
        if (ins.kind === 'RUN') {
          // A bind mount from another stage keys the RUN by that stage's own key.
          const froms = ins.mounts.filter((m) => m.from).map((m) => {
            const st = findStage(df.stages, m.from!, index);
            return st ? `stage:${results.get(st.index)?.cacheKey}` : `image:${m.from}`;
          });
          if (froms.length) content = froms.join(',');
        }
        key = nextCacheKey(key, ev.keyText, content);
        const hit = req.noCache ? undefined : (await findCacheEntries(env.db, [key])).get(key);
        if (hit && !hit.layerDigest && ev.effect.kind === 'workdir') {
          // A WORKDIR that existed already: config only.
          await touchCacheEntries(env.db, [key]);
          history.push({ created, created_by: ev.createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true });
          log.line(' ---> Using cache', 'system');
          cached++;
          continue;
        }
        const fromImage = hit ? undefined : cacheFrom.get(key);
        if ((hit && hit.layerDigest && hit.diffId) || fromImage) {
          if (hit) await touchCacheEntries(env.db, [key]);
          layers.push(fromImage ?? { digest: hit!.layerDigest!, diffId: hit!.diffId!, size: hit!.layerSize ?? 0 });
          layerKeys.push(key);
          created = epochTime ?? (hit ? isoSeconds(hit.createdAt) : created);
          history.push({ created, created_by: ev.createdBy, comment: 'buildkit.dockerfile.v0' });
          log.line(' ---> Using cache', 'system');
          cached++;
          continue;
        }
        const effect = ev.effect;
        const result = await runLayerStep(env, req, { parents: layers, name: `step-${step}`, cacheKey: key, config: state.config, sourceDateEpoch, dropEmpty: effect.kind === 'workdir' }, async (rootfs) => {
          if (effect.kind === 'run' && ins.kind === 'RUN') {
            await executeRun(env, req, rootfs, state.config, effect, ins, { mount: (from) => mountFromTree(env, req, from, results, df.stages, index) });
          }
          else if (effect.kind === 'copy') await executeCopy(env, req, rootfs, effect, state.config.WorkingDir, results, df.stages, index);
        });
        executed++;
        if (!result.layer) {
          history.push({ created, created_by: ev.createdBy, comment: 'buildkit.dockerfile.v0', empty_layer: true });
          continue;
        }
        created = epochTime ?? isoSeconds(result.createdAt);
        if (result.uploaded) uploaded++;
        layers.push(result.layer);
        layerKeys.push(key);
        history.push({ created, created_by: ev.createdBy, comment: 'buildkit.dockerfile.v0' });
        log.line(` ---> ${result.layer.digest.slice(7, 19)} (${((Date.now() - started) / 1000).toFixed(2)}s)`, 'system');
      } catch (err) {
        throw atDockerfileLine(err, ins.line);
      }
    }

    const config: ImageConfig = {
      created,
      architecture: base.config.architecture || 'amd64',
      os: base.config.os || 'linux',
      config: state.config,
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history,
    };
    results.set(index, { config, layers, layerKeys, history, cacheKey: key });
  }

  const final = results.get(needed[needed.length - 1]!)!;
  if (req.labels && Object.keys(req.labels).length) final.config.config = { ...final.config.config, Labels: { ...final.config.config?.Labels, ...req.labels } };
  const published = await publishImage(env.db, env.blobs, {
    accountId: req.accountId,
    repository: req.repository,
    tags: req.tags,
    config: final.config,
    layers: final.layers,
    annotations: { [CACHE_KEYS_ANNOTATION]: JSON.stringify(final.layerKeys) },
  });
  log.line(`Successfully built ${published.manifestDigest}`, 'system');
  return { manifestDigest: published.manifestDigest, configDigest: published.configDigest, uploaded: uploaded + published.uploaded, executed, cached };
}
