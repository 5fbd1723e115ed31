import { and, asc, desc, eq, gt, lte } from 'drizzle-orm';
import type { Db } from '../client';
import { logLines, type LogLine } from '../schema';

export type LogSubject = { kind: 'build' | 'container' | 'deployment'; id: string };
export type LogStream = 'stdout' | 'stderr' | 'system';

/** Appends lines in order; one INSERT for the batch. */
export async function appendLogLines(db: Db, subject: LogSubject, lines: { stream?: LogStream; line: string; at?: Date }[]): Promise<void> {
  if (lines.length === 0) return;
  await db.insert(logLines).values(
    lines.map((l) => ({ subjectKind: subject.kind, subjectId: subject.id, stream: l.stream ?? 'stdout', line: l.line, at: l.at ?? new Date() })),
  );
}

/** Lines after `afterId` (exclusive), oldest first: a follower passes the last id it saw. */
export async function readLogLines(db: Db, subject: LogSubject, afterId = 0, limit = 1000): Promise<LogLine[]> {
  return db
    .select()
    .from(logLines)
    .where(and(eq(logLines.subjectKind, subject.kind), eq(logLines.subjectId, subject.id), gt(logLines.id, afterId)))
    .orderBy(asc(logLines.id))
    .limit(limit);
}

/**
 * Keeps the newest `keep` lines of a subject and deletes the rest (a container's log retention);
 * returns how many went.
 */
export async function trimLogLines(db: Db, subject: LogSubject, keep: number): Promise<number> {
  const match = and(eq(logLines.subjectKind, subject.kind), eq(logLines.subjectId, subject.id));
  const [edge] = await db.select({ id: logLines.id }).from(logLines).where(match).orderBy(desc(logLines.id)).offset(keep).limit(1);
  if (!edge) return 0;
  const gone = await db.delete(logLines).where(and(match, lte(logLines.id, edge.id))).returning({ id: logLines.id });
  return gone.length;
}
