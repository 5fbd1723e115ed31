// The key pair of the embedded S3 server. It guards only a server bound to 127.0.0.1, so it may be
// public; a deployment points S3_ENDPOINT at real S3 with its own keys instead.
import type { Credentials } from './sigv4';

export const LOCAL_S3_CREDENTIALS: Credentials = {
  accessKeyId: 'berth-local',
  secretAccessKey: 'berth-local-secret',
};
