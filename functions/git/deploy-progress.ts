// After a git build succeeds: the deployment it started, followed until it is live or has failed.
import { findDeploymentOfBuild } from '../../db/queries/git-builds';
import type { Db } from '../../db/client';
import type { Deployment } from '../../db/schema';

export interface DeployWaitOptions {
  /** How long to wait for a deployment row to appear. */
  appearMs?: number;
  /** How long to follow it once it exists. */
  settleMs?: number;
  pollMs?: number;
}

const SETTLED = new Set(['active', 'failed', 'superseded', 'rolled_back']);

/** The deployment in its settled state; undefined when none started, or still going at the deadline (latest state). */
export async function waitForDeployment(db: Db, buildId: string, o: DeployWaitOptions = {}): Promise<Deployment | undefined> {
  const appearBy = Date.now() + (o.appearMs ?? 5_000);
  const settleBy = Date.now() + (o.settleMs ?? 5 * 60_000);
  const poll = o.pollMs ?? 250;
  for (;;) {
    const d = await findDeploymentOfBuild(db, buildId);
    if (d && SETTLED.has(d.status)) return d;
    if ((!d && Date.now() > appearBy) || Date.now() > settleBy) return d;
    await new Promise((r) => setTimeout(r, poll));
  }
}
