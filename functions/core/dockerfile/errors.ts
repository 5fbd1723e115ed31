// One error for everything wrong with a Dockerfile: it always names the line, so the REST API can
// point at it when a Dockerfile is submitted and a build log can show it.
export class DockerfileError extends Error {
  override name = 'DockerfileError';
  /** 1-based line where the offending instruction (or construct) starts. */
  readonly line: number;
  /** The message without the `Dockerfile:N: ` prefix. */
  readonly detail: string;

  constructor(line: number, detail: string) {
    super(`Dockerfile:${line}: ${detail}`);
    this.line = line;
    this.detail = detail;
  }
}

/** Errors from the word lexer carry no line; the caller that knows the line wraps them. */
export class ExpansionError extends Error {
  override name = 'ExpansionError';
}
