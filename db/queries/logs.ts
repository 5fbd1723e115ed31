import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../client';
import { toPostgresText } from '../postgres-text';
import { logLines, type LogLine } from '../schema';

export type LogSubject = { kind: 'build' | 'container' | 'deployment'; id: string };
export type LogStream = 'stdout' | 'stderr' | 'system';

/** Appends lines in order; one INSERT for the batch. */
export async function appendLogLines(db: Db, subject: LogSubject, lines: { stream?: LogStream; line: string; at?: Date }[]): Promise<void> {
  if (lines.length === 0) return;
  await db.insert(logLines).values(
    lines.map((l) => ({ subjectKind: subject.kind, subjectId: subject.id, stream: l.stream ?? 'stdout', line: toPostgresText(l.line), at: l.at ?? new Date() })),
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
