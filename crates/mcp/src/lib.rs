//! airlock-mcp: the MCP server agents use (rmcp): over stdio (`airlock mcp`), and over
//! streamable HTTP at `/mcp` on the daemon's control port, behind its token. Each tool is a
//! call to the daemon's control API: `propose` holds a request built from an intent (nothing is
//! signed or sent without the person's decision, or the spending policy), `status` follows it,
//! `pending` lists what waits, `simulate` reports without holding, `balances` and `approvals`
//! read verified state, `ask` turns plain text into an intent (held like `propose`'s). The
//! server holds no key and talks to no node.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock};
use rmcp::{ErrorData, ServiceExt, tool, tool_router};
use serde::Deserialize;

/// Where the daemon's control API is, and its token.
#[derive(Debug, Clone)]
pub struct Daemon {
    pub control_url: String,
    pub token: String,
}

/// The MCP server.
#[derive(Debug, Clone)]
pub struct Server {
    daemon: Daemon,
    http: reqwest::Client,
}

/// `propose`'s arguments: the intent (MCP wants an object at the root, and an intent is one
/// of several shapes).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Proposal {
    /// What to do: `{"kind": "send", "to": "0x…", "amount": "0.1"}` (ETH), with `"token": "USDC"`
    /// for a listed token; `approve` (token, spender, amount or "unlimited"), `revoke` (token,
    /// spender), `wrap` / `unwrap` (amount), `call` (to, data, value). `from` names the account
    /// when Airlock manages more than one.
    pub intent: airlock_agent::Intent,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Owner {
    /// Whose approvals (an address); every owner's when left out.
    #[serde(default)]
    pub owner: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Text {
    /// What to do, in plain words (at most 500 characters).
    pub text: String,
    /// Hold it for the person (the default), or false to only simulate what it reads as.
    #[serde(default)]
    pub hold: Option<bool>,
    /// The account to send from, when Airlock manages more than one (or none).
    #[serde(default)]
    pub from: Option<String>,
}

/// `?owner=0x…` for an address, nothing for none, a tool error for anything else.
fn owner_query(owner: Option<&str>) -> Result<String, CallToolResult> {
    match owner.map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) if o.len() == 42 && o.starts_with("0x") && o[2..].chars().all(|c| c.is_ascii_hexdigit()) => {
            Ok(format!("?owner={o}"))
        }
        Some(o) => Err(CallToolResult::error(vec![ContentBlock::text(format!("{o:?} is not an address"))])),
        None => Ok(String::new()),
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ItemId {
    /// The item id `propose` answered with.
    pub id: String,
}

#[tool_router(server_handler)]
impl Server {
    #[tool(
        description = "Propose a transaction from a structured intent: send ETH or a listed token, approve, revoke, wrap, unwrap, or a raw call. Airlock builds it, simulates it on verified state, judges it and holds it for the person; the answer is the held item (id, what you asked, what it does, verdict, findings). Nothing is signed or sent until the person approves."
    )]
    async fn propose(
        &self,
        Parameters(Proposal { intent }): Parameters<Proposal>,
    ) -> Result<CallToolResult, ErrorData> {
        let body = serde_json::to_value(&intent).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(self.call(reqwest::Method::POST, "/api/propose", Some(body)).await)
    }

    #[tool(
        description = "The state of a held item: pending, approved, forwarded (with the node's answer and, once mined, the transaction's `receipt` as the node gives it, `receipt_verified: false`), rejected or expired, with its report and findings."
    )]
    async fn status(&self, Parameters(ItemId { id }): Parameters<ItemId>) -> Result<CallToolResult, ErrorData> {
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!("{id:?} is not an item id"))]));
        }
        let mut item = match self.json(reqwest::Method::GET, &format!("/api/items/{id}"), None).await {
            Ok(v) => v,
            Err(e) => return Ok(e),
        };
        if item["status"] == "forwarded"
            && let Ok(r) = self.json(reqwest::Method::GET, &format!("/api/items/{id}/receipt"), None).await
        {
            // The node's word for it: Airlock does not check receipts against a verified block.
            item["receipt"] = r["receipt"].clone();
            item["receipt_verified"] = r["verified"].clone();
        }
        Ok(CallToolResult::success(vec![ContentBlock::text(item.to_string())]))
    }

    #[tool(
        description = "What the transaction an intent names would do, simulated on verified state: who sends and receives what, approvals, the outcome, and where it departs from the intent. Nothing is held, signed or sent."
    )]
    async fn simulate(
        &self,
        Parameters(Proposal { intent }): Parameters<Proposal>,
    ) -> Result<CallToolResult, ErrorData> {
        let body = serde_json::to_value(&intent).map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(self.call(reqwest::Method::POST, "/api/simulate", Some(body)).await)
    }

    #[tool(
        description = "The allowances and operator approvals granted through Airlock that are still open, read on the newest verified head, each with the transaction that revokes it (propose a `revoke` intent to do so)."
    )]
    async fn approvals(&self, Parameters(Owner { owner }): Parameters<Owner>) -> Result<CallToolResult, ErrorData> {
        match owner_query(owner.as_deref()) {
            Ok(q) => Ok(self.call(reqwest::Method::GET, &format!("/api/approvals{q}"), None).await),
            Err(e) => Ok(e),
        }
    }

    #[tool(
        description = "ETH and token balances (the chain's listed tokens, and those the account has moved through Airlock), read on the newest verified head: of `owner`, or of each account Airlock manages."
    )]
    async fn balances(&self, Parameters(Owner { owner }): Parameters<Owner>) -> Result<CallToolResult, ErrorData> {
        match owner_query(owner.as_deref()) {
            Ok(q) => Ok(self.call(reqwest::Method::GET, &format!("/api/balances{q}"), None).await),
            Err(e) => Ok(e),
        }
    }

    #[tool(
        description = "Plain text (\"swap 0.1 ETH for USDC\", \"send 5 DAI to alice.eth\") read by the local model into a structured intent under a grammar (never into calldata), checked and built by Airlock, and held for the person like `propose` (answered with the model's reading, the intent and the item); `hold: false` only simulates it. Without a local model, use `propose`."
    )]
    async fn ask(&self, Parameters(Text { text, hold, from }): Parameters<Text>) -> Result<CallToolResult, ErrorData> {
        let body = serde_json::json!({ "text": text, "hold": hold.unwrap_or(true), "from": from });
        Ok(self.call(reqwest::Method::POST, "/api/ask", Some(body)).await)
    }

    #[tool(description = "Every request waiting for the person's decision.")]
    async fn pending(&self) -> Result<CallToolResult, ErrorData> {
        Ok(self.call(reqwest::Method::GET, "/api/pending", None).await)
    }
}

impl Server {
    pub fn new(daemon: Daemon) -> Server {
        Server { daemon, http: reqwest::Client::new() }
    }

    /// One control API call's JSON, or the tool error to answer with.
    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<serde_json::Value, CallToolResult> {
        let answer = self.call(method, path, body).await;
        let text: String = answer.content.iter().filter_map(|c| c.as_text().map(|t| t.text.clone())).collect();
        if answer.is_error == Some(true) {
            return Err(answer);
        }
        serde_json::from_str(&text).map_err(|e| CallToolResult::error(vec![ContentBlock::text(e.to_string())]))
    }

    /// One control API call: its JSON as the tool's text, or a tool error with why.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> CallToolResult {
        let mut req =
            self.http.request(method, format!("{}{path}", self.daemon.control_url)).bearer_auth(&self.daemon.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return CallToolResult::error(vec![ContentBlock::text(format!("Airlock does not answer: {e}"))]),
        };
        let ok = resp.status().is_success();
        let text = resp.text().await.unwrap_or_default();
        if ok {
            CallToolResult::success(vec![ContentBlock::text(text)])
        } else {
            let why = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(text);
            CallToolResult::error(vec![ContentBlock::text(why)])
        }
    }

    /// MCP over streamable HTTP, as a router to mount on the control API (which checks the
    /// token, Host and Origin before any request reaches it). Stateless, with JSON answers:
    /// every tool answers at once.
    pub fn http(daemon: Daemon) -> axum::Router {
        use rmcp::transport::streamable_http_server::{
            StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
        };
        let mut config = StreamableHttpServerConfig::default();
        config.legacy_session_mode = false;
        config.json_response = true;
        config.sse_keep_alive = None;
        let sessions = std::sync::Arc::new(LocalSessionManager::default());
        let service = StreamableHttpService::new(move || Ok(Server::new(daemon.clone())), sessions, config);
        axum::Router::new().fallback_service(service)
    }

    /// Serves MCP over this process's stdin and stdout until the client leaves.
    pub async fn serve_stdio(self) -> Result<(), String> {
        let running = self.serve(rmcp::transport::stdio()).await.map_err(|e| e.to_string())?;
        running.waiting().await.map(|_| ()).map_err(|e| e.to_string())
    }
}
