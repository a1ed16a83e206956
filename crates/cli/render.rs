//! Items as a person reads them in a terminal.

use std::fmt::Write;

use airlock_explain::facts::units;
use airlock_types::{
    AccountKind, ApprovalKind, Asset, AssetKind, DecodedCall, Item, OutcomeStatus, SignKind, SignatureKind,
    SignatureReport, SimulationReport, Status, Timestamp, TxView, Verification,
};
use alloy_primitives::U256;

pub fn now() -> Timestamp {
    Timestamp::now()
}

/// One block per item.
pub fn items(items: &[Item], now: Timestamp) -> String {
    let mut out = String::new();
    for item in items {
        item_block(&mut out, item, now);
        out.push('\n');
    }
    out
}

fn item_block(out: &mut String, item: &Item, now: Timestamp) {
    let when = match item.status {
        Status::Pending => format!(
            "received {} ago, expires in {}",
            human_duration(item.received_at.until(now)),
            human_duration(now.until(item.expires_at))
        ),
        _ => format!("received {}", item.received_at),
    };
    let _ = writeln!(out, "{}  {:<14} {}  {when}", item.id, item.status.as_str(), item.method);
    match item.verdict {
        Some(v) => {
            let _ = writeln!(out, "  verdict {}", v.as_str().to_uppercase());
        }
        None if item.report.is_some() || item.signature_report.is_some() => {
            let _ = writeln!(out, "  verdict no findings");
        }
        None => {}
    }
    if let Some(asked) = &item.asked {
        // An agent's intent: what was asked, beside what it does (the report below).
        let _ = writeln!(out, "  you asked  {}", clean(&asked.summary, 300));
        if let Some(w) = &asked.words {
            let _ = writeln!(out, "  in words   \"{}\" (read by the local model)", clean(w, 300));
        }
        for m in &asked.mismatches {
            let _ = writeln!(out, "  !! BUT     {}", clean(m, 300));
        }
    }
    for f in &item.findings {
        let mark = match f.severity {
            airlock_types::Severity::Danger => "!!",
            airlock_types::Severity::Warn => "! ",
            airlock_types::Severity::Info => "· ",
        };
        let _ = writeln!(out, "  {mark} {:<6} {}: {}", f.severity.as_str(), clean(&f.rule, 60), clean(&f.message, 400));
    }
    for u in &item.unchecked {
        let _ = writeln!(out, "  not checked: {}", clean(u, 300));
    }
    if let Some(x) = &item.explanation {
        let _ = writeln!(out, "  about  {} [{}]", clean(&x.summary, 600), clean(&x.source, 80));
        // The template's concerns are the findings' words, printed above.
        for c in x.concerns.iter().filter(|_| x.source != "template") {
            let _ = writeln!(out, "  model  concern: {}", clean(c, 300));
        }
        if !x.ungrounded.is_empty() {
            let _ = writeln!(
                out,
                "  model  NOT GROUNDED: names {} that the report does not",
                clean(&x.ungrounded.join(", "), 300)
            );
        }
        if let Some(e) = &x.error {
            let _ = writeln!(out, "  model  did not answer ({}); the template's text is shown", clean(e, 200));
        }
    }
    if item.auto_approved {
        let _ = writeln!(out, "  approved by the spending policy (no finding above info, within the daily budget)");
    }
    if let Some(tx) = &item.tx {
        tx_lines(out, tx, !item.calls.is_empty());
    }
    for (i, call) in item.calls.iter().enumerate() {
        let to = call.to.map(|a| a.to_string()).unwrap_or_else(|| "(create)".into());
        let _ = writeln!(out, "  call {i}: to {to}  value {}  data {} bytes", eth(call.value), call.data.len());
    }
    if let Some(sign) = &item.sign {
        let kind = match sign.kind {
            SignKind::EthSign => "eth_sign (raw hash: can authorise anything)",
            SignKind::PersonalSign => "personal_sign",
            SignKind::TypedData => "typed data (EIP-712)",
        };
        let _ = writeln!(out, "  sign   {kind} as {}", sign.address);
        if let Some(text) = &sign.text {
            let shown: String = text.chars().take(200).collect();
            let _ = writeln!(out, "  text   {shown:?}");
        } else if let Some(td) = &sign.typed_data {
            let field = |k: &str| td.get(k).map(|v| clean(&v.to_string(), 600)).unwrap_or_else(|| "-".into());
            let _ = writeln!(out, "  type   {}", field("primaryType"));
            let _ = writeln!(out, "  domain {}", field("domain"));
            let _ = writeln!(out, "  message {}", field("message"));
        }
    }
    if let Some(r) = &item.signature_report {
        signature_report(out, r);
    }
    if let Some(v) = &item.verification {
        verification(out, v);
    }
    if let Some(r) = &item.report {
        report(out, r);
    } else if let Some(e) = &item.simulation_error {
        let _ = writeln!(out, "  NOT SIMULATED: {}", clean(e, 400));
    }
    if let Some(g) = &item.gas {
        fees(out, g);
    }
    if let Some(q) = &item.swap {
        swap(out, q);
    }
    if item.status.is_open() && item.answered {
        let _ = writeln!(out, "  client has its hash (or batch id) and polls for the outcome");
    } else if item.status.is_open() && !item.client_connected {
        let _ = writeln!(out, "  ! the wallet stopped waiting; approving still sends it");
    }
    if let Some(to) = &item.sent_to {
        let _ = writeln!(out, "  sent   to the {}", clean(to, 40));
    }
    if let Some(result) = &item.result {
        let _ = writeln!(out, "  result {}", clean(result.get(), 200));
    }
    if let Some(err) = &item.error {
        let _ = writeln!(out, "  error  {} ({})", clean(&err.message, 300), err.code);
    }
}

/// A swap's quote: expected and accepted output, and every route quoted.
fn swap(out: &mut String, q: &airlock_types::SwapQuote) {
    let amount = |v: U256| match q.decimals_out {
        Some(d) => units(v, d),
        None => format!("{v} (raw units)"),
    };
    let sym = q.symbol_out.as_deref().map(|s| clean(s, 24)).unwrap_or_else(|| q.token_out.to_string());
    match (q.max_in, q.expected_in) {
        (Some(max), Some(need)) => {
            let amount_in = |v: U256| match q.decimals_in {
                Some(d) => units(v, d),
                None => format!("{v} (raw units)"),
            };
            let sym_in = q.symbol_in.as_deref().map(|s| clean(s, 24)).unwrap_or_else(|| q.token_in.to_string());
            let _ = writeln!(
                out,
                "  swap   buys {} {sym}, paying {} {sym_in} here and at most {} {sym_in}",
                amount(q.expected_out),
                amount_in(need),
                amount_in(max)
            );
        }
        _ => {
            let _ = writeln!(
                out,
                "  swap   expects {} {sym}, accepts at least {} {sym}",
                amount(q.expected_out),
                amount(q.min_out)
            );
        }
    }
    for r in q.routes.iter().skip(1) {
        let gives = r.out.map(|o| format!("{} {sym}", amount(o))).unwrap_or_else(|| "no quote".into());
        let _ = writeln!(out, "         via {}: {gives}", r.describe(|a| a.to_string()));
    }
}

/// The fee it offers next to the suggestion, and what to do about it.
fn fees(out: &mut String, g: &airlock_types::GasAdvice) {
    let gw = |v: U256| format!("{} gwei", units(v, 9));
    let offered = match (g.max_fee, g.tip, g.would_pay) {
        (Some(max), tip, Some(pays)) => {
            format!("tip {}, max {} (about {})", gw(tip.unwrap_or_default()), gw(max), eth(pays))
        }
        _ => "named by the node".to_owned(),
    };
    let _ = writeln!(
        out,
        "  fees   {offered}; next base fee {}; suggested tip {}, max {} (about {})",
        gw(g.next_base_fee),
        gw(g.suggested_tip),
        gw(g.suggested_max_fee),
        eth(g.would_pay_suggested)
    );
    if g.accepted {
        let _ = writeln!(out, "         it carries the suggested fee now");
    } else if g.adjustable && g.max_fee.is_some() {
        let _ = writeln!(out, "         to send it with the suggestion: airlock approve ID --use-suggested-fees");
    }
}

/// `airlock approvals`: each open approval with its revoke transaction.
pub fn approvals(v: &airlock_types::ApprovalsView) -> String {
    use airlock_types::ApprovalKind as K;
    let mut out = String::new();
    verification(&mut out, &v.verification);
    if v.approvals.is_empty() {
        let _ = writeln!(out, "No open approvals in the log.");
    }
    for a in &v.approvals {
        let token = match &a.symbol {
            Some(s) => format!("{} ({})", clean(s, 24), a.token),
            None => a.token.to_string(),
        };
        let what = match a.kind {
            K::Erc20 | K::Permit2 if a.unlimited => "UNLIMITED".to_owned(),
            K::Erc20 | K::Permit2 => match a.decimals {
                Some(d) => units(a.current, d),
                None => format!("{} (raw units)", a.current),
            },
            K::ApprovalForAll => "every token (operator)".to_owned(),
            K::Erc721 => format!("token #{}", a.token_id.unwrap_or_default()),
        };
        let via = if a.kind == K::Permit2 { " via Permit2" } else { "" };
        let _ = writeln!(out, "{} may spend {what} of {token}{via} from {}", a.spender, a.owner);
        if let Some(exp) = a.expiration {
            let _ = writeln!(out, "  expires at unix time {exp}");
        }
        let _ = writeln!(out, "  granted by {}", a.granted_by);
        let _ = writeln!(out, "  revoke: send from {} to {} data {}", a.revoke.from, a.revoke.to, a.revoke.data);
    }
    for u in &v.unreadable {
        let _ = writeln!(out, "! not read: {}", clean(u, 300));
    }
    out
}

/// How far the state behind an item or report is verified, on one line.
pub fn verification(out: &mut String, v: &Verification) {
    use airlock_types::VerificationStatus as S;
    let line = match (v.status, v.block_number) {
        (S::Verified, Some(n)) => format!("verified ({}) at block {n}", v.mode),
        (S::Verified, None) => format!("verified ({})", v.mode),
        (S::Unverified, _) => match &v.note {
            Some(note) => format!("UNVERIFIED ({}): {}", v.mode, clean(note, 200)),
            None => "UNVERIFIED: the upstream's state is trusted".into(),
        },
        (S::Failed, _) => format!("FAILED: {}", clean(v.error.as_deref().unwrap_or("?"), 300)),
    };
    let _ = writeln!(out, "  state  {line}");
}

/// What a simulation found, as a person reads it: outcome, what each address sends and
/// receives, approvals, delegations, and anything that did not add up.
pub fn report(out: &mut String, r: &SimulationReport) {
    let outcome = match r.outcome.status {
        OutcomeStatus::Success => "succeeds".to_owned(),
        OutcomeStatus::Revert => format!("REVERTS: {}", clean(r.outcome.reason.as_deref().unwrap_or("?"), 300)),
        OutcomeStatus::Halt => format!("FAILS: {}", clean(r.outcome.reason.as_deref().unwrap_or("?"), 300)),
    };
    let _ = writeln!(
        out,
        "  sim    {outcome} at block {}; gas {} of {}, fee {}",
        r.block.number,
        r.gas_used,
        r.gas_limit,
        eth(r.fee)
    );
    if let Some(call) = &r.call {
        decoded_call(out, call, 1);
    }
    for c in &r.asset_changes {
        let asset = asset_name(&c.asset);
        if !c.sent.is_zero() {
            let _ = writeln!(out, "    {} sends    {}", c.address, amount(c.sent, &c.asset, &asset));
        }
        if !c.received.is_zero() {
            let _ = writeln!(out, "    {} receives {}", c.address, amount(c.received, &c.asset, &asset));
        }
    }
    if r.asset_changes.is_empty() {
        let _ = writeln!(out, "    no asset moves");
    }
    for a in &r.approvals {
        let spender = match a.spender_kind {
            AccountKind::Eoa => "an EOA",
            AccountKind::Contract => "a contract",
            AccountKind::Delegated => "a 7702-delegated EOA",
        };
        let what = match a.kind {
            ApprovalKind::ApprovalForAll if a.after.is_zero() => "revokes ALL tokens of".to_owned(),
            ApprovalKind::ApprovalForAll => "approves ALL tokens of".to_owned(),
            ApprovalKind::Erc721 => format!("approves token #{} of", a.token_id.unwrap_or_default()),
            _ if a.unlimited => "approves UNLIMITED".to_owned(),
            _ => format!("approves {}", a.after),
        };
        let token = Asset {
            kind: if a.kind == ApprovalKind::Erc20 || a.kind == ApprovalKind::Permit2 {
                AssetKind::Erc20
            } else {
                AssetKind::Erc721
            },
            token: Some(a.token),
            token_id: None,
            symbol: a.symbol.clone(),
            decimals: a.decimals,
        };
        let what = match (a.kind, a.unlimited) {
            (ApprovalKind::Erc20 | ApprovalKind::Permit2, false) => {
                format!("approves {}", amount(a.after, &token, "").trim_end())
            }
            _ => what,
        };
        let before = match (a.kind, a.before) {
            (ApprovalKind::Erc20 | ApprovalKind::Permit2, Some(b)) => {
                format!(" (was {})", amount(b, &token, "").trim_end())
            }
            _ => String::new(),
        };
        let via = if a.kind == ApprovalKind::Permit2 { " through Permit2" } else { "" };
        let _ = writeln!(
            out,
            "  approve {} {what} {} to {} ({spender}){via}{before}",
            a.owner,
            asset_name(&token),
            a.spender
        );
    }
    for d in &r.delegations {
        let to = d.after.map(|a| format!("runs the code of {a}")).unwrap_or_else(|| "clears its delegation".into());
        let _ = writeln!(out, "  ! 7702   {} {to}", d.authority);
    }
    for c in &r.created {
        let _ = writeln!(out, "  creates {c}");
    }
    for m in &r.mismatches {
        let _ = writeln!(out, "  ! mismatch: {}", clean(m, 300));
    }
    for d in &r.divergences {
        let _ = writeln!(out, "  ! differs with {}: {}", clean(&d.environment, 100), clean(&d.difference, 300));
    }
    if r.queued_ahead > 0 {
        let _ = writeln!(out, "  after  {} earlier send(s) from this account not yet in a block", r.queued_ahead);
    }
}

/// What a signature would authorise.
pub fn signature_report(out: &mut String, r: &SignatureReport) {
    let kind = match r.kind {
        SignatureKind::Permit => "an ERC-20 permit (an allowance, without a transaction)",
        SignatureKind::Permit2Allowance => "a Permit2 allowance",
        SignatureKind::Permit2Transfer => "a Permit2 transfer",
        SignatureKind::SeaportOrder => "a Seaport order",
        SignatureKind::OtherTypedData => "typed data Airlock does not decode",
        SignatureKind::Message => "a message",
        SignatureKind::RawHash => "a RAW HASH",
    };
    let contract = r.verifying_contract.map(|c| format!(" for contract {c}")).unwrap_or_default();
    let _ = writeln!(out, "  means  {kind}{contract}");
    for a in &r.approvals {
        let token = Asset {
            kind: AssetKind::Erc20,
            token: Some(a.token),
            token_id: None,
            symbol: a.symbol.clone(),
            decimals: a.decimals,
        };
        let amount =
            if a.unlimited { "UNLIMITED".to_owned() } else { amount(a.after, &token, "").trim_end().to_owned() };
        let spender = match a.spender_kind {
            AccountKind::Eoa => "an EOA",
            AccountKind::Contract => "a contract",
            AccountKind::Delegated => "a 7702-delegated EOA",
        };
        let before = a.before.map(|b| format!(" (now {})", amount_str(b, &token))).unwrap_or_default();
        let _ = writeln!(out, "  grants {} {amount} {} ({spender}){before}", a.spender, asset_name(&token));
    }
    for t in &r.transfers {
        let name = asset_name(&t.asset);
        let to = if t.to.is_zero() { "whoever fulfils it".to_owned() } else { t.to.to_string() };
        let from = if t.from.is_zero() { "the fulfiller".to_owned() } else { t.from.to_string() };
        let _ = writeln!(out, "  moves  {} from {from} to {to}", amount(t.amount, &t.asset, &name));
    }
    if let Some(d) = r.deadline {
        let _ = writeln!(out, "  valid  until {}", Timestamp(d.saturating_mul(1000)));
    }
    for n in &r.notes {
        let _ = writeln!(out, "  ! {}", clean(n, 300));
    }
}

fn amount_str(v: U256, token: &Asset) -> String {
    amount(v, token, "").trim_end().to_owned()
}

/// A decoded call and the calls inside it, indented by depth.
fn decoded_call(out: &mut String, call: &DecodedCall, depth: usize) {
    let pad = "  ".repeat(depth);
    let to = call.to.map(|t| format!(" on {t}")).unwrap_or_default();
    match &call.function {
        Some(f) => {
            let source = call.source.as_deref().map(|s| format!(" [{s}]")).unwrap_or_default();
            let _ = writeln!(out, "{pad}call   {}{source}{to}", clean(f, 200));
            for a in &call.arguments {
                let v = a.value.as_str().map(str::to_owned).unwrap_or_else(|| a.value.to_string());
                let _ = writeln!(out, "{pad}         {} = {}", clean(&a.name, 40), clean(&v, 300));
            }
        }
        None => {
            let _ = writeln!(
                out,
                "{pad}call   unknown function 0x{}{to} ({} bytes of arguments, shown raw in --json)",
                alloy_primitives::hex::encode(&call.selector),
                call.raw.as_ref().map(|r| r.len()).unwrap_or(0)
            );
        }
    }
    for inner in &call.inner {
        decoded_call(out, inner, depth + 1);
    }
}

fn asset_name(a: &Asset) -> String {
    let symbol = a.symbol.as_deref().map(|s| clean(s, 32));
    match (a.kind, a.token) {
        (AssetKind::Eth, _) => "ETH".into(),
        (_, Some(t)) => format!("{} ({t})", symbol.unwrap_or_else(|| "?".into())),
        (_, None) => symbol.unwrap_or_else(|| "?".into()),
    }
}

fn amount(v: U256, a: &Asset, name: &str) -> String {
    match a.kind {
        AssetKind::Erc721 => format!("#{} of {name}", a.token_id.unwrap_or_default()),
        AssetKind::Erc1155 => format!("{v} × #{} of {name}", a.token_id.unwrap_or_default()),
        _ => match a.decimals {
            Some(d) => format!("{} {name}", units(v, d)),
            None => format!("{v} (raw units) {name}"),
        },
    }
}

/// Text from a client or the chain, made safe for a terminal: no control characters (which
/// could move the cursor and repaint what the person reads), at most `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

fn tx_lines(out: &mut String, tx: &TxView, batch: bool) {
    let from = tx.from.map(|a| a.to_string()).unwrap_or_else(|| "(wallet's choice)".into());
    let _ = writeln!(out, "  from   {from}");
    if !batch {
        let to = tx.to.map(|a| a.to_string()).unwrap_or_else(|| "(contract creation)".into());
        let _ = writeln!(out, "  to     {to}");
    }
    let _ = writeln!(out, "  value  {}", eth(tx.value));
    if !tx.data.is_empty() {
        let selector = tx.data.get(..4).map(|s| format!("0x{}", alloy_primitives::hex::encode(s))).unwrap_or_default();
        let _ = writeln!(out, "  data   {} bytes, selector {selector}", tx.data.len());
    }
    let mut facts = Vec::new();
    if let Some(t) = tx.tx_type {
        facts.push(format!("type {t} ({})", type_name(t)));
    }
    match tx.chain_id {
        Some(c) => facts.push(format!("chain {c}")),
        None if tx.signed => facts.push("NO CHAIN ID: valid on every chain".into()),
        None => {}
    }
    if let Some(n) = tx.nonce {
        facts.push(format!("nonce {n}"));
    }
    if let Some(g) = tx.gas {
        facts.push(format!("gas {g}"));
    }
    if let Some(p) = tx.gas_price {
        facts.push(format!("gas price {}", gwei(p)));
    }
    if let Some(p) = tx.max_fee_per_gas {
        facts.push(format!("max fee {}", gwei(p)));
    }
    if let Some(p) = tx.max_priority_fee_per_gas {
        facts.push(format!("tip {}", gwei(p)));
    }
    if !tx.blob_versioned_hashes.is_empty() {
        facts.push(format!("{} blobs", tx.blob_versioned_hashes.len()));
    }
    if !facts.is_empty() {
        let _ = writeln!(out, "  {}", facts.join("  "));
    }
    for auth in &tx.authorization_list {
        let who = auth.authority.map(|a| a.to_string()).unwrap_or_else(|| "(invalid signature)".into());
        let _ = writeln!(out, "  delegates {who} -> code of {}", auth.address);
    }
}

fn type_name(t: u8) -> &'static str {
    match t {
        0 => "legacy",
        1 => "access list",
        2 => "EIP-1559",
        3 => "blob",
        4 => "EIP-7702 set code",
        _ => "unknown",
    }
}

/// Wei as ETH with every significant digit ("1.5 ETH", "0.000000000000000001 ETH").
pub fn eth(wei: U256) -> String {
    format!("{} ETH", units(wei, 18))
}

fn gwei(wei: u128) -> String {
    format!("{} gwei", units(U256::from(wei), 9))
}

fn human_duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// One line saying what a decision did.
pub fn decision(item: &Item) -> String {
    match item.status {
        Status::Forwarded => format!(
            "{}: approved and forwarded; the upstream answered {}",
            item.id,
            clean(item.result.as_ref().map(|r| r.get()).unwrap_or("null"), 200)
        ),
        Status::ForwardFailed => format!(
            "{}: approved, but the upstream did not accept it: {}",
            item.id,
            item.error.as_ref().map(|e| format!("{} ({})", clean(&e.message, 300), e.code)).unwrap_or_default()
        ),
        Status::Rejected => format!("{}: rejected; the wallet was told (error 4001), nothing was sent", item.id),
        other => format!("{}: {}", item.id, other.as_str()),
    }
}

/// A duration in seconds, as a person says it: "40 s", "12 min", "5 h", "3 days".
pub fn ago(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..172_800 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        assert_eq!(eth(U256::ZERO), "0 ETH");
        assert_eq!(eth(U256::from(1u64)), "0.000000000000000001 ETH");
        assert_eq!(eth(U256::from(1_500_000_000_000_000_000u128)), "1.5 ETH");
        assert_eq!(eth(U256::from(10u128.pow(24))), "1000000 ETH");
        assert_eq!(gwei(1_000_000_000), "1 gwei");
        assert_eq!(gwei(1_250_000_000), "1.25 gwei");
    }

    #[test]
    fn terminal_text_is_cleaned() {
        assert_eq!(clean("ok\u{1b}[2J\nfake", 100), "ok\u{fffd}[2J\u{fffd}fake");
        assert_eq!(clean("abcdef", 3), "abc…");
    }

    #[test]
    fn durations_read_naturally() {
        use std::time::Duration;
        assert_eq!(human_duration(Duration::from_secs(5)), "5s");
        assert_eq!(human_duration(Duration::from_secs(605)), "10m05s");
        assert_eq!(human_duration(Duration::from_secs(7300)), "2h01m");
    }
}
