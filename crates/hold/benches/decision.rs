//! Decision latency: from a held request to its report, as the daemon does it (head refresh,
//! prefetch from the access-list hint, proofs fetched in parallel and checked, revm, the
//! evasion variants), for an ETH send, an ERC-20 transfer and a Uniswap V2 swap, on anvil.
//! Proven state (checkpoint mode: every account and slot checked against the state root, as in
//! verified mode, whose head comes from the light client instead) side by side with unverified
//! state (plain reads), each cold (a new cache) and warm (the same block, cached).
//!
//! Then what quoting a swap adds (`airlock_hold::quote`, on proven state), cold and warm: through the
//! V2 router (its getAmountsOut for the person's route and the alternatives), and through the
//! Universal Router (each alternative route, V2 and the V3 fee tiers, simulated).
//!
//! Then what threat data and provenance add (`airlock_intel::Intel::examine`, on proven state),
//! cold (a new chain handle and no age cache: every contract's age searched) and warm (the
//! same block, ages cached in the store): for an approval (two contracts) and a swap (four
//! contracts, and the bought token sent on and sold back), with the age search's round trips.
//!
//! Run: `cargo bench -p airlock-hold --bench decision` (needs `npm ci --prefix tests`).
//! Knobs: AIRLOCK_BENCH_ROUNDS (measurements per cell, default 30).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use airlock_chain::{Chain, StateFrom, Upstream, VerifyMode};
use airlock_sim::Simulator;
use airlock_types::TxView;
use alloy_primitives::{Address, B256, Bytes, U256};
use serde_json::Value;

const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDR0: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const ADDR1: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

#[path = "../../../tests/support/anvil.rs"]
mod anvil;

fn cast(args: &[&str]) -> String {
    let out = Command::new(anvil::repo().join("tests/node_modules/.bin/cast")).args(args).output().expect("cast");
    assert!(out.status.success(), "cast {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_owned()
}

fn deploy(rpc: &str, artifact: &str, signature: &str, args: &[&str]) -> String {
    let json: Value = serde_json::from_slice(
        &std::fs::read(anvil::repo().join("tests/node_modules").join(artifact)).expect("artifact"),
    )
    .expect("json");
    let mut code = json["bytecode"].as_str().expect("bytecode").trim_start_matches("0x").to_owned();
    if !args.is_empty() {
        let mut a = vec!["abi-encode", signature];
        a.extend_from_slice(args);
        code.push_str(cast(&a).trim_start_matches("0x"));
    }
    let receipt: Value = serde_json::from_str(&cast(&[
        "send",
        "--rpc-url",
        rpc,
        "--private-key",
        KEY0,
        "--json",
        "--create",
        &format!("0x{code}"),
    ]))
    .expect("receipt");
    receipt["contractAddress"].as_str().expect("address").to_owned()
}

fn send(rpc: &str, to: &str, sig: &str, args: &[&str], value: &str) {
    let mut a = vec!["send", "--rpc-url", rpc, "--private-key", KEY0, "--value", value, to, sig];
    a.extend_from_slice(args);
    cast(&a);
}

fn tx(to: &str, value: U256, data: &str) -> TxView {
    TxView {
        from: Some(ADDR1.parse().expect("address")),
        to: Some(to.parse::<Address>().expect("address")),
        value,
        data: data.parse::<Bytes>().expect("hex"),
        ..TxView::default()
    }
}

fn pct(mut v: Vec<Duration>, p: f64) -> f64 {
    v.sort();
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3
}

/// How long quoting `report`'s swap takes.
async fn time_quote(
    sim: &Simulator<StateFrom>,
    head: &airlock_sim::Head,
    tx: &TxView,
    report: &airlock_types::SimulationReport,
    venues: &airlock_hold::Venues,
) -> Duration {
    let t = Instant::now();
    let q = airlock_hold::quote(sim, head, tx, report, venues).await;
    let q = q.expect("quoted");
    assert!(venues.v3_quoter.is_none() || q.routes.iter().any(|r| r.venue == "Uniswap V3"), "quoted on V3");
    t.elapsed()
}

/// What the bench deploys on anvil.
struct Deployed {
    weth: String,
    router: String,
    tst: String,
    tst2: String,
    universal: String,
    quoter: Address,
    genesis: B256,
}

/// The chain: a token, WETH, Uniswap V2 with a TST/WETH pool (ADDR1 holds TST), a second token,
/// Uniswap V3, the Universal Router and a QuoterV2.
fn deploy_all(rpc: &str) -> Deployed {
    let rpc = rpc.to_owned();
    let weth = deploy(&rpc, "@uniswap/v2-periphery/build/WETH9.json", "", &[]);
    let factory = deploy(&rpc, "@uniswap/v2-core/build/UniswapV2Factory.json", "f(address)", &[ADDR0]);
    let router =
        deploy(&rpc, "@uniswap/v2-periphery/build/UniswapV2Router02.json", "f(address,address)", &[&factory, &weth]);
    let tst = deploy(
        &rpc,
        "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json",
        "f(string,string,uint256,address)",
        &["Test Token", "TST", "1000000000000000000000", ADDR0],
    );
    send(&rpc, &tst, "approve(address,uint256)", &[&router, &u128::MAX.to_string()], "0");
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(&rpc, &router, add, &[&tst, "100000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether");
    send(&rpc, &tst, "transfer(address,uint256)", &[ADDR1, "50000000000000000000"], "0");
    // A second token, pooled with WETH and directly with TST: a token swap has two routes.
    let tst2 = deploy(
        &rpc,
        "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json",
        "f(string,string,uint256,address)",
        &["Test Token 2", "TST2", "1000000000000000000000", ADDR0],
    );
    send(&rpc, &tst2, "approve(address,uint256)", &[&router, &u128::MAX.to_string()], "0");
    send(&rpc, &router, add, &[&tst2, "100000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether");
    let add2 = "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)";
    let ten = "10000000000000000000";
    send(&rpc, &router, add2, &[&tst, &tst2, ten, ten, "0", "0", ADDR0, "9999999999"], "0");
    // Uniswap V3 with a WETH/TST pool at 0.3%, and the Universal Router over both factories
    // (the hashes are those the V2 and V3 periphery packages carry).
    let v3 = "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json";
    let v3_factory = deploy(&rpc, v3, "", &[]);
    let zero = "0x0000000000000000000000000000000000000000";
    let pm = "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json";
    let positions = deploy(&rpc, pm, "f(address,address,address)", &[&v3_factory, &weth, zero]);
    send(&rpc, &weth, "deposit()", &[], "10ether");
    for t in [&weth, &tst] {
        send(&rpc, t, "approve(address,uint256)", &[&positions, &u128::MAX.to_string()], "0");
    }
    let (t0, t1) = if weth.to_lowercase() < tst.to_lowercase() { (&weth, &tst) } else { (&tst, &weth) };
    let init = "createAndInitializePoolIfNecessary(address,address,uint24,uint160)";
    send(&rpc, &positions, init, &[t0, t1, "3000", "79228162514264337593543950336"], "0");
    let mint = "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))";
    let params = format!("({t0},{t1},3000,-887220,887220,{ten},{ten},0,0,{ADDR0},9999999999)");
    send(&rpc, &positions, mint, &[&params], "0");
    let mut fields = vec![zero, weth.as_str()];
    fields.extend([zero; 14]);
    let pair_hash = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f";
    let pool_hash = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54";
    fields.extend([factory.as_str(), &v3_factory, pair_hash, pool_hash]);
    let types = format!("f(({}))", ["address"; 18].into_iter().chain(["bytes32"; 2]).collect::<Vec<_>>().join(","));
    let ur = "@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json";
    let universal = deploy(&rpc, ur, &types, &[&format!("({})", fields.join(","))]);
    let quoter = "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json";
    let quoter: Address = deploy(&rpc, quoter, "f(address,address)", &[&v3_factory, &weth]).parse().expect("address");
    let genesis: B256 = cast(&["block", "0", "--rpc-url", &rpc, "-f", "hash"]).parse().expect("hash");

    Deployed { weth, router, tst, tst2, universal, quoter, genesis }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("AIRLOCK_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30);
    let anvil = anvil::start(&["--code-size-limit", "50000"]);
    let rpc = anvil.url.clone();
    let d = deploy_all(&rpc);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let upstream = Arc::new(Upstream::new(&rpc, Duration::from_secs(30)).expect("upstream"));
        let timeout = Duration::from_secs(30);
        let proven =
            Chain::open(upstream.clone(), &VerifyMode::Checkpoint(d.genesis), None, timeout).await.expect("chain");
        let trusted = Chain::open(upstream.clone(), &VerifyMode::Unverified, None, timeout).await.expect("chain");
        latency(&d, &upstream, [&proven, &trusted], rounds).await;
        quoting(&d, &upstream, &proven, rounds).await;
        provenance(&d, &upstream, d.genesis, rounds).await;
    });
}

/// Calldata for Router02: swap ETH for TST, for ADDR1, no minimum.
fn buy_tst(d: &Deployed) -> String {
    let path = format!("[{},{}]", d.weth, d.tst);
    cast(&["calldata", "swapExactETHForTokens(uint256,address[],address,uint256)", "0", &path, ADDR1, "9999999999"])
}

/// What `Intel::examine` adds to a held request: lists, each contract's age and slots, and
/// the resale trials; cold and warm, on proven state.
async fn provenance(d: &Deployed, upstream: &Arc<Upstream>, genesis: B256, rounds: usize) {
    use airlock_types::{Item, Timestamp};
    let Deployed { router, tst, .. } = d;
    let approve = cast(&["calldata", "approve(address,uint256)", router, "1000000000000000000"]);
    let swap = buy_tst(d);
    let one_eth = U256::from(10u128.pow(18));
    let items = [("approve TST", tx(tst, U256::ZERO, &approve)), ("swap ETH→TST", tx(router, one_eth, &swap))];
    let router: Address = router.parse().expect("address");
    let timeout = Duration::from_secs(30);
    let open = || async {
        Arc::new(Chain::open(upstream.clone(), &VerifyMode::Checkpoint(genesis), None, timeout).await.expect("chain"))
    };
    let cold_intel = airlock_intel::Intel::open(&Default::default(), None, None).expect("lists");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = airlock_store::Store::open(dir.path()).expect("store");
    let warm_intel = airlock_intel::Intel::open(&Default::default(), None, Some(store)).expect("lists");
    println!("\nWhat threat data and provenance add (Intel::examine, proven state), {rounds} rounds, ms:");
    println!(
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>7}",
        "request", "cold p50", "p90", "warm p50", "p90", "contracts", "lookups", "resale"
    );
    for (name, tx) in &items {
        let chain = open().await;
        let (_, head) = chain.head().await;
        let head = head.expect("head");
        let report = chain.simulator().await.expect("sim").simulate(&head, tx).await.expect("simulates");
        let item = Item {
            tx: Some(tx.clone()),
            report: Some(report),
            ..Item::pending(
                String::new(),
                "eth_sendTransaction".into(),
                serde_json::value::RawValue::from_string("[]".into()).expect("raw"),
                Timestamp(0),
                Timestamp(0),
            )
        };
        let mut cold = vec![];
        let mut first = None;
        for _ in 0..rounds {
            let fresh = open().await;
            let (_, head) = fresh.head().await;
            let t = Instant::now();
            let r = cold_intel.examine(&fresh, head.as_ref(), &item, Some(router)).await;
            cold.push(t.elapsed());
            first.get_or_insert(r);
        }
        let r = first.expect("a round");
        let lookups: u32 = r.contracts.iter().map(|c| c.age_lookups).sum();
        let mut warm = vec![];
        warm_intel.examine(&chain, Some(&head), &item, Some(router)).await;
        for _ in 0..rounds {
            let t = Instant::now();
            warm_intel.examine(&chain, Some(&head), &item, Some(router)).await;
            warm.push(t.elapsed());
        }
        println!(
            "{:<14} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>10} {:>8} {:>7}",
            name,
            pct(cold.clone(), 0.5),
            pct(cold, 0.9),
            pct(warm.clone(), 0.5),
            pct(warm, 0.9),
            r.contracts.len(),
            lookups,
            r.resale.len()
        );
    }
}

/// Request to report, proven side by side with unverified, cold and warm.
async fn latency(d: &Deployed, upstream: &Arc<Upstream>, chains: [&Chain; 2], rounds: usize) {
    let Deployed { router, tst, weth, .. } = d;
    let one_eth = U256::from(10u128.pow(18));
    let transfer = cast(&["calldata", "transfer(address,uint256)", ADDR0, "1000000000000000000"]);
    let path = format!("[{weth},{tst}]");
    let swap = cast(&[
        "calldata",
        "swapExactETHForTokens(uint256,address[],address,uint256)",
        "0",
        &path,
        ADDR1,
        "9999999999",
    ]);
    let cases = [
        ("ETH send", tx(ADDR0, one_eth, "0x")),
        ("ERC-20 transfer", tx(tst, U256::ZERO, &transfer)),
        ("Uniswap V2 swap", tx(router, one_eth, &swap)),
    ];

    println!("Decision latency (request to report, incl. head refresh and 3 evasion variants), {rounds} rounds, ms:");
    println!(
        "{:<16} {:>11} {:>9} {:>9}   {:>11} {:>9} {:>9}   {:>7} {:>7}",
        "request", "proven cold", "p90", "warm p50", "unverif cold", "p90", "warm p50", "cold x", "warm x"
    );
    for (name, tx) in &cases {
        let mut cells = vec![];
        for proven in [true, false] {
            let source =
                if proven { StateFrom::Proven(upstream.clone()) } else { StateFrom::Trusted(upstream.clone()) };
            let chain = if proven { chains[0] } else { chains[1] };
            let once = |sim: Arc<Simulator<StateFrom>>| async move {
                let t = Instant::now();
                let (v, head) = chain.head().await;
                let head = head.unwrap_or_else(|| panic!("{name}: no head: {v:?}"));
                let report = sim.simulate(&head, tx).await;
                assert!(report.is_ok(), "{name}: {report:?}");
                t.elapsed()
            };
            let mut cold = vec![];
            for _ in 0..rounds {
                cold.push(once(Arc::new(Simulator::new(source.clone(), 31337))).await);
            }
            let warm_sim = Arc::new(Simulator::new(source.clone(), 31337));
            once(warm_sim.clone()).await;
            let mut warm = vec![];
            for _ in 0..rounds {
                warm.push(once(warm_sim.clone()).await);
            }
            cells.push((pct(cold.clone(), 0.5), pct(cold, 0.9), pct(warm, 0.5)));
        }
        let (p, u) = (cells[0], cells[1]);
        println!(
            "{:<16} {:>11.2} {:>9.2} {:>9.2}   {:>11.2} {:>9.2} {:>9.2}   {:>6.2}x {:>6.2}x",
            name,
            p.0,
            p.1,
            p.2,
            u.0,
            u.1,
            u.2,
            p.0 / u.0,
            p.2 / u.2
        );
    }
}

/// What quoting a swap adds, cold and warm, on proven state.
async fn quoting(d: &Deployed, upstream: &Arc<Upstream>, proven_chain: &Chain, rounds: usize) {
    let Deployed { router, tst, tst2, weth, universal, quoter, .. } = d;
    let quoter = *quoter;
    let one_eth = U256::from(10u128.pow(18));
    let swap = buy_tst(d);
    // What quoting adds to a swap's decision.
    let token_swap = cast(&[
        "calldata",
        "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
        "1000000000000000000",
        "0",
        &format!("[{tst},{tst2}]"),
        ADDR0,
        "9999999999",
    ]);
    // Through the Universal Router: WRAP_ETH, then V3_SWAP_EXACT_IN in the 0.3% pool; the
    // V2 pair and the other three tiers are the alternatives, each a simulation.
    let wrap = cast(&[
        "abi-encode",
        "f(address,uint256)",
        "0x0000000000000000000000000000000000000002",
        "1000000000000000000",
    ]);
    let v3_path = format!("0x{}000bb8{}", weth.trim_start_matches("0x"), tst.trim_start_matches("0x"));
    let v3_swap = cast(&[
        "abi-encode",
        "f(address,uint256,uint256,bytes,bool)",
        "0x0000000000000000000000000000000000000001",
        "1000000000000000000",
        "0",
        &v3_path,
        "false",
    ]);
    let ur_swap =
        cast(&["calldata", "execute(bytes,bytes[],uint256)", "0x0b00", &format!("[{wrap},{v3_swap}]"), "9999999999"]);
    let none = airlock_hold::Venues::default();
    let with_quoter = airlock_hold::Venues { v2_router: None, v3_quoter: Some(quoter) };
    let quotes = [
        ("ETH→TST (1 route)", tx(router, one_eth, &swap), &none),
        ("TST→TST2 (2 routes)", tx(router, U256::ZERO, &token_swap), &none),
        ("ETH→TST + V3 quoter (5)", tx(router, one_eth, &swap), &with_quoter),
        ("UR ETH→TST (5 routes)", tx(universal, one_eth, &ur_swap), &none),
    ];
    println!("\nQuoting a swap on proven state (airlock_hold::quote), {rounds} rounds, ms:");
    println!("{:<22} {:>9} {:>9} {:>9} {:>9}", "swap", "cold p50", "p90", "warm p50", "p90");
    for (name, tx, venues) in &quotes {
        let source = StateFrom::Proven(upstream.clone());
        let (_, head) = proven_chain.head().await;
        let head = head.expect("head");
        let sim = Simulator::new(source.clone(), 31337);
        let report = sim.simulate(&head, tx).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut cold = vec![];
        for _ in 0..rounds {
            // A fresh cache: every proof is fetched and checked.
            cold.push(time_quote(&Simulator::new(source.clone(), 31337), &head, tx, &report, venues).await);
        }
        let mut warm = vec![];
        time_quote(&sim, &head, tx, &report, venues).await;
        for _ in 0..rounds {
            warm.push(time_quote(&sim, &head, tx, &report, venues).await);
        }
        println!(
            "{:<22} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
            name,
            pct(cold.clone(), 0.5),
            pct(cold, 0.9),
            pct(warm.clone(), 0.5),
            pct(warm, 0.9)
        );
    }
}
