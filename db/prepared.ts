// Prepared statements for hot queries. Drizzle sends a query unprepared unless told otherwise, so
// Postgres parses and plans it on every call: ~0.3 ms more a query than a prepared one, measured on
// the Node entry, which is most of a registry pull's request. Prepared queries are bound to a client,
// so they are built once per client: one for the process on Node, one per request on Workers (which
// then gains nothing and loses nothing; Hyperdrive keeps named statements across pooled connections).
import type { Db } from './client';

const prepared = new WeakMap<Db, Map<unknown, unknown>>();

/** What `build` prepares on `db`, built on the first call for this client and kept with it. */
export function preparedFor<T>(db: Db, build: (db: Db) => T): T {
  let ofDb = prepared.get(db);
  if (!ofDb) {
    ofDb = new Map();
    prepared.set(db, ofDb);
  }
  let queries = ofDb.get(build) as T | undefined;
  if (queries === undefined) {
    queries = build(db);
    ofDb.set(build, queries);
  }
  return queries;
}
