// An agent through MCP over streamable HTTP, on the daemon's control port, with the official
// TypeScript SDK. Refused without the token; with it: lists the tools, reads balances, sends a
// token to an ENS name, approves one to another name, revokes that approval by its id from the
// approvals watch, and gets tool errors for names that do not resolve and for `ask` without a
// model. Each propose is followed with `status` until the test decides it. One JSON line a step.
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

for (const [step, intent] of [
  ["send", { kind: "send", from, to: "alice.eth", amount: "1", token: "TST" }],
  ["approve", { kind: "approve", from, token: "TST", spender: "bob.eth", amount: "unlimited" }],
]) {
  const p = await call("propose", { intent });
  const done = p.isError ? {} : await follow(p.body.id);
  say({ step, isError: p.isError, id: p.body.id, asked: p.body.asked?.summary, names: p.body.intel?.names, status: done.status });
}

const open = await call("approvals", { owner: from });
const approval = open.body.approvals?.[0];
say({ step: "approvals", isError: open.isError, count: open.body.approvals?.length, id: approval?.id, spender: approval?.spender });
const r = await call("propose", { intent: { kind: "revoke", approval: approval?.id } });
const revoked = r.isError ? {} : await follow(r.body.id);
say({ step: "revoke", isError: r.isError, asked: r.body.asked?.summary, text: r.isError ? r.body : undefined, status: revoked.status });
const after = await call("approvals", { owner: from });
say({ step: "after", count: after.body.approvals?.length });

for (const [step, to] of [["unresolved", "nobody.eth"], ["lookalike", "\u0430lice.eth"]]) {
  const p = await call("propose", { intent: { kind: "send", from, to, amount: "1" } });
  say({ step, isError: p.isError, text: p.body });
}
const badId = await call("propose", { intent: { kind: "revoke", approval: "ffffffffff" } });
say({ step: "bad-id", isError: badId.isError, text: badId.body });
const ask = await call("ask", { text: "send 1 TST to alice.eth" });
say({ step: "ask", isError: ask.isError, text: ask.body });
await client.close();
