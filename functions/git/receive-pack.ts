// POST …/git-receive-pack: check each command, store the pack, move the refs under their guards.
import { applyRefUpdates, findGitObject, isAncestorCommit, listGitRefs, type RefUpdate } from '../../db/queries/git';
import type { App } from '../../db/schema';
import type { Platform } from '../platform';
import { ingestPack } from './ingest-pack';
import { ZERO_ID } from './object-id';
import type { ReceiveRequest } from './receive-commands';
import { checkPushRefName } from './ref-name';

export interface ReceiveResult {
  /** undefined: unpack ok. */
  unpackError?: string;
  /** ref → undefined (ok) or the reason it was refused. */
  statuses: Map<string, string | undefined>;
  /** Progress lines for the client (remote: …). */
  notes: string[];
  /** The deploy branch's new commit, when this push moved it. */
  deploy?: { ref: string; commit: string };
}

export async function receivePush(platform: Platform, app: App, req: ReceiveRequest): Promise<ReceiveResult> {
  const statuses = new Map<string, string | undefined>();
  const notes: string[] = [];
  const refuseAll = (reason: string) => {
    for (const c of req.commands) statuses.set(c.ref, reason);
  };
  const seen = new Set<string>();
  for (const c of req.commands) {
    if (seen.has(c.ref)) {
      refuseAll(`ref ${c.ref} is named twice`);
      return { statuses, notes };
    }
    seen.add(c.ref);
  }

  let types = new Map<string, string>();
  const needsPack = req.commands.some((c) => c.newSha !== ZERO_ID);
  if (needsPack) {
    if (req.pack.length === 0) {
      refuseAll('unpacker error');
      return { unpackError: 'the push carries no pack', statuses, notes };
    }
    try {
      types = (await ingestPack(platform, app.id, req.pack)).types;
    } catch (err) {
      refuseAll('unpacker error');
      return { unpackError: (err as Error).message, statuses, notes };
    }
  }

  const current = new Map((await listGitRefs(platform.db, app.id)).map((r) => [r.name, r.sha]));
  const typeOf = async (sha: string) => types.get(sha) ?? (await findGitObject(platform.db, app.id, sha))?.type;
  const updates: RefUpdate[] = [];
  for (const c of req.commands) {
    const invalid = checkPushRefName(c.ref);
    if (invalid) {
      statuses.set(c.ref, invalid);
      continue;
    }
    const now = current.get(c.ref) ?? ZERO_ID;
    if (now !== c.oldSha) {
      statuses.set(c.ref, `stale info: the ref is at ${now.slice(0, 12)}, the push expected ${c.oldSha.slice(0, 12)}`);
      continue;
    }
    if (c.newSha === ZERO_ID) {
      if (now === ZERO_ID) statuses.set(c.ref, 'cannot delete a ref that does not exist');
      else {
        statuses.set(c.ref, undefined);
        updates.push({ name: c.ref, oldSha: c.oldSha, newSha: null });
      }
      continue;
    }
    const type = await typeOf(c.newSha);
    if (!type) {
      statuses.set(c.ref, `missing necessary objects: ${c.newSha} is not in the push or the repository`);
      continue;
    }
    if (c.ref.startsWith('refs/heads/') && type !== 'commit') {
      statuses.set(c.ref, `a branch must point at a commit, ${c.newSha.slice(0, 12)} is a ${type}`);
      continue;
    }
    // The client refuses a non-fast-forward unless forced; the commit graph says which this is.
    if (c.oldSha !== ZERO_ID && c.ref.startsWith('refs/heads/') && !(await isAncestorCommit(platform.db, app.id, c.oldSha, c.newSha))) {
      notes.push(`Forced update of ${c.ref} (${c.oldSha.slice(0, 7)}...${c.newSha.slice(0, 7)})`);
    }
    statuses.set(c.ref, undefined);
    updates.push({ name: c.ref, oldSha: c.oldSha, newSha: c.newSha });
  }

  const atomic = req.capabilities.has('atomic');
  if (atomic && [...statuses.values()].some((s) => s !== undefined)) {
    for (const [ref, s] of statuses) if (s === undefined) statuses.set(ref, 'atomic push failed');
    return { statuses, notes };
  }
  const { failed } = await applyRefUpdates(platform.db, app.id, updates, atomic, ZERO_ID);
  for (const name of failed) statuses.set(name, 'failed to update ref: it changed during the push');
  if (atomic && failed.length > 0) for (const u of updates) if (!failed.includes(u.name)) statuses.set(u.name, 'atomic push failed');

  const deployRef = `refs/heads/${app.deployBranch}`;
  const moved = updates.find((u) => u.name === deployRef && u.newSha !== null && statuses.get(u.name) === undefined);
  return { statuses, notes, deploy: moved ? { ref: deployRef, commit: moved.newSha! } : undefined };
}
