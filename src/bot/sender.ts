import type { Context } from "grammy";
import type { User } from "grammy/types";
import type { TelegramIdentity } from "../accounts/telegram-login.js";
import type { TelegramUserInfo } from "../accounts/telegram-user.js";
import { pickLang, type Lang } from "./i18n.js";

/** Who sent an update, in the shapes the accounts verbs take, and the language to answer in. */
export const userInfo = (u: User): TelegramUserInfo => ({
  id: u.id,
  first_name: u.first_name,
  last_name: u.last_name,
  username: u.username,
  language_code: u.language_code,
});
export const identity = (u: User): TelegramIdentity => ({
  id: u.id,
  firstName: u.first_name,
  lastName: u.last_name ?? null,
  username: u.username ?? null,
  languageCode: u.language_code ?? null,
});
export const langOf = (ctx: Context): Lang => pickLang(ctx.from?.language_code);
