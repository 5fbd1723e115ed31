// The typed instructions a Dockerfile parses into. Values are as written (quotes and `$VARS`
// intact) wherever Docker expands them at build time, because expansion depends on the ARG/ENV
// scope: see scope.ts and expand-instruction.ts.
import type { HealthConfig } from '../oci/types';
import type { Heredoc } from './lexer';

export interface SourceNode {
  /** 1-based line where the instruction starts. */
  line: number;
  /** 1-based last line, including continuations and heredoc bodies. */
  endLine: number;
  /** The instruction with continuations joined and comments removed, as Docker records it. */
  original: string;
}

/** Exec form (`["a", "b"]`, run directly) or shell form (a string run by the SHELL). */
export type CommandLine = { form: 'exec'; args: string[] } | { form: 'shell'; command: string };

export interface KeyValue {
  key: string;
  value: string;
}

export interface ArgDefinition {
  key: string;
  /** The default as written; undefined when the ARG only declares the name. */
  value?: string;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

/** A RUN --mount, keys as written (values may hold `$VARS`). Defaults are the planner's job. */
export interface Mount {
  type: MountType;
  target?: string;
  source?: string;
  from?: string;
  readonly?: boolean;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: string;
  uid?: string;
  gid?: string;
  required?: boolean;
  size?: string;
  /** secret: also expose it as this environment variable. */
  env?: string;
}

export interface InlineSource {
  /** The heredoc delimiter, used as the file name. */
  name: string;
  content: string;
  expand: boolean;
  chomp: boolean;
}

export interface FromInstruction extends SourceNode {
  kind: 'FROM';
  image: string;
  platform?: string;
  /** Lowercased, as Docker stores stage names. */
  stageName?: string;
}

export interface RunInstruction extends SourceNode {
  kind: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
  mounts: Mount[];
  network?: 'default' | 'none' | 'host';
  security?: 'sandbox' | 'insecure';
}

export interface CmdInstruction extends SourceNode {
  kind: 'CMD';
  command: CommandLine;
}

export interface EntrypointInstruction extends SourceNode {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}

export interface LabelInstruction extends SourceNode {
  kind: 'LABEL';
  labels: KeyValue[];
}

export interface MaintainerInstruction extends SourceNode {
  kind: 'MAINTAINER';
  maintainer: string;
}

export interface ExposeInstruction extends SourceNode {
  kind: 'EXPOSE';
  /** Port words as written; parsePortSpec turns an expanded one into `80/tcp` keys. */
  ports: string[];
}

export interface EnvInstruction extends SourceNode {
  kind: 'ENV';
  env: KeyValue[];
}

interface CopyCommon extends SourceNode {
  /** Source paths as written (not yet expanded). */
  sources: string[];
  /** Heredoc sources (`COPY <<EOF /dest`), in order. */
  inline: InlineSource[];
  destination: string;
  chown?: string;
  chmod?: string;
  link: boolean;
  exclude: string[];
}

export interface AddInstruction extends CopyCommon {
  kind: 'ADD';
  checksum?: string;
  keepGitDir: boolean;
  /** --unpack: undefined means Docker's default (local archives are extracted, URLs are not). */
  unpack?: boolean;
}

export interface CopyInstruction extends CopyCommon {
  kind: 'COPY';
  /** A stage name, stage index or image reference. */
  from?: string;
  parents: boolean;
}

export interface VolumeInstruction extends SourceNode {
  kind: 'VOLUME';
  paths: string[];
}

export interface UserInstruction extends SourceNode {
  kind: 'USER';
  user: string;
}

export interface WorkdirInstruction extends SourceNode {
  kind: 'WORKDIR';
  path: string;
}

export interface ArgInstruction extends SourceNode {
  kind: 'ARG';
  args: ArgDefinition[];
}

export interface OnbuildInstruction extends SourceNode {
  kind: 'ONBUILD';
  /** The trigger as stored in the image config's OnBuild list. */
  expression: string;
  trigger: Instruction;
}

export interface StopsignalInstruction extends SourceNode {
  kind: 'STOPSIGNAL';
  signal: string;
}

export interface HealthcheckInstruction extends SourceNode {
  kind: 'HEALTHCHECK';
  /** In image-config form: Test is ["NONE"], ["CMD", ...] or ["CMD-SHELL", cmd]; durations in ns. */
  health: HealthConfig;
}

export interface ShellInstruction extends SourceNode {
  kind: 'SHELL';
  shell: string[];
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | LabelInstruction
  | MaintainerInstruction
  | ExposeInstruction
  | EnvInstruction
  | AddInstruction
  | CopyInstruction
  | VolumeInstruction
  | UserInstruction
  | WorkdirInstruction
  | ArgInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | ShellInstruction;

export type InstructionKind = Instruction['kind'];

export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  'FROM',
  'RUN',
  'CMD',
  'ENTRYPOINT',
  'LABEL',
  'MAINTAINER',
  'EXPOSE',
  'ENV',
  'ADD',
  'COPY',
  'VOLUME',
  'USER',
  'WORKDIR',
  'ARG',
  'ONBUILD',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'SHELL',
];
