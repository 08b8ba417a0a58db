/** What release tarballs contain, as one SHA-256 (hex), whatever order `files` are given in. */
export function releaseDigest(files: readonly string[]): string;
