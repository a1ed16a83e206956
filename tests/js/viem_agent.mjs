// An agent with no key: viem with a JSON-RPC account (just the address Airlock manages),
// at viem's default transport settings. It sends ETH, an ERC-20 transfer and signs typed data,
// sends a two-call batch (EIP-5792), then sends once more (the test rejects that one). One
// JSON line per step.
// Usage: node viem_agent.mjs RPC_URL FROM TOKEN TO
import { createWalletClient, createPublicClient, http, defineChain, encodeFunctionData, parseAbi, verifyTypedData } from "viem";

const [url, from, token, to] = process.argv.slice(2);
const chain = defineChain({
  id: 31337,
  name: "anvil",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const wallet = createWalletClient({ account: from, chain, transport: http(url) });
const client = createPublicClient({ chain, transport: http(url), pollingInterval: 200 });
const say = (o) => console.log(JSON.stringify(o));
const step = async (name, f) => {
  try {
    say({ step: name, ok: true, ...(await f()) });
  } catch (e) {
    const rejected = Boolean(e.walk?.((x) => x?.code === 4001));
    say({ step: name, ok: false, rejected, message: e.shortMessage ?? String(e) });
  }
};

const accounts = await wallet.getAddresses();
say({ step: "accounts", ok: true, accounts });
await step("eth", async () => {
  const hash = await wallet.sendTransaction({ to, value: 1000000000000000n });
  const receipt = await client.waitForTransactionReceipt({ hash });
  return { hash, status: receipt.status, from: receipt.from };
});
await step("erc20", async () => {
  const data = encodeFunctionData({ abi: parseAbi(["function transfer(address,uint256)"]), args: [to, 5n] });
  const hash = await wallet.sendTransaction({ to: token, data });
  const receipt = await client.waitForTransactionReceipt({ hash });
  return { hash, status: receipt.status };
});
await step("typed", async () => {
  const typed = {
    domain: { name: "Airlock test", version: "1", chainId: 31337 },
    types: { Note: [{ name: "text", type: "string" }] },
    primaryType: "Note",
    message: { text: "the agent proposes, the person decides" },
  };
  const signature = await wallet.signTypedData(typed);
  const valid = await verifyTypedData({ address: from, signature, ...typed });
  return { signature, valid };
});
await step("batch", async () => {
  const data = encodeFunctionData({ abi: parseAbi(["function transfer(address,uint256)"]), args: [to, 1n] });
  const { id } = await wallet.sendCalls({ calls: [{ to, value: 2n }, { to: token, data }] });
  const status = await wallet.waitForCallsStatus({ id, pollingInterval: 200 });
  return { id, status: status.status, receipts: status.receipts?.map((r) => r.status) };
});
await step("rejected", async () => {
  const hash = await wallet.sendTransaction({ to, value: 7n });
  return { hash };
});
