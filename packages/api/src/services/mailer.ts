// Outgoing mail (invitations, password resets) over SMTP with nodemailer. Without SMTP configured
// there is no mailer, and the API returns links to the admin who asked instead.
import nodemailer from "nodemailer";

export interface Mail {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(mail: Mail): Promise<void>;
}

export interface SmtpConfig {
  /** `smtp://user:pass@host:port` or `smtps://…` */
  url: string;
  from: string;
}

export function createSmtpMailer(config: SmtpConfig): Mailer & { close(): void } {
  const transport = nodemailer.createTransport(config.url);
  return {
    async send(mail) {
      await transport.sendMail({ from: config.from, to: mail.to, subject: mail.subject, text: mail.text });
    },
    close() {
      transport.close();
    },
  };
}
