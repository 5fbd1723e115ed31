// A container's resource use as a runner reads it (runner/container/container-stats.ts) and the
// Engine API renders it as Docker's stats (functions/docker/container-usage.ts).
export interface StatsSample {
  /** Nanoseconds of CPU the container used, all time. */
  cpuNs: number;
  cpuUserNs: number;
  cpuSystemNs: number;
  /** Nanoseconds of CPU the whole machine used (/proc/stat), as Docker's system_cpu_usage. */
  systemNs: number;
  onlineCpus: number;
  memory: { usage: number; maxUsage: number; limit: number; stats: Record<string, number> };
  pids: { current: number; limit?: number };
  networks: Record<string, { rx_bytes: number; rx_packets: number; rx_errors: number; rx_dropped: number; tx_bytes: number; tx_packets: number; tx_errors: number; tx_dropped: number }>;
}
