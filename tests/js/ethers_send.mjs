// Sends the given value with ethers v6 through the given RPC URL, the way a
// dapp or script does, and prints one JSON line with what the wallet library saw.
// Usage: node ethers_send.mjs RPC_URL PRIVATE_KEY TO VALUE_WEI
import { JsonRpcProvider, Wallet } from "ethers";

const [url, key, to, value] = process.argv.slice(2);
const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, polling: true, pollingInterval: 100 });
const wallet = new Wallet(key, provider);
try {
  const tx = await wallet.sendTransaction({ to, value: BigInt(value) });
  const receipt = await tx.wait();
  console.log(JSON.stringify({ ok: true, hash: tx.hash, status: receipt.status }));
} catch (e) {
  const rpcCode = e?.error?.code ?? e?.info?.error?.code ?? null;
  console.log(JSON.stringify({ ok: false, code: e.code ?? null, rpcCode, message: e.shortMessage ?? String(e) }));
}
provider.destroy();
