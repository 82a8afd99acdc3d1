import { useQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { useParams } from "react-router";
import { api, ApiError, unwrap } from "../api/client";
import { Empty, QueryView } from "../components/states";
import { Badge, Card, LinkButton, PageHeader } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { statusTone } from "./activity";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-1 gap-1 py-2 sm:grid-cols-3">
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="tabular text-sm text-slate-900 sm:col-span-2">{children}</dd>
    </div>
  );
}

/** One request (the /v1/generation record); another account's id is "not found". */
export function ActivityDetailPage() {
  const { id = "" } = useParams();
  const { t } = useI18n();
  const f = useFormat();
  const q = useQuery({ queryKey: ["generation", id], queryFn: () => unwrap(api.GET("/v1/generation", { params: { query: { id } } })) });
  const back = (
    <LinkButton to="/activity" variant="secondary">
      {t("common.back")}
    </LinkButton>
  );
  if (q.isError && q.error instanceof ApiError && q.error.status === 404)
    return (
      <>
        <PageHeader title={t("activity.detailTitle", { id })} actions={back} />
        <Empty>
          <span data-testid="request-not-found">{t("activity.notFound")}</span>
        </Empty>
      </>
    );
  return (
    <>
      <PageHeader title={t("activity.detailTitle", { id })} actions={back} />
      <QueryView q={q}>
        {({ data: g }) => (
          <Card>
            <dl className="divide-y divide-slate-100">
              <Row label={t("activity.created")}>{f.dateTime(g.created_at)}</Row>
              <Row label={t("activity.status")}>
                <Badge tone={statusTone(g.status)}>{t(`activity.status.${g.status}`)}</Badge>
                {g.error_code && <span className="ml-2 font-mono text-xs">{g.error_code}</span>}
              </Row>
              <Row label={t("activity.requested")}>
                <span className="font-mono">{g.model ?? "—"}</span>
              </Row>
              <Row label={t("activity.served")}>
                <span className="font-mono">{g.served_model ?? "—"}</span>
              </Row>
              <Row label={t("activity.provider")}>{g.provider_name ?? "—"}</Row>
              <Row label={t("activity.cost")}>
                <span data-testid="detail-cost" data-cost={g.cost ?? ""}>{f.cost(g.cost)}</span>
              </Row>
              <Row label={t("activity.prompt")}>{f.number(g.tokens_prompt)}</Row>
              <Row label={t("activity.completion")}>{f.number(g.tokens_completion)}</Row>
              <Row label={t("activity.cached")}>{f.number(g.tokens_cached)}</Row>
              <Row label={t("activity.reasoning")}>{f.number(g.tokens_reasoning)}</Row>
              {g.estimated && <Row label={t("activity.estimated")}>{t("activity.estimatedLong")}</Row>}
              <Row label={t("activity.latency")}>{f.ms(g.latency)}</Row>
              <Row label={t("activity.ttft")}>{f.ms(g.ttft)}</Row>
              <Row label={t("activity.streamed")}>{g.streamed ? t("common.yes") : t("common.no")}</Row>
              <Row label={t("activity.cacheHit")}>{g.cache_hit ? t("common.yes") : t("common.no")}</Row>
            </dl>
          </Card>
        )}
      </QueryView>
    </>
  );
}
