// iptables rules CNI plugins tagged with a container id (`id: "berth-…"` comments: the bridge's
// masquerade, portmap's DNAT jumps) and the per-container chains they jump to, found in `iptables -S`
// output. Needed when CNI DEL cannot run for want of its cached result (a crash before it was saved).

/** Splits an `iptables -S` rule into argv, honouring its double-quoted comments. */
export function splitRule(line: string): string[] {
  return [...line.matchAll(/"((?:[^"\\]|\\.)*)"|(\S+)/g)].map((t) => (t[1] !== undefined ? t[1].replace(/\\"/g, '"') : t[2]!));
}

export interface StrayRules {
  /** `iptables -t <table> -D …` argv tails (after `-D`), one per rule. */
  deletes: string[][];
  /** CNI-owned chains the rules jumped to, to flush and delete afterwards. */
  chains: string[];
}

export function findStrayRules(saveOutput: string, runcId: string): StrayRules {
  const deletes: string[][] = [];
  const chains = new Set<string>();
  const marker = `id: \\"${runcId}\\"`;
  for (const raw of saveOutput.split('\n')) {
    const line = raw.trim();
    if (!line.startsWith('-A ') || !line.includes(marker)) continue;
    const argv = splitRule(line).slice(1);
    deletes.push(argv);
    const jump = argv[argv.indexOf('-j') + 1];
    if (argv.includes('-j') && jump && /^CNI-(DN-)?[0-9a-f]{6,}$/.test(jump)) chains.add(jump);
  }
  return { deletes, chains: [...chains] };
}
