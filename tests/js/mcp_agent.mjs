// An agent through MCP with the official TypeScript SDK: starts `airlock mcp` on stdio, lists
// the tools, proposes a send (the test approves it), follows it with `status` until it is
// forwarded, and proposes a bad intent. One JSON line per step.
// Usage: node mcp_agent.mjs AIRLOCK_BIN DATA_DIR FROM TO
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const [bin, dataDir, from, to] = process.argv.slice(2);
const transport = new StdioClientTransport({ command: bin, args: ["mcp", "--data-dir", dataDir] });
const client = new Client({ name: "airlock-test-agent", version: "1.0.0" });
await client.connect(transport);
const say = (o) => console.log(JSON.stringify(o));
const text = (r) => r.content?.map((c) => c.text).join("") ?? "";

const tools = await client.listTools();
say({ step: "tools", names: tools.tools.map((t) => t.name).sort(), propose_schema: tools.tools.find((t) => t.name === "propose")?.inputSchema });

const simulated = await client.callTool({ name: "simulate", arguments: { intent: { kind: "send", from, to, amount: "0.03" } } });
const sim = JSON.parse(text(simulated));
say({ step: "simulate", isError: simulated.isError ?? false, outcome: sim.report?.outcome?.status, asked: sim.asked?.summary, sent: sim.report?.transfers?.[0]?.amount });
const approvals = await client.callTool({ name: "approvals", arguments: { owner: from } });
say({ step: "approvals", isError: approvals.isError ?? false, body: JSON.parse(text(approvals)) });

const proposed = await client.callTool({ name: "propose", arguments: { intent: { kind: "send", from, to, amount: "0.02" } } });
const item = JSON.parse(text(proposed));
say({ step: "propose", isError: proposed.isError ?? false, id: item.id, status: item.status, asked: item.asked?.summary });

let status;
for (let i = 0; i < 200; i++) {
  const r = await client.callTool({ name: "status", arguments: { id: item.id } });
  status = JSON.parse(text(r));
  if (status.status !== "pending" && status.status !== "approved") break;
  await new Promise((ok) => setTimeout(ok, 100));
}
say({ step: "status", status: status.status, result: status.result });

const bad = await client.callTool({ name: "propose", arguments: { intent: { kind: "send", from, to, amount: "1", token: "NOPE" } } });
say({ step: "bad", isError: bad.isError ?? false, text: text(bad) });
const malformed = await client.callTool({ name: "propose", arguments: { intent: { kind: "send", from, to: "0x12", amount: "-3" } } });
say({ step: "malformed", isError: malformed.isError ?? false, text: text(malformed) });
await client.close();
