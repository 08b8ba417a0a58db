// Members of the organisation seen from this workspace, and invitations. Admins see the forms and
// buttons; everyone else sees the list only (the server refuses the rest anyway).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useCurrentSession, useTRPC } from "../api/provider.tsx";
import { ConfirmDialog } from "../components/confirm.tsx";
import { ACTIONS_HEADER, DataTable } from "../components/data-table.tsx";
import {
  InputField,
  PageHeader,
  QueryList,
  RelativeTime,
  RequestError,
  Section,
  SelectField,
} from "../components/ui.tsx";
import { useDocumentTitle } from "../lib/hooks.ts";

const ROLES = [
  { value: "owner", label: "Owner", help: "manages the organisation, its members and owners" },
  { value: "admin", label: "Admin", help: "administers every workspace and manages members" },
  { value: "workspace-admin", label: "Workspace admin", help: "administers this workspace" },
  { value: "developer", label: "Developer", help: "deploys, runs and manages pools in this workspace" },
  { value: "viewer", label: "Viewer", help: "sees runs, logs and pools in this workspace" },
] as const;
type Role = (typeof ROLES)[number]["value"];

export function MembersPage() {
  useDocumentTitle("Members");
  const trpc = useTRPC();
  const qc = useQueryClient();
  const session = useCurrentSession();
  const isAdmin = session.scope === "ADMIN";
  const members = useQuery(trpc.members.list.queryOptions());
  const refresh = () => void qc.invalidateQueries(trpc.members.list.pathFilter());
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("developer");
  const [removing, setRemoving] = useState<string | null>(null);
  const invite = useMutation(trpc.members.invite.mutationOptions({ onSuccess: () => (setEmail(""), refresh()) }));
  const setRoleOf = useMutation(trpc.members.setRole.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.members.remove.mutationOptions({ onSuccess: () => (setRemoving(null), refresh()) }));
  const revokeInvitation = useMutation(trpc.members.revokeInvitation.mutationOptions({ onSuccess: refresh }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (email.trim()) invite.mutate({ email: email.trim(), role });
  };

  return (
    <>
      <PageHeader
        title="Members"
        subtitle={`People of ${session.user?.organization ?? "this organisation"} and their roles in workspace “${session.workspace.name}”.`}
      />
      {isAdmin ? (
        <Section title="Invite someone">
          <form className="inline-form" onSubmit={submit} aria-label="Invite a member">
            <InputField label="Email" type="email" name="email" value={email} onChange={setEmail} required />
            <SelectField
              label="Role"
              name="role"
              value={role}
              options={ROLES}
              onChange={(value) => setRole(value as Role)}
            />
            <button type="submit" className="button primary" disabled={invite.isPending || !email.trim()}>
              Invite
            </button>
          </form>
          <p className="muted small">{ROLES.find((r) => r.value === role)?.help}.</p>
          <RequestError error={invite.error} />
          {invite.data ? (
            invite.data.link ? (
              <div className="card reveal" role="region" aria-label="Invitation link" data-testid="invitation-link">
                <p>
                  This server sends no mail: give {invite.data.email} this link (it works once, until{" "}
                  {new Date(invite.data.expiresAt).toLocaleString()}).
                </p>
                <div className="command">
                  <code>{invite.data.link}</code>
                </div>
              </div>
            ) : (
              <p role="status">Invitation mailed to {invite.data.email}.</p>
            )
          ) : null}
        </Section>
      ) : null}
      <Section title="Members and invitations">
        <QueryList query={members}>
          {(rows) => (
            <DataTable
              rows={rows}
              rowKey={(m) => m.id}
              rowProps={(m) => ({ "data-member": m.email })}
              testId="members-table"
              columns={[
                { header: "Email", cell: (m) => m.email },
                { header: "Name", className: "hide-sm", cell: (m) => m.name ?? <span className="muted">—</span> },
                {
                  header: "Role",
                  cell: (m) =>
                    isAdmin && m.status === "active" && m.email !== session.user?.email ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role ?? ""}
                        onChange={(e) => setRoleOf.mutate({ email: m.email, role: e.target.value as Role })}
                      >
                        {m.role === null ? <option value="">no access here</option> : null}
                        {ROLES.map((r) => (
                          <option key={r.value} value={r.value}>
                            {r.label}
                          </option>
                        ))}
                      </select>
                    ) : (
                      (m.role ?? "no access here")
                    ),
                },
                { header: "Status", cell: (m) => m.status },
                { header: "Since", className: "hide-md", cell: (m) => <RelativeTime iso={m.since} /> },
                {
                  header: ACTIONS_HEADER,
                  cellClassName: "actions",
                  cell: (m) =>
                    !isAdmin ? null : m.status === "active" ? (
                      m.email === session.user?.email ? null : (
                        <button
                          type="button"
                          className="button small danger-outline"
                          onClick={() => setRemoving(m.email)}
                          aria-label={`Remove ${m.email}`}
                        >
                          Remove
                        </button>
                      )
                    ) : (
                      <button
                        type="button"
                        className="button small"
                        onClick={() => revokeInvitation.mutate({ id: m.id })}
                        aria-label={`Withdraw the invitation of ${m.email}`}
                      >
                        Withdraw
                      </button>
                    ),
                },
              ]}
            />
          )}
        </QueryList>
        <RequestError error={setRoleOf.error} />
      </Section>
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ?? ""}?`}
        confirmLabel="Remove member"
        danger
        busy={remove.isPending}
        onConfirm={() => removing && remove.mutate({ email: removing })}
        onCancel={() => {
          setRemoving(null);
          remove.reset();
        }}
      >
        <p>They are signed out everywhere and their API keys stop working at once.</p>
        <RequestError error={remove.error} />
      </ConfirmDialog>
    </>
  );
}
