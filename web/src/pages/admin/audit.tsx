import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { DateField } from "../../components/date-field";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Button, Card, Field, PageHeader } from "../../components/ui";
import { FilterBar, Id, Json, Mono, Pager } from "../../features/admin/components";
import { adminKey, useCursorPages } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

/** Who changed what, when: the admin API's audit rows with their before/after snapshots. */
export function AdminAuditPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const [params, setParams] = useSearchParams();
  const pages = useCursorPages();
  const filters = {
    actor: params.get("actor") ?? "",
    action: params.get("action") ?? "",
    target_type: params.get("target_type") ?? "",
    target_id: params.get("target_id") ?? "",
    from: params.get("from") ?? "",
    to: params.get("to") ?? "",
  };
  const [draft, setDraft] = useState(filters);
  const [open, setOpen] = useState<string | null>(null);
  const q = useQuery({
    queryKey: adminKey("audit", filters, pages.cursor),
    queryFn: () =>
      unwrap(
        api.GET("/admin/audit-log", {
          params: {
            query: {
              limit: 50,
              cursor: pages.cursor,
              actor: filters.actor || undefined,
              action: filters.action || undefined,
              target_type: filters.target_type || undefined,
              target_id: filters.target_id || undefined,
              from: fmt.instant(filters.from),
              to: fmt.instant(filters.to),
            },
          },
        }),
      ),
  });
  const apply = () => {
    pages.reset();
    setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v)));
  };
  return (
    <>
      <PageHeader title={t("admin.nav.audit")}>{t("admin.audit.subtitle")}</PageHeader>
      <FilterBar onSubmit={apply}>
        <Field label={t("admin.audit.actor")} value={draft.actor} onChange={(e) => setDraft({ ...draft, actor: e.target.value.trim() })} placeholder="admin:…" className="w-44" />
        <Field label={t("admin.audit.action")} value={draft.action} onChange={(e) => setDraft({ ...draft, action: e.target.value.trim() })} placeholder="key.*" className="w-40" />
        <Field label={t("admin.audit.targetType")} value={draft.target_type} onChange={(e) => setDraft({ ...draft, target_type: e.target.value.trim() })} className="w-36" />
        <Field label={t("admin.audit.targetId")} value={draft.target_id} onChange={(e) => setDraft({ ...draft, target_id: e.target.value.trim() })} className="w-44" />
        <DateField label={t("admin.from")} time value={draft.from} onChange={(v) => setDraft({ ...draft, from: v })} className="w-64" />
        <DateField label={t("admin.to")} time value={draft.to} onChange={(v) => setDraft({ ...draft, to: v })} className="w-64" />
      </FilterBar>
      <Card>
        <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.audit.empty")}>
          {(d) => (
            <>
              <DataTable
                label={t("admin.nav.audit")}
                rows={d.data}
                rowKey={(e) => e.id}
                rowAttrs={(e) => ({ "data-testid": "audit-row", "data-action": e.action })}
                columns={[
                  { header: t("admin.time"), cell: (e) => fmt.dateTime(e.created_at) },
                  {
                    header: t("admin.audit.actor"),
                    cell: (e) => (
                      <>
                        <Id id={e.actor} />
                        {e.ip && <div className="text-xs text-slate-600">{e.ip}</div>}
                      </>
                    ),
                  },
                  { header: t("admin.audit.action"), cell: (e) => <Mono>{e.action}</Mono> },
                  {
                    header: t("admin.audit.target"),
                    cell: (e) => (
                      <>
                        <div>{e.target_type}</div>
                        {e.target_id && <Id id={e.target_id} />}
                      </>
                    ),
                  },
                  {
                    header: t("admin.audit.changes"),
                    srOnly: true,
                    cell: (e) => (
                      <Button variant="ghost" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                        {open === e.id ? t("admin.audit.hide") : t("admin.audit.show")}
                      </Button>
                    ),
                  },
                ]}
                expanded={(e) =>
                  open === e.id && (
                    <div className="grid gap-3 md:grid-cols-2">
                      <div>
                        <h3 className="mb-1 text-xs font-semibold uppercase text-slate-600">{t("admin.audit.before")}</h3>
                        <Json value={e.before} />
                      </div>
                      <div>
                        <h3 className="mb-1 text-xs font-semibold uppercase text-slate-600">{t("admin.audit.after")}</h3>
                        <Json value={e.after} />
                      </div>
                    </div>
                  )
                }
              />
              <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => pages.next(d.next_cursor)} />
            </>
          )}
        </QueryView>
      </Card>
    </>
  );
}
