// An agent through MCP over streamable HTTP, on the daemon's control port, with the official
// TypeScript SDK, driving every tool. Refused without the token; with it: lists the tools,
// reads balances, simulates, sends a token to an ENS name, approves one to another name (each
// seen in `pending`, followed with `status` to its receipt), revokes that approval by its id
// from the approvals watch, swaps ETH for the token on the devnet's Uniswap V2 pool, and gets
// tool errors for names that do not resolve and for `ask` without a model. Each propose is followed with `status` until the test decides it. One JSON line a step.
// Usage: node mcp_http_agent.mjs CONTROL_URL TOKEN FROM
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [controlUrl, token, from] = process.argv.slice(2);
const url = new URL("/mcp", controlUrl);
const say = (o) => console.log(JSON.stringify(o));
const text = (r) => r.content?.map((c) => c.text).join("") ?? "";

try {
  const nobody = new Client({ name: "no-token", version: "1.0.0" });
  await nobody.connect(new StreamableHTTPClientTransport(url));
  say({ step: "unauth", connected: true });
} catch (e) {
  say({ step: "unauth", connected: false, error: String(e) });
}

const client = new Client({ name: "airlock-http-agent", version: "1.0.0" });
const auth = { requestInit: { headers: { Authorization: `Bearer ${token}` } } };
await client.connect(new StreamableHTTPClientTransport(url, auth));
const tools = await client.listTools();
say({ step: "tools", names: tools.tools.map((t) => t.name).sort() });

const call = async (name, args) => {
  const r = await client.callTool({ name, arguments: args });
  let body = text(r);
  try { body = JSON.parse(body); } catch { /* a tool error's text */ }
  return { isError: r.isError ?? false, body };
};
const follow = async (id) => {
  for (let i = 0; i < 600; i++) {
    const { body } = await call("status", { id });
    if (body.status !== "pending" && body.status !== "approved") return body;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  return { status: "timeout" };
};

say({ step: "balances", ...(await call("balances", { owner: from })) });
const sim = await call("simulate", { intent: { kind: "send", from, to: "bob.eth", amount: "0.01" } });
say({ step: "simulate", isError: sim.isError, outcome: sim.body.report?.outcome?.status, asked: sim.body.asked?.summary });

for (const [step, intent] of [
  ["send", { kind: "send", from, to: "alice.eth", amount: "1", token: "TST" }],
  ["approve", { kind: "approve", from, token: "TST", spender: "bob.eth", amount: "unlimited" }],
]) {
  const p = await call("propose", { intent });
  const waiting = await call("pending", {});
  const done = p.isError ? {} : await follow(p.body.id);
  say({
    step, isError: p.isError, id: p.body.id, asked: p.body.asked?.summary, names: p.body.intel?.names, status: done.status,
    pending: Array.isArray(waiting.body) ? waiting.body.map((i) => i.id) : waiting.body, receipt: done.receipt?.status, receipt_verified: done.receipt_verified,
  });
}

const open = await call("approvals", { owner: from });
const approval = open.body.approvals?.[0];
say({ step: "approvals", isError: open.isError, count: open.body.approvals?.length, id: approval?.id, spender: approval?.spender });
const r = await call("propose", { intent: { kind: "revoke", approval: approval?.id } });
const revoked = r.isError ? {} : await follow(r.body.id);
say({ step: "revoke", isError: r.isError, asked: r.body.asked?.summary, text: r.isError ? r.body : undefined, status: revoked.status });
const after = await call("approvals", { owner: from });
say({ step: "after", count: after.body.approvals?.length });

// A swap, routed and quoted by Airlock, followed to its receipt; balances before and after.
const tst = (b) => b.body.accounts?.[0]?.tokens?.find((t) => t.symbol === "TST")?.balance;
const before = tst(await call("balances", { owner: from }));
const swap = await call("propose", { intent: { kind: "swap", from, token_in: "ETH", token_out: "TST", amount: "0.1" } });
const swapped = swap.isError ? {} : await follow(swap.body.id);
const afterSwap = tst(await call("balances", { owner: from }));
say({
  step: "swap", isError: swap.isError, asked: swap.body.asked?.summary, expected: swap.body.swap?.expected_out,
  status: swapped.status, receipt: swapped.receipt?.status, before, after: afterSwap,
});

for (const [step, to] of [["unresolved", "nobody.eth"], ["lookalike", "\u0430lice.eth"]]) {
  const p = await call("propose", { intent: { kind: "send", from, to, amount: "1" } });
  say({ step, isError: p.isError, text: p.body });
}
const badId = await call("propose", { intent: { kind: "revoke", approval: "ffffffffff" } });
say({ step: "bad-id", isError: badId.isError, text: badId.body });
const ask = await call("ask", { text: "send 1 TST to alice.eth" });
say({ step: "ask", isError: ask.isError, text: ask.body });
await client.close();
