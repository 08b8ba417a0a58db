// Invitations and password resets by mail, through nodemailer to a real SMTP server on loopback
// (smtp-server): the invitee gets the link, the inviter does not see it, and the link works.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callError, createTestApi, TestBrowser, type TestApi } from "../../testing.ts";
import { createSmtpMailer } from "../mailer.ts";

interface Received {
  from: string;
  to: string[];
  raw: string;
}

let api: TestApi;
let smtp: SMTPServer;
let mailer: ReturnType<typeof createSmtpMailer>;
const inbox: Received[] = [];

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, "127.0.0.1", resolve));
  const { port } = smtp.server.address() as AddressInfo;
  mailer = createSmtpMailer({ url: `smtp://127.0.0.1:${port}`, from: "Flowplane <noreply@flowplane.test>" });
  api = await createTestApi({ mailer, config: { scryptCost: 2 ** 10, publicUrl: "http://dash.test" } });
});
afterAll(async () => {
  mailer?.close();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await api?.close();
});

/** The dashboard link in a mail (quoted-printable soft breaks undone). */
function linkIn(mail: Received, page: string): string {
  const body = mail.raw.replace(/=\r?\n/g, "");
  const match = new RegExp(`http://dash\\.test/${page}#([\\w-]+)`).exec(body);
  if (!match) throw new Error(`no ${page} link in:\n${body}`);
  return match[1]!;
}

describe("mail", () => {
  it("an invitation is mailed to the invitee, not shown to the inviter, and its link signs them up", async () => {
    const invited = await api.a.as.ADMIN.members.invite({ email: "Mailed@Example.com", role: "viewer" });
    expect(invited).toMatchObject({ mailed: true, link: null, email: "mailed@example.com" });
    const mail = inbox.at(-1)!;
    expect(mail.to).toEqual(["mailed@example.com"]);
    expect(mail.from).toBe("noreply@flowplane.test");
    expect(mail.raw).toMatch(/Subject: You are invited to org-ws-a on Flowplane/);
    const token = linkIn(mail, "accept-invite");
    const browser = new TestBrowser();
    await api.caller(null, { http: browser }).auth.acceptInvitation({ token, password: "viewer's passphrase" });
    expect((await api.a.as.ADMIN.members.list()).find((m) => m.email === "mailed@example.com")).toMatchObject({
      status: "active",
      role: "viewer",
    });
  });

  it("a forgotten password is reset through a mailed link; unknown emails get the same answer and no mail", async () => {
    const before = inbox.length;
    expect(await api.caller(null).auth.requestPasswordReset({ email: "nobody@example.com" })).toEqual({ mailed: true });
    expect(inbox.length).toBe(before);
    expect(await api.caller(null).auth.requestPasswordReset({ email: "mailed@example.com" })).toEqual({ mailed: true });
    const token = linkIn(inbox.at(-1)!, "reset-password");
    await api.caller(null).auth.resetPassword({ token, password: "a fresh passphrase" });
    const browser = new TestBrowser();
    await api
      .caller(null, { http: browser })
      .auth.signIn({ email: "mailed@example.com", password: "a fresh passphrase" });
    expect(
      (await callError(api.caller(null).auth.resetPassword({ token, password: "again a passphrase" }))).message,
    ).toMatch(/already used/);
  });
});
