// Health checks with Docker's rules: "starting" until the first success; failures inside the start
// period do not count; `retries` consecutive failures make it "unhealthy"; one success heals.
import { request } from 'node:http';
import { connect } from 'node:net';
import type { HealthPlan } from './config';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
}

/** The next state after one probe; pure. */
export function applyProbeResult(state: HealthState, ok: boolean, inStartPeriod: boolean, retries: number): HealthState {
  if (ok) return { status: 'healthy', failingStreak: 0 };
  if (inStartPeriod && state.status === 'starting') return state;
  const streak = state.failingStreak + 1;
  return { status: streak >= retries ? 'unhealthy' : state.status, failingStreak: streak };
}

/** Whether a TCP connection to host:port opens within timeoutMs. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Whether GET path answers 2xx/3xx within timeoutMs. A fresh connection each time (no pooled
 * keep-alive): addresses are reused by later containers, and a pooled socket to a container that is
 * gone would fail probes of its successor.
 */
export function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, method: 'GET', agent: false, timeout: timeoutMs, headers: { 'user-agent': 'berth-health' } }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export class HealthMonitor {
  private state: HealthState = { status: 'starting', failingStreak: 0 };
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly startedAt = Date.now();

  constructor(
    private readonly plan: HealthPlan,
    private readonly probe: (timeoutMs: number) => Promise<boolean>,
    private readonly onChange: (status: HealthStatus) => void,
  ) {}

  get status(): HealthStatus {
    return this.state.status;
  }

  /** The caller has recorded "starting" already (with the running state). */
  start(): void {
    this.schedule(Math.min(this.plan.intervalMs, 1000));
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick() {
    if (this.stopped) return;
    const ok = await this.probe(this.plan.timeoutMs).catch(() => false);
    if (this.stopped) return;
    const before = this.state.status;
    this.state = applyProbeResult(this.state, ok, Date.now() - this.startedAt < this.plan.startPeriodMs, this.plan.retries);
    if (this.state.status !== before) this.onChange(this.state.status);
    this.schedule(this.plan.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
