import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { api, unwrap } from "../../api/client";
import { FormDialog } from "../../components/form-dialog";
import { QueryView } from "../../components/states";
import { DataTable } from "../../components/data-table";
import { Button, Card, Field, PageHeader, Select } from "../../components/ui";
import { FilterBar, Id, Pager, SignedMoney, StatusBadge } from "../../features/admin/components";
import { adminKey, errorText, useAdminMutation, useCursorPages } from "../../features/admin/hooks";
import { useI18n } from "../../i18n/context";
import { useFormat } from "../../i18n/format";

export function useTariffs() {
  return useQuery({ queryKey: adminKey("tariffs"), queryFn: () => unwrap(api.GET("/admin/tariffs")) });
}

function CreateAccountDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const { t } = useI18n();
  const nav = useNavigate();
  const tariffs = useTariffs();
  const create = useAdminMutation(
    (b: { name: string; initial_balance?: string; tariff_id?: string }) => unwrap(api.POST("/admin/accounts", { body: b })),
    { onSuccess: (a) => nav(`/admin/accounts/${a.id}`) },
  );
  function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const balance = String(f.get("balance") ?? "").trim().replace(",", ".");
    create.mutate({ name: String(f.get("name") ?? "").trim(), initial_balance: balance || undefined, tariff_id: String(f.get("tariff") ?? "") || undefined });
  }
  return (
    <FormDialog open={open} title={t("admin.accounts.create")} onClose={onClose} onSubmit={submit} error={create.error ? errorText(create.error) : null} busy={create.isPending} submitLabel={t("admin.accounts.createSubmit")}>
        <Field label={t("admin.accounts.name")} name="name" required maxLength={200} />
        <Select label={t("admin.tariff")} name="tariff" defaultValue="">
          <option value="">{t("admin.accounts.defaultTariff")}</option>
          {(tariffs.data?.data ?? [])
            .filter((x) => x.status === "active")
            .map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} (×{x.markup})
              </option>
            ))}
        </Select>
        <Field label={t("admin.accounts.initialBalance")} name="balance" inputMode="decimal" placeholder="0.00" pattern="^\d{1,12}([.,]\d{1,6})?$" />
    </FormDialog>
  );
}

/** Accounts: search (name, id, or a user's email/name/Telegram id), status filter, pages. */
export function AdminAccountsPage() {
  const { t } = useI18n();
  const fmt = useFormat();
  const [params, setParams] = useSearchParams();
  const pages = useCursorPages();
  const search = params.get("q") ?? "";
  const status = (params.get("status") ?? "") as "" | "active" | "blocked";
  const [draft, setDraft] = useState({ q: search, status });
  const [creating, setCreating] = useState(false);
  const tariffs = useTariffs();
  const tariffName = (id: string | null) => (id ? (tariffs.data?.data.find((x) => x.id === id)?.name ?? id) : t("admin.accounts.defaultTariff"));
  const q = useQuery({
    queryKey: adminKey("accounts", search, status, pages.cursor),
    queryFn: () => unwrap(api.GET("/admin/accounts", { params: { query: { q: search || undefined, status: status || undefined, limit: 50, cursor: pages.cursor } } })),
  });
  return (
    <>
      <PageHeader title={t("admin.nav.accounts")} actions={<Button onClick={() => setCreating(true)}>{t("admin.accounts.create")}</Button>}>
        {t("admin.accounts.subtitle")}
      </PageHeader>
      <FilterBar
        onSubmit={() => {
          pages.reset();
          setParams(Object.fromEntries(Object.entries(draft).filter(([, v]) => v)));
        }}
      >
        <Field label={t("common.search")} type="search" value={draft.q} onChange={(e) => setDraft({ ...draft, q: e.target.value })} placeholder={t("admin.accounts.searchHint")} className="w-72" />
        <Select label={t("admin.status")} value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.target.value as typeof status })} className="w-40">
          <option value="">{t("common.all")}</option>
          <option value="active">{t("admin.status.active")}</option>
          <option value="blocked">{t("admin.status.blocked")}</option>
        </Select>
      </FilterBar>
      <Card>
        <QueryView q={q} isEmpty={(d) => d.data.length === 0} empty={t("admin.accounts.empty")}>
          {(d) => (
            <>
              <DataTable
                label={t("admin.nav.accounts")}
                rows={d.data}
                rowKey={(a) => a.id}
                columns={[
                  {
                    header: t("admin.accounts.name"),
                    cell: (a) => (
                      <Link to={`/admin/accounts/${a.id}`} className="font-medium text-indigo-700 underline">
                        {a.name}
                      </Link>
                    ),
                  },
                  { header: "ID", cell: (a) => <Id id={a.id} /> },
                  { header: t("admin.status"), cell: (a) => <StatusBadge status={a.status} /> },
                  { header: t("admin.balance"), align: "right", cell: (a) => <SignedMoney value={a.balance} format={fmt.cost} /> },
                  { header: t("admin.reserved"), align: "right", cell: (a) => fmt.cost(a.reserved) },
                  { header: t("admin.tariff"), cell: (a) => tariffName(a.tariff_id) },
                  { header: t("admin.accounts.users"), align: "right", cell: (a) => fmt.number(a.user_count ?? null) },
                  { header: t("admin.accounts.keys"), align: "right", cell: (a) => fmt.number(a.key_count ?? null) },
                  { header: t("admin.created"), cell: (a) => fmt.date(a.created_at) },
                ]}
              />
              <Pager page={pages.page} hasNext={!!d.next_cursor} onPrev={pages.prev} onNext={() => pages.next(d.next_cursor)} />
            </>
          )}
        </QueryView>
      </Card>
      <CreateAccountDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}
