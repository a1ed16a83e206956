// Airlock's confirmation page. Plain JavaScript, served by Airlock, no third-party code.
// Every string from a request or the chain is shown with textContent, never as HTML.
'use strict';

(function () {
  const params = new URLSearchParams(location.search);
  let token = params.get('token') || sessionStorage.getItem('airlock-token') || '';
  if (params.has('token')) {
    sessionStorage.setItem('airlock-token', token);
    // Keep the token out of the address bar, bookmarks and screenshots.
    history.replaceState(null, '', location.pathname + location.hash);
  }

  let pending = [];
  let historyItems = [];
  let selected = null;
  let view = location.hash === '#approvals' ? 'approvals'
    : location.hash === '#history' || location.pathname === '/history' ? 'history' : 'pending';
  let approvals = null;
  const seen = new Set();
  let firstLoad = true;

  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  async function api(method, path, body) {
    const opts = { method, headers: { Authorization: 'Bearer ' + token } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(path, opts);
    let data = null;
    try { data = await resp.json(); } catch (_) { /* not JSON */ }
    return { ok: resp.ok, status: resp.status, data };
  }

  // ---- amounts ----

  function units(raw, decimals) {
    if (raw === undefined || raw === null) return '?';
    if (decimals === null || decimals === undefined) return raw + ' (raw units)';
    const v = BigInt(raw);
    const d = BigInt(decimals);
    const base = 10n ** d;
    const int = v / base;
    let frac = (v % base).toString().padStart(Number(decimals), '0').replace(/0+$/, '');
    return frac ? int.toString() + '.' + frac : int.toString();
  }

  const MAX256 = (1n << 256n) - 1n;
  const MAX160 = (1n << 160n) - 1n;

  function assetName(a) {
    if (a.kind === 'eth') return 'ETH';
    const sym = a.symbol ? a.symbol : '?';
    return sym + ' (' + short(a.token) + ')';
  }

  function amount(raw, asset) {
    if (asset.kind === 'erc721') return '#' + asset.token_id + ' of ' + assetName(asset);
    if (asset.kind === 'erc1155') return raw + ' × #' + asset.token_id + ' of ' + assetName(asset);
    return units(raw, asset.kind === 'eth' ? 18 : asset.decimals) + ' ' + assetName(asset);
  }

  // ENS reverse names of the item being drawn (checked forward on verified state by Airlock).
  let names = {};

  function useNames(item) {
    names = {};
    for (const n of (item && item.intel && item.intel.names) || []) names[n.address.toLowerCase()] = n.name;
  }

  function short(a) {
    if (!a) return '';
    const n = names[a.toLowerCase()];
    return a.slice(0, 8) + '…' + a.slice(-6) + (n ? ' (' + n + ')' : '');
  }

  // ---- the one-line summary ----

  function summary(item) {
    useNames(item);
    const r = item.report;
    const s = item.signature_report;
    if (s) {
      const kinds = {
        permit: 'Signs an ERC-20 permit', permit2_allowance: 'Signs a Permit2 allowance',
        permit2_transfer: 'Signs a Permit2 transfer', seaport_order: 'Signs a Seaport order',
        other_typed_data: 'Signs typed data', message: 'Signs a message', raw_hash: 'Signs a RAW HASH (can authorise anything)',
      };
      let line = kinds[s.kind] || 'Signs something';
      if (s.approvals && s.approvals.length) {
        const a = s.approvals[0];
        line += ': ' + short(a.spender) + ' may spend ' + (a.unlimited ? 'UNLIMITED' : units(a.after, a.decimals)) + ' ' + (a.symbol || short(a.token));
      }
      return line;
    }
    if (!r) return (item.method === 'wallet_sendCalls' ? 'Batch of calls' : 'Transaction') + ' — not simulated: ' + (item.simulation_error || 'no report');
    if (r.outcome.status !== 'success') return 'Fails: ' + (r.outcome.reason || r.outcome.status);
    const from = r.from;
    const out = (r.asset_changes || []).filter((c) => c.address === from && c.sent !== '0');
    const inn = (r.asset_changes || []).filter((c) => c.address === from && c.received !== '0');
    const parts = [];
    if (out.length) parts.push('You send ' + out.map((c) => amount(c.sent, c.asset)).join(', '));
    if (inn.length) parts.push('you receive ' + inn.map((c) => amount(c.received, c.asset)).join(', '));
    for (const a of r.approvals || []) {
      parts.push((a.after === '0' ? 'revokes ' : 'approves ') + short(a.spender) + ' for ' + (a.unlimited ? 'UNLIMITED ' : '') + (a.symbol || short(a.token)));
    }
    for (const d of r.delegations || []) parts.push('delegates the account to ' + short(d.after || 'nothing'));
    if (!parts.length) parts.push(r.call && r.call.function ? 'Calls ' + r.call.function : 'Moves nothing');
    const line = parts.join('; ');
    return line.charAt(0).toUpperCase() + line.slice(1);
  }

  function verdictClass(item) {
    return item.verdict || 'none';
  }

  // ---- the list ----

  function renderList() {
    if (view === 'approvals') return renderApprovals();
    const list = $('list');
    list.textContent = '';
    const items = view === 'pending' ? pending : historyItems;
    $('count').textContent = String(pending.length);
    $('tab-pending').className = view === 'pending' ? 'active' : '';
    $('tab-history').className = view === 'history' ? 'active' : '';
    $('tab-approvals').className = '';
    if (!items.length) {
      list.appendChild(el('p', 'empty', view === 'pending' ? 'Nothing waiting.' : 'No decisions yet.'));
    }
    for (const item of items) {
      const b = el('button', 'item ' + verdictClass(item));
      b.dataset.id = item.id;
      if (selected === item.id) b.classList.add('selected');
      b.appendChild(el('div', 'summary', summary(item)));
      const when = item.status === 'pending' ? 'waiting' : item.status.replace('_', ' ');
      b.appendChild(el('div', 'meta', item.id + ' · ' + item.method + ' · ' + when + ' · ' + (item.verdict || 'no findings')));
      b.addEventListener('click', () => { selected = item.id; renderList(); renderDetail(); });
      list.appendChild(b);
    }
  }

  function current() {
    const items = view === 'pending' ? pending : historyItems;
    return items.find((i) => i.id === selected) || null;
  }

  // ---- one item ----

  function badge(v) {
    if (!v) return el('span', 'badge unverified', 'UNVERIFIED');
    if (v.status === 'verified') {
      const by = v.mode === 'verified' ? 'the light client' : v.mode;
      return el('span', 'badge verified', 'verified at block ' + v.block_number + ' by ' + by);
    }
    if (v.status === 'failed') return el('span', 'badge failed', 'VERIFICATION FAILED: ' + (v.error || ''));
    return el('span', 'badge unverified', 'UNVERIFIED (' + v.mode + ')');
  }

  function section(parent, title) {
    parent.appendChild(el('h3', null, title));
  }

  function changesTable(r) {
    const t = el('table', 'changes');
    const head = el('tr');
    for (const h of ['address', 'sends', 'receives']) head.appendChild(el('th', null, h));
    t.appendChild(head);
    for (const c of r.asset_changes || []) {
      const row = el('tr');
      const who = el('td', 'addr', c.address);
      if (c.address === r.from) who.textContent += ' (you)';
      row.appendChild(who);
      row.appendChild(el('td', 'out', c.sent !== '0' ? amount(c.sent, c.asset) : ''));
      row.appendChild(el('td', 'in', c.received !== '0' ? amount(c.received, c.asset) : ''));
      t.appendChild(row);
    }
    return t;
  }

  function approvalsList(list) {
    const ul = el('ul', 'approvals');
    for (const a of list) {
      const amt = a.kind === 'approval_for_all'
        ? (a.after === '0' ? 'revokes all tokens' : 'ALL tokens of the collection')
        : (a.unlimited ? 'UNLIMITED' : units(a.after, a.decimals)) + ' ' + (a.symbol || '');
      const before = a.before !== null && a.before !== undefined ? ' (before: ' + units(a.before, a.decimals) + ')' : '';
      ul.appendChild(el('li', null, a.spender + ' (' + a.spender_kind + ') may spend ' + amt + ' of ' + a.token + before));
    }
    return ul;
  }

  function ageText(secs) {
    if (secs < 3600) return Math.floor(secs / 60) + ' min';
    if (secs < 172800) return Math.floor(secs / 3600) + ' h';
    return Math.floor(secs / 86400) + ' days';
  }

  // What the threat lists and the chain say about whom the request deals with.
  function dealsWith(d, intel) {
    const listed = intel.listed || [], contracts = intel.contracts || [], resale = intel.resale || [];
    if (!listed.length && !contracts.length && !resale.length) return;
    section(d, 'Who it deals with');
    const ul = el('ul', 'intel');
    ul.id = 'deals-with';
    for (const l of listed) {
      ul.appendChild(el('li', 'danger', l.address + ' is on the threat list ' + l.list + ': ' + l.label
        + (l.date ? ' (' + l.date + ')' : '') + ' — ' + l.source));
    }
    for (const c of contracts) {
      let t = c.address + ': ' + (c.age_seconds !== undefined && c.age_seconds !== null
        ? 'deployed ' + ageText(c.age_seconds) + ' ago (block ' + c.created_block + ')'
        : 'age unknown (' + (c.age_unknown || '?') + ')');
      if (c.proxy) {
        t += '; upgradeable proxy (' + c.proxy.kind + ')' + (c.proxy.admin
          ? ', admin ' + c.proxy.admin + (c.proxy.admin_is_eoa ? ' — a single key' : '') : '');
      }
      for (const m of c.marks || []) t += '; ' + m.kind + ': ' + m.detail;
      ul.appendChild(el('li', c.proxy && c.proxy.admin_is_eoa || (c.marks || []).length ? 'warn' : null, t));
    }
    for (const r of resale) {
      const pct = (x) => x && x.tax_pct !== undefined && x.tax_pct !== null ? ' (' + x.tax_pct + '% lost)' : '';
      let t = (r.symbol || r.token) + ' you receive: sending it on ' + (r.transfer.ok ? 'works' : 'FAILS') + pct(r.transfer);
      t += r.sell ? '; selling it back ' + (r.sell.ok ? 'works' : 'FAILS') + pct(r.sell) : '; selling it back not tried';
      if (r.buy_tax_pct) t += '; the buy keeps back ' + r.buy_tax_pct + '%';
      ul.appendChild(el('li', r.transfer.ok && (!r.sell || r.sell.ok) ? null : 'danger', t));
    }
    d.appendChild(ul);
  }

  // The threat lists that loaded, with their size and age, at the foot of the page.
  async function showLists() {
    const r = await api('GET', '/api/intel');
    if (!r.ok || !Array.isArray(r.data)) return;
    const now = Date.now() / 1000;
    const parts = r.data.map((l) => l.name + ' ' + l.entries.toLocaleString('en') + ' addresses, '
      + (l.fetched_at ? 'downloaded ' + ageText(now - l.fetched_at) + ' ago' : 'dated ' + (l.date || 'unknown')));
    $('intel').textContent = r.data.length
      ? 'Threat lists (checked here, never asked about online): ' + parts.join(' · ')
      : 'No threat lists loaded.';
  }

  function renderDetail() {
    if (view === 'approvals') return;
    const d = $('detail');
    d.textContent = '';
    const item = current();
    if (!item) {
      d.appendChild(el('p', 'empty', view === 'pending'
        ? (pending.length ? 'Choose a request on the left.' : 'Nothing is waiting. Requests that would sign or send appear here as they arrive.')
        : 'Choose a past decision on the left.'));
      return;
    }
    const top = el('div');
    const v = el('span', 'verdict ' + verdictClass(item), item.verdict || 'no findings');
    v.id = 'verdict';
    top.appendChild(v);
    top.appendChild(badge(item.verification));
    d.appendChild(top);
    const h = el('h2', null, summary(item));
    h.id = 'summary';
    d.appendChild(h);
    d.appendChild(el('div', 'meta', item.id + ' · ' + item.method + ' · received ' + item.received_at + ' · ' + item.status));

    if (item.status === 'pending' && item.answered) {
      d.appendChild(el('p', 'meta', item.method === 'wallet_sendCalls'
        ? 'The wallet has the batch id and asks for its status: it learns your decision there.'
        : 'The wallet has the transaction hash and waits for its receipt: it learns your decision there.'));
    } else if (item.status === 'pending' && !item.client_connected) {
      d.appendChild(el('p', 'gone', 'The wallet stopped waiting for this request. Approving it still sends it.'));
    }
    if (item.auto_approved) d.appendChild(el('p', 'gone', 'Approved by the spending policy.'));

    if (item.asked) {
      // An agent's intent: what was asked, beside what the request does (below).
      section(d, 'You asked');
      const asked = el('p', item.asked.mismatches && item.asked.mismatches.length ? 'danger' : null, item.asked.summary);
      asked.id = 'asked';
      d.appendChild(asked);
      if (item.asked.words) {
        // Read from plain words by the local model: the words, beside what they were read as.
        const w = el('p', 'meta', 'From your words: “' + item.asked.words + '” (read by the local model; check it)');
        w.id = 'asked-words';
        d.appendChild(w);
      }
      for (const m of item.asked.mismatches || []) d.appendChild(el('p', 'danger', 'BUT: ' + m));
    }

    if (item.findings && item.findings.length) {
      section(d, 'Findings');
      const ul = el('ul', 'findings');
      for (const sev of ['danger', 'warn', 'info']) {
        for (const f of item.findings.filter((x) => x.severity === sev)) {
          ul.appendChild(el('li', sev, sev.toUpperCase() + ' — ' + f.message + ' [' + f.rule + ']'));
        }
      }
      d.appendChild(ul);
    }

    if (item.unchecked && item.unchecked.length) {
      section(d, 'Checks that did not run');
      const ul = el('ul', 'unchecked');
      ul.id = 'unchecked';
      for (const u of item.unchecked) ul.appendChild(el('li', 'warn', u));
      d.appendChild(ul);
    }

    if (item.intel) dealsWith(d, item.intel);

    section(d, "The model's notes");
    const notes = el('div', 'notes');
    notes.id = 'notes';
    const ex = item.explanation;
    if (ex && (ex.summary || (ex.concerns && ex.concerns.length))) {
      if (ex.summary) notes.appendChild(el('p', null, ex.summary));
      // The template's concerns are the findings' own words, listed above already.
      if (ex.source !== 'template') for (const c of ex.concerns || []) notes.appendChild(el('p', null, '• ' + c));
      if (ex.state === 'generating') notes.appendChild(el('p', 'meta', 'still writing…'));
      if (ex.ungrounded && ex.ungrounded.length) {
        const u = el('p', 'ungrounded', 'NOT GROUNDED: the text names ' + ex.ungrounded.join(', ') + ', which the report does not contain. Trust the findings and the table, not this text.');
        u.id = 'ungrounded';
        notes.appendChild(u);
      }
      if (ex.error) notes.appendChild(el('p', 'meta', 'The model did not answer (' + ex.error + '); this is the template\'s text.'));
      notes.appendChild(el('p', 'meta', 'from ' + (ex.source || '?') + '; advisory only, apart from the findings'));
    } else {
      notes.appendChild(el('p', 'empty', 'No model notes for this request.'));
    }
    d.appendChild(notes);

    const r = item.report;
    if (r) {
      section(d, 'What moves');
      if ((r.asset_changes || []).length) d.appendChild(changesTable(r));
      else d.appendChild(el('p', 'empty', 'No assets move.'));
      const onward = (r.final_recipients || []).filter((f) => f.via);
      if (onward.length) {
        section(d, 'Where it ends up');
        const ul = el('ul');
        ul.id = 'onward';
        for (const f of onward) ul.appendChild(el('li', 'addr', amount(f.amount, f.asset) + ' you pay ' + f.via + ' goes on to ' + f.address));
        d.appendChild(ul);
      }
      if ((r.approvals || []).length) { section(d, 'Approvals'); d.appendChild(approvalsList(r.approvals)); }
      if (r.call) {
        section(d, 'Call');
        d.appendChild(el('p', 'addr', r.call.function ? r.call.function + ' [' + (r.call.source || '') + ']' : 'unknown function ' + r.call.selector));
        const ul = el('ul');
        for (const a of r.call.arguments || []) ul.appendChild(el('li', 'addr', a.name + ' = ' + (typeof a.value === 'string' ? a.value : JSON.stringify(a.value))));
        d.appendChild(ul);
      }
      if (item.swap) swapQuote(d, item.swap);
      section(d, 'Gas');
      d.appendChild(el('p', null, 'uses ' + r.gas_used + ' of ' + r.gas_limit + ' gas; fee about ' + units(r.fee, 18) + ' ETH'));
      if (item.gas) feeAdvice(d, item);
      for (const x of r.divergences || []) d.appendChild(el('p', 'findings danger', 'In ' + x.environment + ': ' + x.difference));
      if (r.queued_ahead) {
        const q = el('p', null, 'Simulated after ' + r.queued_ahead + ' earlier send' + (r.queued_ahead === 1 ? '' : 's') + ' from this account that ' + (r.queued_ahead === 1 ? 'is' : 'are') + ' not in a block yet, on the state they leave.');
        q.id = 'queued-ahead';
        d.appendChild(q);
      }
    } else if (item.signature_report) {
      const s = item.signature_report;
      if ((s.approvals || []).length) { section(d, 'What the signature grants'); d.appendChild(approvalsList(s.approvals)); }
      if ((s.transfers || []).length) {
        section(d, 'What it lets move');
        const ul = el('ul');
        for (const t of s.transfers) ul.appendChild(el('li', null, amount(t.amount, t.asset) + ' from ' + (t.from === '0x0000000000000000000000000000000000000000' ? 'the fulfiller' : t.from) + ' to ' + (t.to === '0x0000000000000000000000000000000000000000' ? 'whoever fulfils it' : t.to)));
        d.appendChild(ul);
      }
      for (const n of s.notes || []) d.appendChild(el('p', 'gone', n));
    } else if (item.simulation_error) {
      d.appendChild(el('p', 'gone', 'Not simulated: ' + item.simulation_error));
      if (item.gas) { section(d, 'Gas'); feeAdvice(d, item); }
    }

    const raw = el('details');
    raw.appendChild(el('summary', null, 'Raw request'));
    raw.appendChild(el('pre', null, JSON.stringify({ method: item.method, params: item.params }, null, 2)));
    d.appendChild(raw);

    if (item.status === 'pending') actions(d, item);
    else if (item.result || item.error) {
      if (item.sent_to) d.appendChild(el('p', 'meta', 'Sent to the ' + item.sent_to + '.'));
      d.appendChild(el('p', 'result', item.result ? 'Upstream answered: ' + JSON.stringify(item.result) : 'Ended: ' + item.error.message));
    }
  }

  // A swap's expected output next to the least it accepts, and the other routes.
  function swapQuote(d, q) {
    section(d, 'Swap');
    const box = el('div', 'swap');
    box.id = 'swap';
    const sym = q.symbol_out || short(q.token_out);
    if (q.max_in) {
      const inSym = q.symbol_in || short(q.token_in);
      box.appendChild(el('p', null, 'It buys exactly ' + units(q.expected_out, q.decimals_out) + ' ' + sym + ', paying ' + units(q.expected_in, q.decimals_in) + ' ' + inSym + ' on this state and at most ' + units(q.max_in, q.decimals_in) + ' ' + inSym + '.'));
    } else {
      box.appendChild(el('p', null, 'Expected ' + units(q.expected_out, q.decimals_out) + ' ' + sym + '; it accepts as little as ' + units(q.min_out, q.decimals_out) + ' ' + sym + '.'));
    }
    for (const r of q.routes.slice(1)) {
      const fees = (r.fees || []).map((f) => f / 10000 + '%');
      const pools = fees.length ? ' (' + fees.join(', ') + (fees.length > 1 ? ' fee pools)' : ' fee pool)') : '';
      const route = (r.venue ? r.venue + ' ' : '') + r.path.map(short).join(' → ') + pools;
      box.appendChild(el('p', 'addr', 'via ' + route + ': ' + (r.out === null ? 'no quote' : units(r.out, q.decimals_out) + ' ' + sym)));
    }
    d.appendChild(box);
  }

  // What the request offers for gas, next to what the chain asks and the suggestion.
  function feeAdvice(d, item) {
    const g = item.gas;
    const gwei = (wei) => units(wei, 9) + ' gwei';
    const box = el('div', 'fees');
    box.id = 'fees';
    box.appendChild(el('p', null, 'Next base fee ' + gwei(g.next_base_fee) + '; recent tip ' + (g.recent_tip === null ? 'unknown' : gwei(g.recent_tip)) + ' (the node\'s fee history, not verified).'));
    if (g.max_fee === null) {
      box.appendChild(el('p', null, 'It names no fee: the node fills it in.'));
    } else {
      box.appendChild(el('p', null, 'It offers a tip of ' + gwei(g.tip) + ', at most ' + gwei(g.max_fee) + ' per gas: about ' + units(g.would_pay, 18) + ' ETH in the next block.'));
    }
    const suggestion = 'tip ' + gwei(g.suggested_tip) + ', max fee ' + gwei(g.suggested_max_fee) + ' (about ' + units(g.would_pay_suggested, 18) + ' ETH)';
    if (g.accepted) {
      box.appendChild(el('p', 'meta', 'It now carries the suggested fee: ' + suggestion + '.'));
    } else {
      box.appendChild(el('p', null, 'Suggested: ' + suggestion + '.'));
      if (item.status === 'pending' && g.adjustable && g.max_fee !== null) {
        const use = el('button', null, 'Use the suggested fee');
        use.id = 'use-fees';
        use.addEventListener('click', async () => {
          use.disabled = true;
          const resp = await api('POST', '/api/pending/' + item.id + '/fees');
          if (resp.ok) {
            pending = pending.map((x) => (x.id === item.id ? resp.data : x));
            renderDetail();
          } else {
            use.disabled = false;
            box.appendChild(el('p', 'gone', 'Not changed: ' + ((resp.data && resp.data.error) || resp.status)));
          }
        });
        box.appendChild(use);
      } else if (!g.adjustable) {
        box.appendChild(el('p', 'meta', 'It is signed and cannot change: to pay the suggested fee, sign it again with maxFeePerGas ' + g.suggested_max_fee + ' and maxPriorityFeePerGas ' + g.suggested_tip + ' (wei).'));
      }
    }
    d.appendChild(box);
  }

  function actions(d, item) {
    const box = el('div', 'actions');
    const risky = item.verdict === 'danger' || (item.verification && item.verification.status === 'failed');
    const phrase = 'approve ' + item.id;
    const approve = el('button', null, 'Approve');
    approve.id = 'approve';
    const reject = el('button', null, 'Reject');
    reject.id = 'reject';
    // The outcome stays on the page after the item leaves the list.
    const result = $('result');
    result.className = 'result';
    result.textContent = '';
    let input = null;
    let gone = null;

    if (risky) {
      const p = el('p');
      p.appendChild(document.createTextNode('To approve, type '));
      p.appendChild(el('span', 'phrase', phrase));
      d.appendChild(p);
      input = el('input');
      input.id = 'phrase-input';
      input.autocomplete = 'off';
      input.placeholder = 'type the phrase';
      box.appendChild(input);
    }
    if (!item.client_connected && !item.answered) {
      const l = el('label');
      gone = el('input');
      gone.type = 'checkbox';
      gone.id = 'broadcast-anyway';
      l.appendChild(gone);
      l.appendChild(document.createTextNode(' broadcast anyway (the wallet is no longer waiting)'));
      box.appendChild(l);
    }
    const ready = () => (!input || input.value.trim() === phrase) && (!gone || gone.checked);
    const update = () => { approve.disabled = !ready(); };
    if (input) input.addEventListener('input', update);
    if (gone) gone.addEventListener('change', update);
    update();

    let armed = false;
    approve.addEventListener('click', async () => {
      if (!ready()) return;
      // warn: a second, deliberate click.
      if (item.verdict === 'warn' && !armed) {
        armed = true;
        approve.textContent = 'Confirm: approve despite the warnings';
        approve.classList.add('confirming');
        setTimeout(() => { armed = false; approve.textContent = 'Approve'; approve.classList.remove('confirming'); }, 10000);
        return;
      }
      approve.disabled = true; reject.disabled = true;
      result.textContent = 'Simulating again and forwarding ' + item.id + '…';
      const resp = await api('POST', '/api/pending/' + item.id + '/approve', input ? { confirm: input.value.trim() } : undefined);
      if (resp.ok) {
        result.textContent = 'Approved ' + item.id + ': ' + (resp.data.result ? 'the upstream answered ' + JSON.stringify(resp.data.result) : resp.data.status);
      } else {
        result.className = 'result error';
        result.textContent = (resp.data && resp.data.error) || ('refused (' + resp.status + ')');
        approve.disabled = false; reject.disabled = false;
      }
    });
    reject.addEventListener('click', async () => {
      approve.disabled = true; reject.disabled = true;
      const resp = await api('POST', '/api/pending/' + item.id + '/reject');
      result.textContent = resp.ok ? 'Rejected ' + item.id + ': the wallet was told (error 4001); nothing was sent.' : ((resp.data && resp.data.error) || 'refused');
    });
    box.appendChild(approve);
    box.appendChild(reject);
    d.appendChild(box);
  }

  // ---- live updates ----

  function notify(items) {
    for (const item of items) {
      if (seen.has(item.id)) continue;
      seen.add(item.id);
      if (!firstLoad && $('notify').checked && 'Notification' in window && Notification.permission === 'granted') {
        new Notification('Airlock: a request is waiting', { body: summary(item), tag: item.id });
      }
    }
    firstLoad = false;
  }

  function onPending(items) {
    const detailOpen = document.activeElement && document.activeElement.id === 'phrase-input';
    pending = items;
    notify(items);
    if (view === 'pending') {
      if (!selected || !pending.some((i) => i.id === selected)) selected = pending.length ? pending[0].id : selected;
      renderList();
      // Keep what the person is typing: redraw the detail only when not in the phrase box.
      if (!detailOpen) renderDetail();
    } else {
      $('count').textContent = String(pending.length);
    }
  }

  function connect() {
    const es = new EventSource('/api/events?token=' + encodeURIComponent(token));
    es.addEventListener('pending', (e) => { $('status').textContent = 'live'; onPending(JSON.parse(e.data)); });
    es.onerror = () => { $('status').textContent = 'reconnecting…'; };
  }

  // ---- the approvals watch ----

  function renderApprovals() {
    const list = $('list');
    const d = $('detail');
    list.textContent = '';
    d.textContent = '';
    $('count').textContent = String(pending.length);
    $('tab-pending').className = '';
    $('tab-history').className = '';
    $('tab-approvals').className = 'active';
    if (!approvals) { list.appendChild(el('p', 'empty', 'Reading…')); return; }
    if (approvals.error) { list.appendChild(el('p', 'gone', 'Could not read them: ' + approvals.error)); return; }
    d.appendChild(badge(approvals.verification));
    d.appendChild(el('h2', null, approvals.approvals.length + ' open approval' + (approvals.approvals.length === 1 ? '' : 's')));
    d.appendChild(el('p', 'meta', 'Granted through Airlock and still open on the newest head. To revoke one, send its transaction from your wallet.'));
    if (!approvals.approvals.length) list.appendChild(el('p', 'empty', 'No open approvals.'));
    for (const a of approvals.approvals) {
      const row = el('div', 'row approval');
      const what = a.kind === 'approval_for_all' ? 'every token (operator)'
        : a.kind === 'erc721' ? 'token #' + a.token_id
        : a.unlimited ? 'UNLIMITED' : units(a.current, a.decimals);
      row.appendChild(el('div', 'line', short(a.spender) + ' may spend ' + what + ' of ' + (a.symbol || short(a.token)) + (a.kind === 'permit2' ? ' via Permit2' : '')));
      row.appendChild(el('div', 'meta', 'owner ' + short(a.owner) + ' · granted by ' + a.granted_by));
      list.appendChild(row);
      const box = el('div', 'revoke');
      box.appendChild(el('p', 'addr', a.spender + ' · ' + a.token));
      box.appendChild(el('pre', null, JSON.stringify({ from: a.revoke.from, to: a.revoke.to, data: a.revoke.data }, null, 2)));
      d.appendChild(box);
    }
    for (const u of approvals.unreadable || []) d.appendChild(el('p', 'gone', 'Not read: ' + u));
  }

  async function showApprovals() {
    approvals = null;
    renderApprovals();
    const resp = await api('GET', '/api/approvals');
    approvals = resp.ok ? resp.data : { error: (resp.data && resp.data.error) || ('HTTP ' + resp.status) };
    if (view === 'approvals') renderApprovals();
  }

  async function showHistory() {
    const resp = await api('GET', '/api/history?limit=100');
    historyItems = resp.ok ? resp.data : [];
    if (!historyItems.some((i) => i.id === selected)) selected = historyItems.length ? historyItems[0].id : null;
    renderList();
    renderDetail();
  }

  window.addEventListener('hashchange', () => {
    view = location.hash === '#history' ? 'history' : location.hash === '#approvals' ? 'approvals' : 'pending';
    selected = null;
    if (view === 'history') showHistory();
    else if (view === 'approvals') showApprovals();
    else onPending(pending);
  });

  // The ask box: the local model reads the words into an intent; Airlock builds it and holds
  // it here like any request, for the person to check and decide.
  async function ask(e) {
    e.preventDefault();
    const text = $('ask-text').value.trim();
    if (!text) return;
    $('ask-go').disabled = true;
    $('ask-result').textContent = 'reading…';
    const from = $('ask-from').value.trim() || null;
    const r = await api('POST', '/api/ask', { text, from });
    $('ask-go').disabled = false;
    if (!r.ok) {
      $('ask-result').textContent = (r.data && r.data.error) || ('not read (HTTP ' + r.status + ')');
      return;
    }
    $('ask-text').value = '';
    $('ask-result').textContent = 'held: ' + r.data.item.asked.summary;
    selected = r.data.item.id;
    if (location.hash && location.hash !== '#pending') location.hash = '#pending';
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('ask').addEventListener('submit', ask);
    $('notify').addEventListener('change', (e) => {
      if (e.target.checked && 'Notification' in window && Notification.permission !== 'granted') Notification.requestPermission();
    });
    if (!token) {
      $('status').textContent = 'no token: open the URL `airlock prompt-url` prints';
      return;
    }
    connect();
    showLists();
    if (view === 'history') showHistory();
    if (view === 'approvals') showApprovals();
  });
})();
