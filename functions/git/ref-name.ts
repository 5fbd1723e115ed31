// Ref names as `git check-ref-format` accepts them, plus Berth's own rule that pushes write only
// under refs/heads/ and refs/tags/.

/** Why the name is refused, or undefined when it is a valid ref name. */
export function checkRefName(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.length > 1024) return 'it is longer than 1024 characters';
  if (/[\x00-\x20\x7f]/.test(name)) return 'it contains a control character or space';
  if (/[~^:?*[\\]/.test(name)) return 'it contains one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return 'it contains ".."';
  if (name.includes('@{')) return 'it contains "@{"';
  if (name === '@') return 'it is "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return 'it has an empty path component';
  if (name.endsWith('.')) return 'it ends with "."';
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return `its component "${part}" starts with "."`;
    if (part.endsWith('.lock')) return `its component "${part}" ends with ".lock"`;
  }
  if (!name.startsWith('refs/')) return 'it is not under refs/';
  if (name.split('/').length < 3) return 'it has fewer than two components after refs/';
  return undefined;
}

/** Why a push may not write this ref, or undefined when it may. */
export function checkPushRefName(name: string): string | undefined {
  const invalid = checkRefName(name);
  if (invalid) return `invalid ref name: ${invalid}`;
  if (!name.startsWith('refs/heads/') && !name.startsWith('refs/tags/')) return 'only refs/heads/ and refs/tags/ may be pushed';
  return undefined;
}
