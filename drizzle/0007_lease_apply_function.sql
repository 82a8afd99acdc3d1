-- Applies a batch of journaled lease charges (src/billing/lease-store.ts applyCharges) in one call.
-- Lock order as everywhere in billing: account rows (sorted), then lease rows (sorted). Idempotent by
-- the usage ledger row's (kind, ref): a request already charged changes nothing. A charge on a lease
-- that is no longer open (it expired before its journal was applied) takes from the spendable balance
-- only what it covers; the rest is recorded as shortfall (the operator's), never a negative balance.
CREATE OR REPLACE FUNCTION gw_lease_apply_v1(p_items jsonb)
RETURNS TABLE(r_applied integer, r_duplicates integer, r_shortfall bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  it record; v_status text; v_amount bigint; v_bal bigint; v_res bigint;
  v_price bigint; v_from bigint; v_rest bigint; v_cov bigint; v_charge bigint; v_sp bigint;
  v_applied integer := 0; v_dups integer := 0; v_short bigint := 0;
BEGIN
  PERFORM 1 FROM accounts WHERE id IN (SELECT DISTINCT x->>'acct' FROM jsonb_array_elements(p_items) x) ORDER BY id FOR UPDATE;
  PERFORM 1 FROM balance_leases WHERE id IN (SELECT DISTINCT x->>'lease' FROM jsonb_array_elements(p_items) x) ORDER BY id FOR UPDATE;
  FOR it IN SELECT * FROM jsonb_to_recordset(p_items) AS x(rid text, eid text, acct text, lease text, key text, charge bigint, hold text) ORDER BY acct LOOP
    PERFORM 1 FROM ledger_entries WHERE kind = 'usage' AND ref = it.rid;
    IF FOUND THEN v_dups := v_dups + 1; CONTINUE; END IF;
    SELECT balance_micros, reserved_micros INTO v_bal, v_res FROM accounts WHERE id = it.acct;
    IF NOT FOUND THEN v_dups := v_dups + 1; CONTINUE; END IF;
    v_price := greatest(coalesce(it.charge, 0), 0);
    SELECT status, amount_micros INTO v_status, v_amount FROM balance_leases WHERE id = it.lease;
    v_from := CASE WHEN FOUND AND v_status = 'open' THEN least(v_price, v_amount) ELSE 0 END;
    -- What the lease covers moves from reserved to spent; the rest only as far as the spendable balance goes.
    v_sp := v_bal - v_res;
    v_rest := v_price - v_from;
    v_cov := CASE WHEN v_rest <= 0 OR v_sp <= 0 THEN 0 ELSE least(v_rest, v_sp) END;
    v_charge := v_from + v_cov;
    v_short := v_short + (v_price - v_charge);
    v_applied := v_applied + 1;
    IF v_charge = 0 THEN CONTINUE; END IF;
    INSERT INTO ledger_entries (id, account_id, kind, amount_micros, balance_after_micros, ref, actor, meta)
      VALUES (it.eid, it.acct, 'usage', -v_charge, v_bal - v_charge, it.rid, coalesce('key:' || it.key, 'system'),
              jsonb_build_object('lease', it.lease)
                || CASE WHEN it.hold IS NOT NULL THEN jsonb_build_object('hold_micros', it.hold) ELSE '{}'::jsonb END
                || CASE WHEN v_price > v_charge THEN jsonb_build_object('shortfall_micros', (v_price - v_charge)::text) ELSE '{}'::jsonb END);
    UPDATE accounts SET balance_micros = v_bal - v_charge, reserved_micros = v_res - v_from, updated_at = now() WHERE id = it.acct;
    IF v_from > 0 THEN UPDATE balance_leases SET amount_micros = amount_micros - v_from WHERE id = it.lease; END IF;
  END LOOP;
  RETURN QUERY SELECT v_applied, v_dups, v_short;
END
$fn$;
