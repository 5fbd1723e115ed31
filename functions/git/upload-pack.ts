// POST …/git-upload-pack: clone and fetch, protocol v2 (ls-refs, fetch) and v0.
import { filterKnownObjects, listGitRefs } from '../../db/queries/git';
import type { App } from '../../db/schema';
import type { Platform } from '../platform';
import { headTarget } from './advertisement';
import { isObjectId } from './object-id';
import { loadAllObjects } from './object-store';
import { writePack } from './pack-writer';
import { peelTags } from './peel-tags';
import { DELIM_PKT, FLUSH_PKT, PktReader, encodePktLine, encodeSideband } from './pkt-line';
import { selectObjectsToSend } from './reachable';

export class GitProtocolError extends Error {}

interface FetchRequest {
  wants: string[];
  haves: string[];
  done: boolean;
  sideband: boolean;
}

function parseWantsAndHaves(lines: string[], fetch: FetchRequest): void {
  for (const line of lines) {
    const [verb, id] = line.split(' ', 2);
    if (verb === 'want' || verb === 'have') {
      if (!id || !isObjectId(id)) throw new GitProtocolError(`Cannot fetch: "${line}" does not name an object id`);
      (verb === 'want' ? fetch.wants : fetch.haves).push(id);
    } else if (verb === 'done') {
      fetch.done = true;
    }
  }
}

async function buildPack(platform: Platform, app: App, fetch: FetchRequest): Promise<Uint8Array> {
  const objects = await loadAllObjects(platform, app.id);
  for (const w of fetch.wants) if (!objects.has(w)) throw new GitProtocolError(`Cannot fetch: upload-pack: not our ref ${w}`);
  return writePack(selectObjectsToSend(objects, fetch.wants, fetch.haves));
}

function packChunks(pack: Uint8Array, sideband: boolean): Uint8Array[] {
  return sideband ? encodeSideband(1, pack) : [pack];
}

/** Protocol v2: one command per request. */
export async function handleUploadPackV2(platform: Platform, app: App, body: Uint8Array): Promise<Uint8Array[]> {
  const reader = new PktReader(body);
  const head = reader.readSection();
  const command = head.lines.find((l) => l.startsWith('command='))?.slice(8);
  const args = head.end === 'delim' ? reader.readSection().lines : [];
  if (command === 'ls-refs') {
    const refs = await listGitRefs(platform.db, app.id);
    const prefixes = args.filter((a) => a.startsWith('ref-prefix ')).map((a) => a.slice(11));
    const symrefs = args.includes('symrefs');
    const peeled = args.includes('peel') ? await peelTags(platform, app.id, refs) : new Map<string, string>();
    const out: Uint8Array[] = [];
    const head = headTarget(refs, app.deployBranch);
    const wanted = (name: string) => prefixes.length === 0 || prefixes.some((p) => name.startsWith(p));
    if (head && wanted('HEAD')) out.push(encodePktLine(`${head.sha} HEAD${symrefs ? ` symref-target:${head.name}` : ''}\n`));
    for (const r of refs) {
      if (!wanted(r.name)) continue;
      const target = peeled.get(r.name);
      out.push(encodePktLine(`${r.sha} ${r.name}${target ? ` peeled:${target}` : ''}\n`));
    }
    out.push(FLUSH_PKT);
    return out;
  }
  if (command === 'fetch') {
    const fetch: FetchRequest = { wants: [], haves: [], done: false, sideband: true };
    parseWantsAndHaves(args, fetch);
    if (fetch.wants.length === 0) throw new GitProtocolError('Cannot fetch: the request wants no objects');
    const out: Uint8Array[] = [];
    if (!fetch.done) {
      const known = await filterKnownObjects(platform.db, app.id, fetch.haves);
      out.push(encodePktLine('acknowledgments\n'));
      if (known.size === 0) {
        // Nothing in common yet: the client sends more haves, or done.
        out.push(encodePktLine('NAK\n'), FLUSH_PKT);
        return out;
      }
      for (const h of known) out.push(encodePktLine(`ACK ${h}\n`));
      out.push(encodePktLine('ready\n'), DELIM_PKT);
      fetch.haves = [...known];
    }
    const pack = await buildPack(platform, app, fetch);
    out.push(encodePktLine('packfile\n'), ...packChunks(pack, true), FLUSH_PKT);
    return out;
  }
  throw new GitProtocolError(`Cannot serve protocol v2 command "${command ?? ''}": only ls-refs and fetch are supported`);
}

/** Protocol v0 over stateless HTTP, without multi_ack: ACK the first common object or NAK. */
export async function handleUploadPackV0(platform: Platform, app: App, body: Uint8Array): Promise<Uint8Array[]> {
  const reader = new PktReader(body);
  const fetch: FetchRequest = { wants: [], haves: [], done: false, sideband: false };
  const first = reader.readSection();
  const caps = first.lines[0]?.split(' ').slice(2) ?? [];
  fetch.sideband = caps.includes('side-band-64k') || caps.includes('side-band');
  parseWantsAndHaves(first.lines, fetch);
  for (let s = reader.readSection(); ; s = reader.readSection()) {
    parseWantsAndHaves(s.lines, fetch);
    if (s.end === 'eof') break;
  }
  if (fetch.wants.length === 0) throw new GitProtocolError('Cannot fetch: the request wants no objects');
  const known = [...(await filterKnownObjects(platform.db, app.id, fetch.haves))];
  const ack = known.length > 0 ? encodePktLine(`ACK ${known[0]}\n`) : encodePktLine('NAK\n');
  if (!fetch.done) return [ack];
  fetch.haves = known;
  const pack = await buildPack(platform, app, fetch);
  return [ack, ...packChunks(pack, fetch.sideband), ...(fetch.sideband ? [FLUSH_PKT] : [])];
}

