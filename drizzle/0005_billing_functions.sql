-- The hold/settle/release statements as plpgsql functions, so each is ONE database round-trip and
-- runs atomically (a function call is one statement); PostgreSQL and PGlite run them alike.
-- Lock order everywhere: the account row, then the hold row, then the request's usage_counters rows
-- sorted by id; batches carry items sorted by account id, so no cycle can form.
-- The `_vN` suffix is the contract version (src/billing/sql.ts names them): a changed body is a new
-- migration creating a new suffix, so processes of two versions never call each other's function.
-- `create or replace`: databases where start-up created these functions before this migration existed
-- get the same bodies again.
create or replace function gw_billing_reserve_v2(
  p_request_id text, p_account_id text, p_key_id text, p_model text,
  p_prompt_tokens bigint, p_prompt_hold bigint, p_out_num numeric,
  p_fixed_max bigint, p_cap bigint, p_min bigint,
  p_ctr_ids text[], p_ctr_src text[], p_lim_tokens bigint[], p_lim_micros bigint[], p_lim_requests bigint[],
  p_ttl_ms bigint, p_snapshot jsonb
) returns table(r_status text, r_source text, r_kind text, r_max_tokens bigint, r_hold bigint, r_available bigint)
language plpgsql as $fn$
declare
  v_bal bigint; v_res bigint; v_acct_status text; v_avail bigint;
  v_mt bigint; v_hold bigint; v_need bigint; v_room bigint;
  v_src text; v_kind text;
  c record;
  v_n int := coalesce(cardinality(p_ctr_ids), 0);
begin
  perform 1 from holds where request_id = p_request_id;
  if found then
    return query select 'duplicate'::text, null::text, null::text, null::bigint, null::bigint, null::bigint;
    return;
  end if;
  select a.balance_micros, a.reserved_micros, a.status into v_bal, v_res, v_acct_status
    from accounts a where a.id = p_account_id for update;
  if not found then
    return query select 'account_not_found'::text, null::text, null::text, null::bigint, null::bigint, null::bigint;
    return;
  end if;
  if v_acct_status <> 'active' then
    return query select 'blocked'::text, null::text, null::text, null::bigint, null::bigint, null::bigint;
    return;
  end if;
  if v_n > 0 then
    insert into usage_counters(id) select unnest(p_ctr_ids) on conflict (id) do nothing;
    perform 1 from usage_counters where id = any(p_ctr_ids) order by id for update;
  end if;
  v_avail := v_bal - v_res;

  if p_fixed_max is null then
    -- The gateway picks max_tokens: the largest the balance and every limit still cover.
    v_mt := p_cap;
    if p_out_num > 0 then
      v_room := floor((v_avail - p_prompt_hold)::numeric * 1e18 / p_out_num);
      if v_room < v_mt then v_mt := v_room; v_src := 'balance'; v_kind := 'money'; end if;
    end if;
    if v_n > 0 then
      for c in select x.src, x.lt, x.lm, u.used_tokens, u.held_tokens, u.used_micros, u.held_micros
                 from unnest(p_ctr_ids, p_ctr_src, p_lim_tokens, p_lim_micros) as x(id, src, lt, lm)
                 join usage_counters u on u.id = x.id loop
        if c.lt is not null then
          v_room := c.lt - c.used_tokens - c.held_tokens - p_prompt_tokens;
          if v_room < v_mt then v_mt := v_room; v_src := c.src; v_kind := 'tokens'; end if;
        end if;
        if c.lm is not null and p_out_num > 0 then
          v_room := floor((c.lm - c.used_micros - c.held_micros - p_prompt_hold)::numeric * 1e18 / p_out_num);
          if v_room < v_mt then v_mt := v_room; v_src := c.src; v_kind := 'money'; end if;
        end if;
      end loop;
    end if;
    if v_mt < p_min then
      return query select 'rejected'::text, coalesce(v_src, 'balance'), coalesce(v_kind, 'money'), greatest(v_mt, 0), null::bigint, v_avail;
      return;
    end if;
  else
    v_mt := p_fixed_max;
  end if;

  v_hold := p_prompt_hold + ceil(v_mt::numeric * p_out_num / 1e18)::bigint;
  v_need := p_prompt_tokens + v_mt;
  if v_n > 0 then
    for c in select x.src, x.lt, x.lm, x.lr, u.used_tokens, u.held_tokens, u.used_micros, u.held_micros, u.requests
               from unnest(p_ctr_ids, p_ctr_src, p_lim_tokens, p_lim_micros, p_lim_requests) as x(id, src, lt, lm, lr)
               join usage_counters u on u.id = x.id loop
      if c.lt is not null and c.used_tokens + c.held_tokens + v_need > c.lt then
        return query select 'rejected'::text, c.src, 'tokens'::text, greatest(c.lt - c.used_tokens - c.held_tokens - p_prompt_tokens, 0), null::bigint, v_avail;
        return;
      end if;
      if c.lm is not null and c.used_micros + c.held_micros + v_hold > c.lm then
        return query select 'rejected'::text, c.src, 'money'::text, null::bigint, null::bigint, v_avail;
        return;
      end if;
      if c.lr is not null and c.requests + 1 > c.lr then
        return query select 'rejected'::text, c.src, 'requests'::text, null::bigint, null::bigint, v_avail;
        return;
      end if;
    end loop;
  end if;
  if v_hold > v_avail then
    return query select 'rejected'::text, 'balance'::text, 'money'::text,
      case when p_out_num > 0 then greatest(floor((v_avail - p_prompt_hold)::numeric * 1e18 / p_out_num), 0)::bigint else null end,
      null::bigint, v_avail;
    return;
  end if;

  update accounts set reserved_micros = reserved_micros + v_hold where id = p_account_id;
  if v_n > 0 then
    update usage_counters set held_tokens = held_tokens + v_need, held_micros = held_micros + v_hold,
      requests = requests + 1, updated_at = now()
      where id = any(p_ctr_ids);
  end if;
  insert into holds(request_id, account_id, key_id, model, amount_micros, held_tokens, max_tokens, counters, snapshot, expires_at)
    values (p_request_id, p_account_id, p_key_id, p_model, v_hold, v_need, v_mt, coalesce(p_ctr_ids, '{}'::text[]),
            p_snapshot, now() + p_ttl_ms * interval '1 millisecond');
  return query select 'ok'::text, null::text, null::text, v_mt, v_hold, v_avail - v_hold;
end
$fn$;
--> statement-breakpoint
create or replace function gw_billing_reserve_batch_v2(p_items jsonb)
returns table(r_request_id text, r_status text, r_source text, r_kind text, r_max_tokens bigint, r_hold bigint, r_available bigint)
language plpgsql as $fn$
declare it record;
begin
  for it in select * from jsonb_to_recordset(p_items)
      as x(rid text, acct text, key text, model text, pt bigint, ph bigint, onum numeric, fm bigint, cap bigint, mn bigint,
           cid text[], csrc text[], lt bigint[], lm bigint[], lr bigint[], ttl bigint, snap jsonb) loop
    return query select it.rid, s.r_status, s.r_source, s.r_kind, s.r_max_tokens, s.r_hold, s.r_available
      from gw_billing_reserve_v2(it.rid, it.acct, it.key, it.model, it.pt, it.ph, it.onum, it.fm, it.cap, it.mn,
                         coalesce(it.cid, '{}'), coalesce(it.csrc, '{}'), coalesce(it.lt, '{}'), coalesce(it.lm, '{}'), coalesce(it.lr, '{}'),
                         it.ttl, it.snap) s;
  end loop;
end
$fn$;
--> statement-breakpoint
create or replace function gw_billing_settle_v2(
  p_request_id text, p_price bigint, p_cost bigint, p_tokens bigint,
  p_prompt integer, p_completion integer, p_provider text, p_entry_id text
) returns table(r_status text, r_charged bigint, r_balance bigint, r_shortfall bigint)
language plpgsql as $fn$
declare
  h record; v_bal bigint; v_res bigint; v_avail bigint; v_charge bigint; v_price bigint := greatest(p_price, 0);
begin
  -- A hold's account never changes, so it can be read before the account row is locked.
  select balance_micros, reserved_micros into v_bal, v_res from accounts
    where id = (select account_id from holds where request_id = p_request_id) for update;
  select request_id, account_id, key_id, status, amount_micros, held_tokens, counters, charged_micros, shortfall_micros
    into h from holds where request_id = p_request_id for update;
  if not found then
    return query select 'not_found'::text, 0::bigint, null::bigint, 0::bigint;
    return;
  end if;
  if h.status <> 'open' then
    return query select (case when h.status = 'settled' then 'duplicate' else 'released' end)::text,
      coalesce(h.charged_micros, 0::bigint), null::bigint, coalesce(h.shortfall_micros, 0::bigint);
    return;
  end if;
  if cardinality(h.counters) > 0 then
    perform 1 from usage_counters where id = any(h.counters) order by id for update;
  end if;
  v_avail := v_bal - (v_res - h.amount_micros);
  v_charge := least(v_price, greatest(v_avail, 0));
  if v_charge > 0 then
    insert into ledger_entries(id, account_id, kind, amount_micros, balance_after_micros, ref, actor, meta)
      values (p_entry_id, h.account_id, 'usage', -v_charge, v_bal - v_charge, p_request_id,
              coalesce('key:' || h.key_id, 'system'),
              case when v_price > v_charge then jsonb_build_object('shortfall_micros', (v_price - v_charge)::text) end)
      on conflict (kind, ref) do nothing;
    if not found then
      -- A usage entry for this request exists although its hold is open: change nothing, report it.
      return query select 'conflict'::text, 0::bigint, null::bigint, 0::bigint;
      return;
    end if;
  end if;
  update accounts set balance_micros = v_bal - v_charge, reserved_micros = v_res - h.amount_micros, updated_at = now()
    where id = h.account_id;
  if cardinality(h.counters) > 0 then
    update usage_counters set held_tokens = held_tokens - h.held_tokens, used_tokens = used_tokens + p_tokens,
      held_micros = held_micros - h.amount_micros, used_micros = used_micros + v_charge, updated_at = now()
      where id = any(h.counters);
  end if;
  update holds set status = 'settled', charged_micros = v_charge, upstream_cost_micros = p_cost,
    shortfall_micros = v_price - v_charge, prompt_tokens = p_prompt, completion_tokens = p_completion,
    provider_id = p_provider, settled_at = now()
    where request_id = p_request_id;
  return query select 'ok'::text, v_charge, v_bal - v_charge, v_price - v_charge;
end
$fn$;
--> statement-breakpoint
create or replace function gw_billing_settle_batch_v2(p_items jsonb)
returns table(r_request_id text, r_status text, r_charged bigint, r_balance bigint, r_shortfall bigint)
language plpgsql as $fn$
declare it record;
begin
  for it in select * from jsonb_to_recordset(p_items)
      as x(rid text, price bigint, cost bigint, tokens bigint, pt integer, ct integer, prov text, eid text) loop
    return query select it.rid, s.r_status, s.r_charged, s.r_balance, s.r_shortfall
      from gw_billing_settle_v2(it.rid, it.price, it.cost, it.tokens, it.pt, it.ct, it.prov, it.eid) s;
  end loop;
end
$fn$;
--> statement-breakpoint
create or replace function gw_billing_release_v2(p_request_id text)
returns text
language plpgsql as $fn$
declare h record;
begin
  perform 1 from accounts where id = (select account_id from holds where request_id = p_request_id) for update;
  select request_id, account_id, status, amount_micros, held_tokens, counters
    into h from holds where request_id = p_request_id for update;
  if not found then return 'not_found'; end if;
  if h.status <> 'open' then return h.status; end if;
  if cardinality(h.counters) > 0 then
    perform 1 from usage_counters where id = any(h.counters) order by id for update;
  end if;
  update accounts set reserved_micros = reserved_micros - h.amount_micros where id = h.account_id;
  if cardinality(h.counters) > 0 then
    update usage_counters set held_tokens = held_tokens - h.held_tokens, held_micros = held_micros - h.amount_micros,
      requests = requests - 1, updated_at = now()
      where id = any(h.counters);
  end if;
  update holds set status = 'released', charged_micros = 0, settled_at = now() where request_id = p_request_id;
  return 'ok';
end
$fn$;
