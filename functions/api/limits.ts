/** A build context (archive or folder) may be this large unless BERTH_MAX_CONTEXT_BYTES says otherwise. */
export const DEFAULT_CONTEXT_BYTES = 512 * 1024 * 1024;
/** JSON request bodies. */
export const DEFAULT_JSON_BYTES = 1024 * 1024;
/** A Dockerfile, whether a part of its own or text in JSON. */
export const MAX_DOCKERFILE_BYTES = 1024 * 1024;
