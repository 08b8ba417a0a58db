import { createApiClient, resolveConnection, type ApiClient } from "@flowplane/client";
import { CliError } from "./output.ts";

export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
}

export async function connect(
  opts: GlobalOptions,
  clientOptions: { withSubscriptions?: boolean } = {},
): Promise<ApiClient> {
  const conn = await resolveConnection({ workspace: opts.workspace ?? null });
  if (!conn) {
    throw new CliError(
      opts.workspace
        ? `no API key for workspace "${opts.workspace}" in the local profile; run \`flowplane login --url URL --key KEY\` or set FLOWPLANE_API_KEY`
        : "no Flowplane API configured: start a local server with `flowplane server start`, run `flowplane login --url URL --key KEY`, or set FLOWPLANE_API_URL and FLOWPLANE_API_KEY",
    );
  }
  return createApiClient(conn, clientOptions);
}
