// viem exactly as a new user writes it: `http(url)` with its defaults (10 s timeout, retries),
// a local account, sendTransaction, then waitForTransactionReceipt with its defaults.
// Sends one transaction per STEP given, one after another, and prints a JSON line when each is
// sent and when its wait ends (mined, or the error the wait threw).
// Usage: node viem_defaults.mjs RPC_URL PRIVATE_KEY TO STEP...
import { createWalletClient, createPublicClient, http, defineChain } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const [url, key, to, ...steps] = process.argv.slice(2);
const chain = defineChain({
  id: 31337,
  name: "anvil",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const account = privateKeyToAccount(key);
const wallet = createWalletClient({ account, chain, transport: http(url) });
const client = createPublicClient({ chain, transport: http(url) });
for (const step of steps) {
  let hash;
  try {
    hash = await wallet.sendTransaction({ to, value: 1n });
    console.log(JSON.stringify({ step, event: "sent", hash }));
    const receipt = await client.waitForTransactionReceipt({ hash });
    const tx = await client.getTransaction({ hash });
    console.log(JSON.stringify({ step, event: "mined", hash, status: receipt.status, nonce: tx.nonce }));
  } catch (e) {
    const rpc = e.walk?.((x) => typeof x?.code === "number") ?? e;
    const data = rpc?.data ?? rpc?.cause?.data;
    console.log(JSON.stringify({ step, event: "failed", hash, code: rpc?.code, id: data?.id, message: e.shortMessage ?? String(e) }));
  }
}
