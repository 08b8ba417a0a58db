// The audit log (issue 18.5): workspace admins read it and export it; nobody can write to it
// except by acting (the middleware in trpc.ts records every mutation).
import { z } from "zod";
import { listAuditEvents } from "../services/audit/queries.ts";
import { adminProcedure, router } from "../trpc.ts";

const filter = {
  actor: z.string().trim().min(1).max(320).optional(),
  action: z.string().trim().min(1).max(200).optional(),
  outcome: z.enum(["ok", "refused", "failed"]).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.string().max(200).optional(),
};
const toDate = (iso: string | undefined) => (iso ? new Date(iso) : undefined);

/** One reader for both procedures: the page size and order are what differ. */
function read(order: "newest" | "oldest", maxPage: number, defaultPage: number) {
  return adminProcedure
    .input(z.object({ ...filter, limit: z.number().int().min(1).max(maxPage).default(defaultPage) }))
    .query(({ ctx, input }) =>
      listAuditEvents(ctx.services.resources, ctx.workspaceId, {
        ...input,
        since: toDate(input.since),
        until: toDate(input.until),
        order,
      }),
    );
}

export const auditRouter = router({
  /** Newest first, a page at a time (`nextCursor` continues). */
  list: read("newest", 500, 100),
  /** Oldest first from `since`, in pages of up to 5000, for `flowplane audit export` (JSON Lines). */
  export: read("oldest", 5000, 5000),
});
