// IAM's evaluation of an identity-based policy, for tests that hold infra/'s policy documents
// against the requests the pools make: an explicit Deny wins, otherwise some Allow statement must
// match the action, the resource and every condition. Wildcards follow IAM: `*` matches any run of
// characters (":" and "/" included), `?` one character; actions match case-insensitively. Only the
// condition operators infra/ uses are known (ArnEquals, ArnLike, StringEquals, StringLike); any other
// throws, so a policy that grows one cannot pass a test this evaluator does not understand.

export interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

/** One request as IAM authorises it: `ecs:RunTask` on a resource ARN, with its condition keys. */
export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** An infra/ policy file with its REGION and ACCOUNT_ID placeholders filled in. */
export function loadPolicy(text: string, where: { region: string; account: string }): PolicyDocument {
  return JSON.parse(text.replaceAll("REGION", where.region).replaceAll("ACCOUNT_ID", where.account)) as PolicyDocument;
}

function glob(pattern: string, value: string, caseInsensitive = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replaceAll("*", ".*")
    .replaceAll("?", ".");
  return new RegExp(`^${source}$`, caseInsensitive ? "i" : "").test(value);
}

function conditionHolds(operator: string, key: string, expected: string | string[], context: Record<string, string>) {
  const actual = context[key];
  // Without the key in the request, a condition without IfExists does not hold.
  if (actual === undefined) return false;
  const values = [expected].flat();
  switch (operator) {
    case "StringEquals":
      return values.includes(actual);
    case "StringLike":
    case "ArnEquals":
    case "ArnLike":
      return values.some((v) => glob(v, actual));
    default:
      throw new Error(`IAM condition operator ${operator} is not modelled by this evaluator`);
  }
}

function matches(statement: PolicyStatement, request: IamRequest): boolean {
  const context = request.context ?? {};
  return (
    [statement.Action].flat().some((a) => glob(a, request.action, true)) &&
    [statement.Resource].flat().some((r) => glob(r, request.resource)) &&
    Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
      Object.entries(keys).every(([key, expected]) => conditionHolds(operator, key, expected, context)),
    )
  );
}

/** Whether `policy` lets its principal make `request`. */
export function policyAllows(policy: PolicyDocument, request: IamRequest): boolean {
  if (policy.Statement.some((s) => s.Effect === "Deny" && matches(s, request))) return false;
  return policy.Statement.some((s) => s.Effect === "Allow" && matches(s, request));
}

/** The statements of `policy` that allow `request` (by Sid), for tests that check which one grants it. */
export function grantingStatements(policy: PolicyDocument, request: IamRequest): string[] {
  return policy.Statement.filter((s) => s.Effect === "Allow" && matches(s, request)).map((s) => s.Sid ?? "");
}
