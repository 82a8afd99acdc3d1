import { useQuery } from "@tanstack/react-query";
import { api, unwrap } from "../api/client";
import { CopyButton } from "../components/copy-button";
import { Empty, QueryView } from "../components/states";
import { Card, PageHeader, Stat, TableFrame, td, th } from "../components/ui";
import { useI18n } from "../i18n/context";
import { useFormat } from "../i18n/format";

export function ReferralsPage() {
  const { t } = useI18n();
  const f = useFormat();
  const q = useQuery({ queryKey: ["referrals"], queryFn: () => unwrap(api.GET("/v1/client/referrals")) });
  return (
    <>
      <PageHeader title={t("referrals.title")} />
      <QueryView q={q}>
        {(r) => {
          const link = r.web_link.startsWith("http") ? r.web_link : `${location.origin}${r.web_link}`;
          return (
            <>
              <Card title={t("referrals.link")}>
                <p className="mb-3 text-sm text-slate-700">{t("referrals.linkText", { percent: `${r.percent}%` })}</p>
                <div className="flex flex-wrap items-center gap-2">
                  <code data-testid="invite-link" className="min-w-0 flex-1 break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-sm text-slate-900">
                    {link}
                  </code>
                  <CopyButton text={link} />
                </div>
                {r.bot_link && (
                  <div className="mt-2 flex flex-wrap items-center gap-2">
                    <code className="min-w-0 flex-1 break-all rounded bg-slate-100 px-2 py-1.5 font-mono text-sm text-slate-900">{r.bot_link}</code>
                    <CopyButton text={r.bot_link} />
                  </div>
                )}
                <p className="mt-2 text-xs text-slate-600">
                  {t("referrals.code")}: <span className="font-mono">{r.code}</span>
                </p>
              </Card>
              <div className="mt-4 grid grid-cols-1 gap-3 sm:grid-cols-2">
                <Stat label={t("referrals.invited")} value={f.number(r.invitees)} />
                <Stat label={t("referrals.earned")} value={f.money(r.earned)} />
              </div>
              <div className="mt-4 grid grid-cols-1 gap-4 lg:grid-cols-2">
                <Card title={t("referrals.invited")}>
                  {r.invited.length === 0 ? (
                    <Empty>{t("referrals.none")}</Empty>
                  ) : (
                    <TableFrame label={t("referrals.invited")}>
                      <thead>
                        <tr>
                          <th className={th}>{t("referrals.user")}</th>
                          <th className={th}>{t("referrals.joined")}</th>
                          <th className={`${th} text-right`}>{t("referrals.earned")}</th>
                        </tr>
                      </thead>
                      <tbody className="divide-y divide-slate-100">
                        {r.invited.map((i) => (
                          <tr key={i.account_id}>
                            <td className={td}>{i.label}</td>
                            <td className={td}>{f.date(i.joined_at)}</td>
                            <td className={`${td} tabular text-right`}>{f.money(i.earned)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </TableFrame>
                  )}
                </Card>
                <Card title={t("referrals.commissions")}>
                  {r.commissions.length === 0 ? (
                    <Empty>{t("referrals.noCommissions")}</Empty>
                  ) : (
                    <TableFrame label={t("referrals.commissions")}>
                      <thead>
                        <tr>
                          <th className={th}>{t("billing.when")}</th>
                          <th className={`${th} text-right`}>{t("referrals.amount")}</th>
                        </tr>
                      </thead>
                      <tbody className="divide-y divide-slate-100">
                        {r.commissions.map((c) => (
                          <tr key={c.id}>
                            <td className={td}>{f.when(c.created_at)}</td>
                            <td className={`${td} tabular text-right`}>{f.cost(c.amount)}</td>
                          </tr>
                        ))}
                      </tbody>
                    </TableFrame>
                  )}
                </Card>
              </div>
            </>
          );
        }}
      </QueryView>
    </>
  );
}
