import nodemailer from "nodemailer";
import type { Logger } from "../core/logger.js";

/** The SMTP slice of the settings (config/env.ts SMTP_* and MAIL_FROM). */
export interface MailSettings {
  host: string | undefined;
  port: number;
  /** TLS from the first byte (465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
}

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends e-mail; `null` from createMailer when no SMTP host is configured (callers skip e-mail then). */
export interface Mailer {
  send(m: MailMessage): Promise<void>;
  close(): void;
}

export function createMailer(s: MailSettings, logger?: Logger): Mailer | null {
  if (!s.host) return null;
  const transport = nodemailer.createTransport({
    host: s.host,
    port: s.port,
    secure: s.secure,
    auth: s.user ? { user: s.user, pass: s.password ?? "" } : undefined,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    async send(m) {
      await transport.sendMail({ from: s.from, to: m.to, subject: m.subject, text: m.text });
      // The address is personal data and the body may carry a one-time link: log neither.
      logger?.debug({ subject: m.subject }, "e-mail sent");
    },
    close: () => transport.close(),
  };
}

export function mailSettingsFromEnv(env: { SMTP_HOST?: string; SMTP_PORT: number; SMTP_SECURE: boolean; SMTP_USER?: string; SMTP_PASSWORD?: string; MAIL_FROM: string }): MailSettings {
  return { host: env.SMTP_HOST, port: env.SMTP_PORT, secure: env.SMTP_SECURE, user: env.SMTP_USER, password: env.SMTP_PASSWORD, from: env.MAIL_FROM };
}
