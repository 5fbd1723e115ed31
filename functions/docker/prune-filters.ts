// The `filters` query of Docker's prune calls ({"until":["24h"],"label":["k=v"],"label!":["k"]}), as
// a predicate over what a resource was created at and its labels. Unknown filters are refused.
import { dockerError } from './engine-errors';
import { parseFiltersParam } from './filters-param';

export interface PruneFilter {
  /** Creation before this (ms since the epoch); undefined: no bound. */
  until?: number;
  matches(created: Date, labels: Record<string, string>): boolean;
  /** Values of a filter only some calls know (dangling for images). */
  extra: Record<string, string[]>;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go durations (`24h`, `1h30m`), Unix seconds, or an RFC 3339 time → an instant (ms). */
export function parseUntil(raw: string, now = Date.now()): number {
  if (/^\d+(\.\d+)?$/.test(raw)) return Number(raw) * 1000;
  const parts = [...raw.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length > 0 && parts.map((p) => p[0]).join('') === raw) return now - parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
  const t = Date.parse(raw);
  if (/^\d{4}-\d{2}-\d{2}/.test(raw) && Number.isFinite(t)) return t;
  throw dockerError(400, `Invalid filter "until=${raw}": expected a duration such as 24h, Unix seconds or an RFC 3339 time`);
}

function labelMatches(spec: string, labels: Record<string, string>): boolean {
  const i = spec.indexOf('=');
  if (i < 0) return spec in labels;
  return labels[spec.slice(0, i)] === spec.slice(i + 1);
}

export function parsePruneFilters(raw: string | undefined, extraKeys: string[] = []): PruneFilter {
  const values = parseFiltersParam(raw, ['until', 'label', 'label!', ...extraKeys], 'prune filters');
  if ((values.until?.length ?? 0) > 1) throw dockerError(400, 'Invalid filter "until": give it once');
  const until = values.until?.[0] !== undefined ? parseUntil(values.until[0]) : undefined;
  const extra = Object.fromEntries(extraKeys.filter((k) => values[k]).map((k) => [k, values[k]!]));
  return {
    until,
    extra,
    matches: (created, labels) =>
      (until === undefined || created.getTime() < until) && (values.label ?? []).every((l) => labelMatches(l, labels)) && (values['label!'] ?? []).every((l) => !labelMatches(l, labels)),
  };
}
