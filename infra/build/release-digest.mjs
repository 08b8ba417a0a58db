// What release tarballs contain, as one SHA-256 (hex): the key under which the images
// (infra/build-images.sh) and the test suite's npm installs of them are reused.
//
//   node infra/build/release-digest.mjs TARBALL...
//
// It hashes the files' contents, not the tarballs' bytes: packing stamps them anew each time, and
// pnpm pack writes a manifest's keys in no fixed order, so each package.json is hashed with its keys
// sorted.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";

const tar = (args) => execFileSync("tar", args, { maxBuffer: 512 * 1024 * 1024 });

function sortedKeys(value) {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortedKeys(value[key])]),
  );
}

/** The digest of `files` (tarball paths), whatever order they are given in. */
export function releaseDigest(files) {
  const hash = createHash("sha256");
  for (const file of [...files].sort((a, b) => path.basename(a).localeCompare(path.basename(b)))) {
    const manifest = JSON.parse(tar(["-xzOf", file, "package/package.json"]).toString("utf8"));
    hash.update(path.basename(file)).update(JSON.stringify(sortedKeys(manifest)));
    hash.update(tar(["-xzOf", file, "--exclude", "package/package.json"]));
  }
  return hash.digest("hex");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    process.stderr.write("usage: node infra/build/release-digest.mjs TARBALL...\n");
    process.exit(2);
  }
  process.stdout.write(releaseDigest(files) + "\n");
}
