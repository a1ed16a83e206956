// ethers v6 exactly as a new user writes it: `new JsonRpcProvider(url)` and a Wallet with their
// defaults, sendTransaction, then tx.wait(). One transaction per STEP; a JSON line when each is
// sent and when its wait ends.
//
// ethers v6 polls for the receipt in a block listener whose errors it does not catch: an error
// answer to that poll (here: the rejection) surfaces as an unhandled promise rejection, which
// ends a Node process by default, rather than as a rejection of tx.wait(). An application sees
// it there; so does this script, for the hash it waits on.
// Usage: node ethers_defaults.mjs RPC_URL PRIVATE_KEY TO STEP...
import { JsonRpcProvider, Wallet } from "ethers";

const [url, key, to, ...steps] = process.argv.slice(2);
const provider = new JsonRpcProvider(url);
const failures = new Map();
process.on("unhandledRejection", (e) => {
  const hash = e?.payload?.params?.[0];
  if (failures.has(hash)) failures.get(hash)(e);
});
const wallet = new Wallet(key, provider);
for (const step of steps) {
  let hash;
  try {
    const tx = await wallet.sendTransaction({ to, value: 1n });
    hash = tx.hash;
    console.log(JSON.stringify({ step, event: "sent", hash }));
    const failed = new Promise((_, reject) => failures.set(hash, reject));
    const receipt = await Promise.race([tx.wait(), failed]);
    console.log(JSON.stringify({ step, event: "mined", hash, status: receipt.status === 1 ? "success" : "reverted", nonce: tx.nonce }));
  } catch (e) {
    if (hash) failures.delete(hash);
    const err = e.error ?? e.info?.error ?? e;
    console.log(JSON.stringify({ step, event: "failed", hash, code: err.code, id: err.data?.id, message: e.shortMessage ?? String(e) }));
  }
}
provider.destroy();
process.exit(0);
