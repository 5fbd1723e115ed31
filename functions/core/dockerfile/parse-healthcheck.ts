// HEALTHCHECK NONE | [--interval --timeout --start-period --start-interval --retries] CMD …, into
// the image config's Healthcheck (durations in nanoseconds), with Docker's checks.
import { DurationError, parseGoDuration } from './duration';
import type { Instruction } from './instructions';
import { commandLine, fail, flagsOf, type Request } from './instruction-request';
import type { ParsedFlags } from './flags';

/** Docker's floor for HEALTHCHECK intervals: shorter non-zero values are refused. */
const MIN_HEALTH_DURATION_NS = 1e6;

function parseDurationFlag(req: Request, flags: ParsedFlags, name: string): number | undefined {
  const raw = flags.strings.get(name);
  if (raw === undefined || raw === '') return undefined;
  let ns: number;
  try {
    ns = parseGoDuration(raw);
  } catch (err) {
    if (err instanceof DurationError) fail(req, `HEALTHCHECK --${name}: ${err.message}`);
    throw err;
  }
  if (ns === 0) return undefined;
  if (ns < MIN_HEALTH_DURATION_NS) fail(req, `HEALTHCHECK --${name} "${raw}" cannot be less than 1ms`);
  return ns;
}

export function parseHealthcheck(req: Request): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(req.rest);
  if (!m) fail(req, 'HEALTHCHECK requires at least one argument: HEALTHCHECK NONE or HEALTHCHECK [options] CMD <command>');
  const type = m[1]!.toUpperCase();
  const sub: Request = { ...req, rest: m[2]! };
  if (type === 'NONE') {
    if (sub.rest !== '') fail(req, 'HEALTHCHECK NONE takes no arguments');
    // Docker does not look at flags given to HEALTHCHECK NONE.
    return { kind: 'HEALTHCHECK', ...req.node, health: { Test: ['NONE'] } };
  }
  const flags = flagsOf(req);
  if (type !== 'CMD') fail(req, `unknown HEALTHCHECK type "${m[1]}": use CMD or NONE`);
  const cmd = commandLine(sub);
  const test = cmd.form === 'exec' ? ['CMD', ...cmd.args] : ['CMD-SHELL', cmd.command];
  if (test.length === 1 || (cmd.form === 'shell' && cmd.command === '')) fail(req, 'HEALTHCHECK CMD is missing its command');
  const health: Instruction & { kind: 'HEALTHCHECK' } = { kind: 'HEALTHCHECK', ...req.node, health: { Test: test } };
  const durations = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start-period', 'StartPeriod'],
    ['start-interval', 'StartInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const ns = parseDurationFlag(req, flags, flag);
    if (ns !== undefined) health.health[field] = ns;
  }
  const retries = flags.strings.get('retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[+-]?[0-9]+$/.test(retries)) fail(req, `HEALTHCHECK --retries "${retries}" is not a whole number`);
    const n = Number(retries);
    if (n < 0) fail(req, `HEALTHCHECK --retries cannot be negative (${n})`);
    if (n > 2 ** 31 - 1) fail(req, `HEALTHCHECK --retries "${retries}" is too large`);
    health.health.Retries = n;
  }
  return health;
}
