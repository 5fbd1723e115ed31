import { describe, expect, it } from 'vitest';
import { parseDockerfile } from '../../../../functions/core/dockerfile/parse';
import { baseStage, findStage, targetStage } from '../../../../functions/core/dockerfile/stages';

const df = parseDockerfile('FROM golang AS Build\nRUN make\nFROM build AS test\nFROM scratch\nCOPY --from=build /out /\n');

describe('stages', () => {
  it('finds stages by name, case-insensitively, or by index', () => {
    expect(findStage(df, 'BUILD')?.index).toBe(0);
    expect(findStage(df, '1')?.name).toBe('test');
    expect(findStage(df, 'nginx:latest')).toBeUndefined();
    expect(findStage(df, 'test', 1)).toBeUndefined();
  });

  it('tells a FROM on an earlier stage from a FROM on an image', () => {
    expect(baseStage(df, df.stages[1]!)?.index).toBe(0);
    expect(baseStage(df, df.stages[0]!)).toBeUndefined();
    expect(baseStage(df, df.stages[2]!)).toBeUndefined();
  });

  it('selects the --target stage, the last by default', () => {
    expect(targetStage(df).index).toBe(2);
    expect(targetStage(df, 'Test').index).toBe(1);
    expect(() => targetStage(df, 'prod')).toThrow('Target stage "prod" could not be found: the stages are "build", "test"');
  });
});
