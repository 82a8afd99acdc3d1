import { useDeferredValue } from "react";
import { useSearchParams } from "react-router";
import { CopyButton } from "../components/copy-button";
import { QueryView } from "../components/states";
import { Card, Field, PageHeader, TableFrame, td, th } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";
import { usePrices } from "../lib/queries";

export function ModelsPage() {
  const { t } = useI18n();
  const f = useFormat();
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const deferred = useDeferredValue(search.toLowerCase());
  const q = usePrices();
  return (
    <>
      <PageHeader title={t("models.title")}>
        {t("models.note", { currency: f.currency })}
        {q.data && <> {t("models.tariff", { name: q.data.tariff.name })}</>}
      </PageHeader>
      <Card>
        <Field
          className="mb-4 max-w-sm"
          label={t("models.search")}
          type="search"
          value={search}
          onChange={(e) => setParams(e.target.value ? { q: e.target.value } : {}, { replace: true })}
        />
        <QueryView q={q} empty={t("models.empty")} isEmpty={(d) => !d.data.some((m) => m.id.toLowerCase().includes(deferred))}>
          {(d) => (
            <>
            {/* Below 640 px one card per model: a six-column table would hide the prices off-screen. */}
            <ul className="divide-y divide-slate-100 sm:hidden">
              {d.data
                .filter((m) => m.id.toLowerCase().includes(deferred))
                .map((m) => (
                  <li key={m.id} className="py-3" data-model-card={m.id}>
                    <div className="flex items-center justify-between gap-2">
                      <span className="break-all font-mono text-xs text-slate-900">{m.id}</span>
                      <CopyButton text={m.id} what={m.id} className="min-h-7 shrink-0 px-2 py-1 text-xs" />
                    </div>
                    <dl className="mt-2 grid grid-cols-2 gap-x-3 gap-y-1 text-xs">
                      <dt className="text-slate-600">{t("models.input")}</dt>
                      <dd className="tabular text-right text-slate-900">{m.input_per_1m === null ? t("models.notPriced") : f.cost(m.input_per_1m)}</dd>
                      <dt className="text-slate-600">{t("models.output")}</dt>
                      <dd className="tabular text-right text-slate-900">{m.output_per_1m === null ? t("models.notPriced") : f.cost(m.output_per_1m)}</dd>
                      <dt className="text-slate-600">{t("models.context")}</dt>
                      <dd className="tabular text-right text-slate-900">{m.context_length ? f.number(m.context_length) : "—"}</dd>
                    </dl>
                  </li>
                ))}
            </ul>
            <div className="hidden sm:block">
            <TableFrame label={t("models.title")}>
              <thead>
                <tr>
                  <th className={th}>{t("models.id")}</th>
                  <th className={`${th} text-right`}>{t("models.input")}</th>
                  <th className={`${th} text-right`}>{t("models.output")}</th>
                  <th className={`${th} text-right`}>{t("models.context")}</th>
                  <th className={th}>{t("models.modalities")}</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-slate-100">
                {d.data
                  .filter((m) => m.id.toLowerCase().includes(deferred))
                  .map((m) => (
                    <tr key={m.id} data-model-id={m.id}>
                      <td className={td}>
                        <div className="flex items-center gap-2">
                          <span className="font-mono text-xs">{m.id}</span>
                          <CopyButton text={m.id} what={m.id} className="min-h-7 px-2 py-1 text-xs" />
                        </div>
                        {m.name && <div className="text-xs text-slate-600">{m.name}</div>}
                      </td>
                      <td className={`${td} tabular text-right`}>{m.input_per_1m === null ? t("models.notPriced") : f.cost(m.input_per_1m)}</td>
                      <td className={`${td} tabular text-right`}>{m.output_per_1m === null ? t("models.notPriced") : f.cost(m.output_per_1m)}</td>
                      <td className={`${td} tabular text-right`}>{m.context_length ? f.number(m.context_length) : "—"}</td>
                      <td className={`${td} text-xs`}>{`${m.input_modalities.join(", ")} → ${m.output_modalities.join(", ")}`}</td>
                    </tr>
                  ))}
              </tbody>
            </TableFrame>
            </div>
            </>
          )}
        </QueryView>
      </Card>
    </>
  );
}
