/** The admin panel's texts, merged into the app's i18n table (keys start with "admin."). */
export const messages: { en: Record<string, string>; ru: Record<string, string> } = {
  en: {},
  ru: {},
};
