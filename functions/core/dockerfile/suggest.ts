// "did you mean RUN?" for a near miss of an instruction keyword.
import { INSTRUCTION_KINDS } from './instructions';

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** `: did you mean RUN?` when the keyword is a near miss of a real one. */
export function suggestInstruction(keyword: string): string {
  if (keyword.length > 32) return '';
  let best: { name: string; d: number } | undefined;
  for (const name of INSTRUCTION_KINDS) {
    const d = editDistance(keyword, name);
    if (d <= 2 && (!best || d < best.d)) best = { name, d };
  }
  return best ? ` (did you mean ${best.name}?)` : '';
}
