import { PageHeader } from "../components/ui";
import { useI18n } from "../i18n/context";

export function OverviewPage() {
  const { t } = useI18n();
  return <PageHeader title={t("nav.overview")} />;
}
