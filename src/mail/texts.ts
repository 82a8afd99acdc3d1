/**
 * Customer e-mail in Russian and English. Each function returns subject and body; links are full
 * URLs built by the caller. Amounts arrive formatted (core/money formatting at the edge).
 */
export type MailLang = "ru" | "en";

export function mailLang(v: string | null | undefined): MailLang {
  return v && /^(ru|uk|be|kk)\b/i.test(v) ? "ru" : "en";
}

interface Text {
  subject: string;
  text: string;
}

const sign = { ru: "— LLM Gateway", en: "— LLM Gateway" };

export const MAIL = {
  verify(lang: MailLang, link: string, minutes: number): Text {
    return lang === "ru"
      ? { subject: "Подтвердите адрес электронной почты", text: `Здравствуйте!\n\nЧтобы подтвердить адрес, откройте ссылку:\n${link}\n\nСсылка действует ${hoursOrMinutes(lang, minutes)} и работает один раз. Если вы не регистрировались, просто удалите это письмо.\n\n${sign.ru}` }
      : { subject: "Confirm your e-mail address", text: `Hello,\n\nTo confirm your address, open this link:\n${link}\n\nThe link is valid for ${hoursOrMinutes(lang, minutes)} and works once. If you did not sign up, just delete this message.\n\n${sign.en}` };
  },
  reset(lang: MailLang, link: string, minutes: number): Text {
    return lang === "ru"
      ? { subject: "Сброс пароля", text: `Здравствуйте!\n\nКто-то (надеемся, вы) запросил сброс пароля. Чтобы задать новый пароль, откройте ссылку:\n${link}\n\nСсылка действует ${hoursOrMinutes(lang, minutes)} и работает один раз. Если вы ничего не запрашивали, ничего не делайте: пароль останется прежним.\n\n${sign.ru}` }
      : { subject: "Reset your password", text: `Hello,\n\nSomeone (hopefully you) asked to reset your password. To choose a new one, open this link:\n${link}\n\nThe link is valid for ${hoursOrMinutes(lang, minutes)} and works once. If you did not ask, do nothing: your password stays as it is.\n\n${sign.en}` };
  },
  lowBalance(lang: MailLang, balance: string, threshold: string): Text {
    return lang === "ru"
      ? { subject: "Баланс заканчивается", text: `Здравствуйте!\n\nНа вашем счёте осталось ${balance} — меньше порога ${threshold}. Пополните баланс, чтобы запросы не остановились.\n\n${sign.ru}` }
      : { subject: "Your balance is running low", text: `Hello,\n\nYour balance is ${balance}, below your threshold of ${threshold}. Top up so your requests keep working.\n\n${sign.en}` };
  },
  receipt(lang: MailLang, r: { amount: string; balance: string; method: string; ref: string; date: string }): Text {
    return lang === "ru"
      ? { subject: `Платёж получен: ${r.amount}`, text: `Здравствуйте!\n\nМы получили ваш платёж.\n\nСумма: ${r.amount}\nСпособ: ${r.method}\nДата: ${r.date}\nНомер: ${r.ref}\nБаланс после зачисления: ${r.balance}\n\nСпасибо!\n${sign.ru}` }
      : { subject: `Payment received: ${r.amount}`, text: `Hello,\n\nWe received your payment.\n\nAmount: ${r.amount}\nMethod: ${r.method}\nDate: ${r.date}\nReference: ${r.ref}\nBalance after the top-up: ${r.balance}\n\nThank you!\n${sign.en}` };
  },
};

function hoursOrMinutes(lang: MailLang, minutes: number): string {
  const ru = lang === "ru";
  const plural = new Intl.PluralRules(ru ? "ru" : "en");
  if (minutes % 60 === 0) {
    const h = minutes / 60;
    const f = plural.select(h);
    return `${h} ${ru ? ({ one: "час", few: "часа", many: "часов" } as Record<string, string>)[f] ?? "часа" : h === 1 ? "hour" : "hours"}`;
  }
  const f = plural.select(minutes);
  return `${minutes} ${ru ? ({ one: "минуту", few: "минуты", many: "минут" } as Record<string, string>)[f] ?? "минуты" : minutes === 1 ? "minute" : "minutes"}`;
}
