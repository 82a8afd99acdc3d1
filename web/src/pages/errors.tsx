import { LinkButton } from "../components/ui";
import { useI18n } from "../i18n/context";

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <div className="py-10">
      <h1 className="text-xl font-semibold text-slate-900">{t("common.notFound")}</h1>
      <p className="mt-2 text-sm text-slate-600">{t("common.notFoundText")}</p>
      <LinkButton to="/" className="mt-4">
        {t("common.toOverview")}
      </LinkButton>
    </div>
  );
}

/** What a client's session sees on an admin URL. */
export function ForbiddenPage() {
  const { t } = useI18n();
  return (
    <div className="py-10" data-testid="forbidden">
      <h1 className="text-xl font-semibold text-slate-900">403</h1>
      <p className="mt-2 text-sm text-slate-600">{t("common.forbidden")}</p>
      <LinkButton to="/" className="mt-4">
        {t("common.toOverview")}
      </LinkButton>
    </div>
  );
}
