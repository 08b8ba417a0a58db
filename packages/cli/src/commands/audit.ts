// `flowplane audit`: the workspace's audit log (admin keys and workspace admins only).
import { once } from "node:events";
import type { Command } from "commander";
import { connect, type GlobalOptions } from "../api.ts";
import { dataCommand, isoTime, oneOf, wholeNumber } from "../command.ts";
import { printTable } from "../output.ts";

const OUTCOMES = ["ok", "refused", "failed"] as const;

interface FilterOptions {
  actor?: string;
  action?: string;
  since?: string;
  until?: string;
  outcome?: (typeof OUTCOMES)[number];
}

/** The API's filter from the flags; times go as full ISO-8601 instants. */
function filterOf(opts: FilterOptions) {
  return {
    ...(opts.actor ? { actor: opts.actor } : {}),
    ...(opts.action ? { action: opts.action } : {}),
    ...(opts.outcome ? { outcome: opts.outcome } : {}),
    ...(opts.since ? { since: new Date(opts.since).toISOString() } : {}),
    ...(opts.until ? { until: new Date(opts.until).toISOString() } : {}),
  };
}

function filterFlags(command: Command): Command {
  return command
    .option("--actor <who>", "a user's email, a service account's or key's name or id, or a key prefix")
    .option("--action <action>", "a procedure (secrets.set) or a prefix ending in '.' or '*' (apiKeys.*)")
    .option("--since <iso>", "entries at or after this time (ISO-8601)", isoTime("--since"))
    .option("--until <iso>", "entries before this time (ISO-8601)", isoTime("--until"))
    .option("--outcome <outcome>", OUTCOMES.join(" | "), oneOf("--outcome", OUTCOMES));
}

export function registerAudit(program: Command): void {
  const audit = program
    .command("audit")
    .description("the audit log: who did what, when, from where, with which outcome");
  dataCommand(
    filterFlags(audit.command("ls").description("list audit log entries, newest first")).option(
      "--limit <n>",
      "how many",
      wholeNumber("--limit", { min: 1, max: 500 }),
      50,
    ),
    {
      call: async (api, _args: [], opts: FilterOptions & { limit: number }) =>
        (await api.audit.list.query({ ...filterOf(opts), limit: opts.limit })).events,
      print: (events) =>
        printTable(
          events.map((e) => ({
            time: e.occurredAt,
            actor: e.actor.name ?? (e.actor.apiKeyPrefix ? `key ${e.actor.apiKeyPrefix}` : "anonymous"),
            key: e.actor.apiKeyName ?? e.actor.apiKeyPrefix,
            action: e.action,
            target: e.target,
            outcome: e.errorCode ? `${e.outcome} ${e.errorCode}` : e.outcome,
            count: e.count,
            ip: e.ip,
          })),
          ["time", "actor", "key", "action", "target", "outcome", "count", "ip"],
        ),
    },
  );
  filterFlags(
    audit
      .command("export")
      .description("write audit log entries as JSON Lines (one entry per line, oldest first) to stdout"),
  ).action(async (opts: GlobalOptions & FilterOptions) => {
    const api = await connect(opts);
    let cursor: string | undefined;
    // Pages of 5000 keep memory flat however large the export; each is written before the next is asked for.
    do {
      const page = await api.audit.export.query({ ...filterOf(opts), ...(cursor ? { cursor } : {}) });
      const lines = page.events.map((e) => JSON.stringify(e) + "\n").join("");
      if (lines && !process.stdout.write(lines)) await once(process.stdout, "drain");
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  });
}
