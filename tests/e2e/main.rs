//! End-to-end tests of the `airlock` binary against a real chain (anvil from npm) and real
//! wallet clients (cast, ethers v6, viem). Needs `npm ci --prefix tests` (the README's test
//! command runs it).
//!
//! Contents (one module each):
//! - abuse: oversized bodies, huge batches, deep nesting, invalid ids, Host headers, odd method
//!   names: each named, the daemon answering and small after each; mutated request bodies from
//!   the fuzz corpus, each answered as JSON-RPC, nothing forwarded
//! - egress: the daemon under strace through reads, sends, a signature, the model and the page:
//!   only the configured upstream, relay and model endpoint are contacted
//! - agent: intents through the control API: built, held and judged like any send; bad ones
//!   refused with why; a request doing more than was asked is danger
//! - approvals: the approvals watch follows the chain through approve and revoke
//! - browser: the confirmation page in Debian's chromium (WebDriver): approve, reject, friction
//! - clients: cast, ethers and viem send through Airlock; approve → mined, reject → 4001,
//!   timeout, unsigned sends, signatures, retries joining, a client that leaves
//! - defaults: viem, ethers, web3.py and cast at their library defaults, decided 15 s after
//!   the send: the hash at once, the receipt or the rejection where the client looks; EIP-5792
//! - tx_types: every transaction type (legacy, 2930, 1559, 4844, 7702) held and mined
//! - batch: a batch with a send inside it
//! - subscriptions: eth_subscribe (newHeads, logs, newPendingTransactions) through Airlock
//! - policy: every bundled rule on its attack shape and its benign twin; the confusion table
//! - queued: a burst of 50 sends from one account, each simulated on what the ones before it
//!   leave, all forwarded on the first approval; one behind a rejected send says it cannot be
//!   included
//! - reads: every read method a wallet uses answers as the node does
//! - malformed: a table of bad inputs, each with its error; nothing becomes pending
//! - restart: the audit log survives restarts and crashes; open items are abandoned
//! - upstream: upstream down, silent or talking garbage; reconnection
//! - sync: the light client from a beacon API serving real mainnet data
//! - verified: checkpoint mode: reads from proofs, a lying upstream caught
//! - scenarios: reports for WETH9, a Uniswap V2 swap, ERC-721/1155, a custom error, an evasive
//!   drainer (divergence), a 7702 delegation: real bytecode from npm and solc
//! - simulate: held sends carry their report (ETH, ERC-20, approvals, reverts); eth_call and
//!   eth_estimateGas answered from proofs as the node answers; failed proofs give no report
//! - explain: the model advises (stand-in endpoint): never lowers a finding, concerns raise to
//!   warn, ungrounded text is marked, a failing model leaves the template; prompt injection
//! - model: the model worker's sandbox (bubblewrap, Landlock) seen from inside; llama-server
//!   with a real small model through the endpoint backend and the daemon
//! - gas: fee advice: a 500 gwei tip flagged, the suggested fee accepted and mined with those
//!   fields, a signed transaction told what to sign again with
//! - swaps: Uniswap V2 and V3 pools seeded here: the slippage finding with the expected output,
//!   the deeper route (through WETH; another V3 fee tier) shown
//! - relay: --private-relay: an approved signed swap goes to the relay (a forked anvil), a send
//!   to the upstream
//! - habits: a value far above the sender's usual, a burst of sends, a first token transfer
//! - intel: who a request deals with: bundled threat lists and the allow-list, `intel update`
//!   (pinned, whole, atomic), contract age (young, aged, unknown), a proxy with a key for
//!   admin, a fallback-only 7702 delegate, a honeypot and a 90%-tax token sold back
//! - signer: Airlock holds the keys: viem with no key sends through a managed account; only
//!   raw transactions reach the upstream; the key is in no log or record
//! - layout: crate dependencies point down only; no module import circles
//! - wolf: the evasion check counts what the person loses: a 30-minute-deadline swap is no
//!   divergence, a time-bomb drainer is danger
//! - lightclient: verified mode offline: a synthetic beacon API (512 real BLS keys) signs
//!   anvil's payloads; reads proven; forged signatures and altered proofs caught

mod abuse;
mod harness;

mod agent;
mod approvals;
mod ask;
mod batch;
mod browser;
mod clients;
mod defaults;
mod egress;
mod ens;
mod explain;
mod gas;
mod habits;
mod intel;
mod layout;
mod lightclient;
mod malformed;
mod model;
mod policy;
mod queued;
mod reads;
mod relay;
mod restart;
mod scenarios;
mod signer;
mod simulate;
mod subscriptions;
mod swaps;
mod sync;
mod tx_types;
mod upstream;
mod verified;
mod wolf;
