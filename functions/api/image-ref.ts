// Image references as users type them, normalised once before they are stored (the rules live in
// functions/core/oci/reference.ts); the API's side is turning a bad one into a 400.
import { badRequest } from '../core/errors';
import { formatReference, parseReference, tryParseReference } from '../core/oci/reference';

export function tryNormaliseImageReference(input: string): string | undefined {
  const ref = tryParseReference(input);
  return ref ? formatReference(ref) : undefined;
}

export function normaliseImageReference(input: string): string {
  try {
    return formatReference(parseReference(input));
  } catch (err) {
    throw badRequest(err instanceof Error ? err.message : `Invalid image reference "${input}"`, 'invalid_image_reference');
  }
}
