// Sends the given value with viem through the given RPC URL (signing locally, so the node sees
// eth_sendRawTransaction) and prints one JSON line with what the wallet library saw.
// Usage: node viem_send.mjs RPC_URL PRIVATE_KEY TO VALUE_WEI
import { createWalletClient, createPublicClient, http, defineChain } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const [url, key, to, value] = process.argv.slice(2);
const chain = defineChain({
  id: 31337,
  name: "anvil",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
// A held request waits for a person: give the transport room.
const transport = http(url, { timeout: 120_000, retryCount: 0 });
const wallet = createWalletClient({ account: privateKeyToAccount(key), chain, transport });
const client = createPublicClient({ chain, transport, pollingInterval: 100 });
try {
  const hash = await wallet.sendTransaction({ to, value: BigInt(value) });
  const receipt = await client.waitForTransactionReceipt({ hash });
  console.log(JSON.stringify({ ok: true, hash, status: receipt.status }));
} catch (e) {
  const rejected = Boolean(e.walk?.((x) => x?.code === 4001));
  console.log(JSON.stringify({ ok: false, rejected, name: e.name, message: e.shortMessage ?? String(e) }));
}
