// COPY and ADD: where the sources come from (the context, an earlier stage, an image, a URL), what
// keys them in the cache, and the copy itself into the step's rootfs.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { extractTar } from '../image/tar-extract';
import { readTar } from '../image/tar-reader';
import { detectTarArchive, readDecompressed } from './local-archive';
import { mkdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { Stage } from '../../functions/core/dockerfile/parse';
import { resolveBaseImage } from '../image/base-images';
import type { BuiltLayer } from '../image/registry-images';
import { BuildStepError, type BuilderEnv, type BuildRequest, type StageResult } from './build-env';
import { copyIntoRoot } from './copy-files';
import { digestSources, matchComponent, matchSources, type MatchedSource } from './copy-sources';
import { DEFAULT_STEP_DISK_BYTES } from './run-step';
import { findStage } from './stages';
import { layerDirs, mountStepFs } from './step-overlay';
import type { StepEffect } from './step-state';
import { resolveChown } from './users';

type CopyEffect = Extract<StepEffect, { kind: 'copy' }>;

const isUrl = (s: string) => /^https?:\/\//i.test(s);

interface SourceTree {
  root: string;
  isVisible: (rel: string) => boolean;
  keepOwners: boolean;
  /** Set when the tree is another stage or an image: its identity stands in for hashing its files. */
  identity?: string;
  release(): Promise<void>;
}

function excluder(patterns: string[], base: (rel: string) => boolean): (rel: string) => boolean {
  if (patterns.length === 0) return base;
  const matchers = patterns.map((p) => p.split('/').filter(Boolean));
  return (rel) => {
    if (!base(rel)) return false;
    const parts = rel.split('/');
    return !matchers.some((m) => m.length <= parts.length && m.every((seg, i) => matchComponent(seg, parts[parts.length - m.length + i]!)));
  };
}

async function layersOfFrom(env: BuilderEnv, req: BuildRequest, from: string, results: Map<number, StageResult>, stages: Stage[], index: number): Promise<{ layers: BuiltLayer[]; identity: string }> {
  const stage = findStage(stages, from, index);
  if (stage) {
    const r = results.get(stage.index);
    if (!r) throw new BuildStepError(`COPY --from=${from}: stage ${stage.index} was not built`);
    return { layers: r.layers, identity: `stage:${r.cacheKey}` };
  }
  const resolved = await resolveBaseImage(env.base, from, req.signal);
  if (resolved.kind === 'scratch') return { layers: [], identity: 'scratch' };
  return { layers: resolved.image.layers, identity: `image:${resolved.image.manifestDigest}` };
}

/** An earlier stage's or an image's filesystem, mounted read-only for RUN --mount=type=bind,from=. */
export async function mountFromTree(env: BuilderEnv, req: BuildRequest, from: string, results: Map<number, StageResult>, stages: Stage[], index: number): Promise<{ root: string; release: () => Promise<void> }> {
  const { layers, identity } = await layersOfFrom(env, req, from, results, stages, index);
  const dir = join(req.workDir, `mount-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}-${Math.random().toString(36).slice(2, 8)}`);
  const fs = await mountStepFs(dir, await layerDirs(env.layers, req.buildId, layers), env.idmap);
  return { root: fs.layout.merged, release: () => fs.remove() };
}

async function openSourceTree(env: BuilderEnv, req: BuildRequest, effect: CopyEffect, results: Map<number, StageResult>, stages: Stage[], index: number): Promise<SourceTree> {
  if (!effect.from) {
    if (!req.contextDir) throw new BuildStepError(`${effect.add ? 'ADD' : 'COPY'} failed: the build has no context to copy from`);
    return { root: req.contextDir, isVisible: excluder(effect.exclude, req.isVisible ?? (() => true)), keepOwners: false, release: async () => {} };
  }
  const { layers, identity } = await layersOfFrom(env, req, effect.from, results, stages, index);
  const dir = join(req.workDir, `from-${createHash('sha256').update(identity).digest('hex').slice(0, 12)}-${Math.random().toString(36).slice(2, 8)}`);
  const fs = await mountStepFs(dir, await layerDirs(env.layers, req.buildId, layers), env.idmap);
  return { root: fs.layout.merged, isVisible: excluder(effect.exclude, () => true), keepOwners: true, identity, release: () => fs.remove() };
}

async function download(url: string, dir: string, checksum: string | undefined): Promise<MatchedSource> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new BuildStepError(`ADD failed: cannot download "${url}": HTTP ${res.status}`);
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const hash = createHash('sha256');
  const body = Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => hash.update(c));
  await pipeline(body, createWriteStream(path, { mode: 0o600 }));
  const got = `sha256:${hash.digest('hex')}`;
  if (checksum && checksum !== got) throw new BuildStepError(`ADD failed: "${url}" has digest ${got}, but --checksum expects ${checksum}`);
  const lm = res.headers.get('last-modified');
  const t = lm ? new Date(lm) : new Date(0);
  await utimes(path, t, t);
  return { rel: name, abs: path, isDir: false };
}

async function matchAll(tree: SourceTree, effect: CopyEffect, req: BuildRequest): Promise<MatchedSource[]> {
  const out: MatchedSource[] = [];
  if (effect.inline.length > 0) {
    const dir = join(req.workDir, 'inline', createHash('sha256').update(JSON.stringify(effect.inline)).digest('hex').slice(0, 16));
    await mkdir(dir, { recursive: true });
    for (const h of effect.inline) {
      const abs = join(dir, h.name);
      await writeFile(abs, h.content, { mode: 0o644 });
      await utimes(abs, 0, 0);
      out.push({ rel: h.name, abs, isDir: false });
    }
  }
  for (const src of effect.sources) {
    if (effect.add && isUrl(src)) {
      out.push(await download(src, join(req.workDir, 'downloads', createHash('sha256').update(src).digest('hex').slice(0, 16)), effect.checksum));
      continue;
    }
    const matched = await matchSources(tree.root, src, tree.isVisible);
    if (matched.length === 0) {
      throw new BuildStepError(`${effect.add ? 'ADD' : 'COPY'} failed: file not found in ${effect.from ? `"${effect.from}"` : 'build context or excluded by .dockerignore'}: "${src}"`);
    }
    out.push(...matched);
  }
  return out;
}

/** The content part of a COPY/ADD cache key. */
export async function digestCopySources(env: BuilderEnv, req: BuildRequest, effect: CopyEffect, results: Map<number, StageResult>, stages: Stage[], index: number): Promise<string> {
  const tree = await openSourceTree(env, req, effect, results, stages, index);
  try {
    if (tree.identity && !effect.sources.some(isUrl) && effect.inline.length === 0) return `${tree.identity} exclude=${effect.exclude.join(',')}`;
    const matched = await matchAll(tree, effect, req);
    return digestSources(matched, tree.isVisible, tree.keepOwners);
  } finally {
    await tree.release();
  }
}

/** Parses --chmod (octal, as BuildKit takes it). */
export function parseChmod(spec: string): number {
  if (!/^[0-7]{3,4}$/.test(spec)) throw new BuildStepError(`Invalid --chmod "${spec}": expected an octal mode such as 755`);
  return parseInt(spec, 8);
}

export async function executeCopy(env: BuilderEnv, req: BuildRequest, rootfs: string, effect: CopyEffect, workdir: string | undefined, results: Map<number, StageResult>, stages: Stage[], index: number): Promise<void> {
  const tree = await openSourceTree(env, req, effect, results, stages, index);
  try {
    const matched = await matchAll(tree, effect, req);
    let dest = effect.destination;
    if (!dest.startsWith('/')) dest = `${(workdir || '/').replace(/\/$/, '')}/${dest}`;
    const owner = effect.chown ? await resolveChown(rootfs, effect.chown) : undefined;
    const opts = {
      owner,
      chmod: effect.chmod ? parseChmod(effect.chmod) : undefined,
      keepOwners: tree.keepOwners,
      sourceIdmap: tree.keepOwners ? env.idmap : undefined,
      idmap: env.idmap,
      isVisible: tree.isVisible,
    };
    const plain: MatchedSource[] = [];
    for (const m of matched) {
      const compression = effect.add && effect.unpack && !m.isDir && !isUrl(m.rel) && m.abs.startsWith(tree.root) ? await detectTarArchive(m.abs) : undefined;
      if (compression) {
        // ADD extracts a local tar archive into the destination, owners as archived; what it unpacks
        // is capped like a RUN step's writes (a small compressed bomb must not fill the disk).
        const tmp = join(req.workDir, `unpack-${Math.random().toString(36).slice(2, 10)}`);
        await mkdir(tmp);
        try {
          await extractTar(readTar(readDecompressed(m.abs, compression)), tmp, { flavour: 'layer', idmap: env.idmap, what: `archive "${m.rel}"`, maxBytes: env.diskLimitBytes ?? DEFAULT_STEP_DISK_BYTES }).catch((err: Error) => {
            throw new BuildStepError(`ADD failed: cannot extract "${m.rel}": ${err.message}`);
          });
          await copyIntoRoot(rootfs, [{ rel: '', abs: tmp, isDir: true }], dest.endsWith('/') ? dest : `${dest}/`, { ...opts, keepOwners: !owner, sourceIdmap: env.idmap });
        } finally {
          await rm(tmp, { recursive: true, force: true });
        }
      } else if (effect.parents && !m.isDir) {
        await copyIntoRoot(rootfs, [m], posix.join(dest, m.rel), opts);
      } else if (effect.parents) {
        await copyIntoRoot(rootfs, [m], `${posix.join(dest, m.rel)}/`, opts);
      } else plain.push(m);
    }
    if (plain.length > 0 || matched.length === 0) await copyIntoRoot(rootfs, plain, dest, opts);
  } finally {
    await tree.release();
  }
}
