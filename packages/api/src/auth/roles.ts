// Roles and what they allow, as pure functions: the authenticator uses them at every request, so a
// demotion or a removal narrows a member's keys and sessions at once, and the dashboard uses the same
// answers to hide what a role cannot do.
import { scopeAllows, type ApiKeyScope } from "./api-keys.ts";

export const ORG_ROLES = ["OWNER", "ADMIN", "MEMBER"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const WORKSPACE_ROLES = ["ADMIN", "DEVELOPER", "VIEWER"] as const;
export type WorkspaceRole = (typeof WORKSPACE_ROLES)[number];

/** The most a workspace role may do, as a key scope (WORKER is between viewer and developer). */
export const ROLE_SCOPE: Record<WorkspaceRole, ApiKeyScope> = {
  ADMIN: "ADMIN",
  DEVELOPER: "DEVELOPER",
  VIEWER: "READ",
};

/**
 * A user's scope in one workspace: organisation owners and admins administer every workspace of
 * their organisation; members have the role of their workspace membership, or no access (null).
 */
export function userScope(orgRole: OrgRole | null, workspaceRole: WorkspaceRole | null): ApiKeyScope | null {
  if (orgRole === null) return null;
  if (orgRole === "OWNER" || orgRole === "ADMIN") return "ADMIN";
  return workspaceRole ? ROLE_SCOPE[workspaceRole] : null;
}

/** The lower of two scopes: a key never does more than its owner may. */
export function narrowerScope(a: ApiKeyScope, b: ApiKeyScope): ApiKeyScope {
  return scopeAllows(a, b) ? b : a;
}

/** Organisation roles that manage members, invitations and service accounts. */
export function managesMembers(orgRole: OrgRole | null): boolean {
  return orgRole === "OWNER" || orgRole === "ADMIN";
}

/**
 * Whether `actor` may give or take `target` (an organisation role): only owners make or unmake
 * owners; admins manage admins and members.
 */
export function mayAssignOrgRole(actor: OrgRole | null, target: OrgRole): boolean {
  if (actor === "OWNER") return true;
  if (actor === "ADMIN") return target !== "OWNER";
  return false;
}

/**
 * The roles people name on the command line and in the dashboard: `owner` and `admin` are
 * organisation roles (admins of every workspace); `workspace-admin`, `developer` and `viewer` are
 * organisation members with that role in the current workspace.
 */
export const MEMBER_ROLES = ["owner", "admin", "workspace-admin", "developer", "viewer"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export function memberRoleParts(role: MemberRole): { orgRole: OrgRole; workspaceRole: WorkspaceRole | null } {
  switch (role) {
    case "owner":
      return { orgRole: "OWNER", workspaceRole: null };
    case "admin":
      return { orgRole: "ADMIN", workspaceRole: null };
    case "workspace-admin":
      return { orgRole: "MEMBER", workspaceRole: "ADMIN" };
    case "developer":
      return { orgRole: "MEMBER", workspaceRole: "DEVELOPER" };
    case "viewer":
      return { orgRole: "MEMBER", workspaceRole: "VIEWER" };
  }
}

/** The inverse of memberRoleParts, for listing; null when the user has no role in the workspace. */
export function memberRoleOf(orgRole: OrgRole, workspaceRole: WorkspaceRole | null): MemberRole | null {
  if (orgRole === "OWNER") return "owner";
  if (orgRole === "ADMIN") return "admin";
  switch (workspaceRole) {
    case "ADMIN":
      return "workspace-admin";
    case "DEVELOPER":
      return "developer";
    case "VIEWER":
      return "viewer";
    case null:
      return null;
  }
}
